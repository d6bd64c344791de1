// Prefix healing: a cursor after a space (`expected: |`, or an indented empty line) leaves the prefix ending in a
// lone space token, which byte-level BPE tokenizers almost never produce before a word (` 5` is one token, `Ġ5`).
// The model then continues out of distribution. So the space goes back to the model: the request's prefix drops
// it, and the answer must start with it (it is then cut off, since the user already typed it).

/** What the engine is asked with, and the text taken off the end of the prefix ('' when nothing was). */
export interface HealedPrefix {
  prefix: string;
  healed: string;
}

/** Takes one trailing space off the prefix, unless nothing but whitespace would remain. */
export function healPrefix(prefix: string): HealedPrefix {
  if (!prefix.endsWith(' ')) return { prefix, healed: '' };
  const rest = prefix.slice(0, -1);
  return /\S/.test(rest) ? { prefix: rest, healed: ' ' } : { prefix, healed: '' };
}

/**
 * The answer as the user sees it: the engine's text without the healed start. Text that does not begin with it
 * (so far, while streaming) is no answer at the user's cursor: ''.
 */
export function unhealAnswer(engineText: string, healed: string): string {
  if (healed === '') return engineText;
  return engineText.startsWith(healed) ? engineText.slice(healed.length) : '';
}
