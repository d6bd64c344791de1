// Prefix healing. Byte-level BPE tokenizers give a whitespace run its own token, merged with what surrounds it:
// `x: 5` is `x`, `:`, ` 5`, and `"""\n\n    for` is `"""`, `\n\n   `, ` for`. A cursor after a space (`expected: |`)
// or at the start of a line (`"""\n\n|`) cuts such a token, so the prefix ends in a token the model almost never saw
// there, and it continues out of distribution. So that whitespace goes back to the model: the request's prefix
// drops it, and the answer must start with it (it is then cut off, since the user already typed it).

/** What the engine is asked with, and the text taken off the end of the prefix ('' when nothing was). */
export interface HealedPrefix {
  prefix: string;
  healed: string;
}

/**
 * One trailing space comes off; with `newlines` (a multi-line answer, which may begin with a line break), so does
 * a trailing run of line breaks. Nothing comes off when only whitespace would remain.
 */
export function healPrefix(prefix: string, newlines = true): HealedPrefix {
  const trailing = prefix.endsWith(' ') ? ' ' : newlines ? /[\r\n]+$/.exec(prefix)?.[0] ?? '' : '';
  const rest = prefix.slice(0, prefix.length - trailing.length);
  return trailing !== '' && /\S/.test(rest) ? { prefix: rest, healed: trailing } : { prefix, healed: '' };
}

/**
 * The answer as the user sees it, after the whitespace the user typed. An answer that starts with the healed text
 * loses it. One that starts with less: after a space, an answer that goes on on the same line is shown as it is,
 * one that breaks the line is no answer (''); at the start of a line, an answer that breaks fewer lines is shown
 * from its last leading line break on (its indentation and code). Whitespace alone (so far, while streaming) is ''.
 */
export function unhealAnswer(engineText: string, healed: string): string {
  if (healed === '') return engineText;
  if (engineText.startsWith(healed)) return engineText.slice(healed.length);
  const lead = /^\s*/.exec(engineText)![0];
  if (lead.length === engineText.length) return '';
  const lastBreak = Math.max(lead.lastIndexOf('\n'), lead.lastIndexOf('\r'));
  if (!/[\r\n]/.test(healed)) return lastBreak < 0 ? engineText : '';
  return engineText.slice(lastBreak + 1);
}
