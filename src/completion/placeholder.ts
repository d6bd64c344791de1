// What "Fill Block" fills, found in plain text (no vscode import).
//
// Convention, in order:
//   1. the selection, if there is one;
//   2. a placeholder line under the cursor: a line holding only `...`, `…`, `pass`, `TODO`, or a comment
//      `// fill`, `# fill`, `-- fill`, `/* fill */` (also with TODO instead of fill);
//   3. an empty block at the cursor: `{}` / `{ }` on the cursor's line, or a block opener (`{`, `:`, `(`, `[`)
//      whose body is only blank lines, with the cursor on the opener or on one of those blank lines.
import { indentWidth, isBlank, leadingWhitespace, opensBlock, startsWithCloser } from './codeScan';

export type FillTargetKind = 'selection' | 'placeholder' | 'emptyBraces' | 'blankBody';

export interface FillTarget {
  kind: FillTargetKind;
  /** Document offsets of the text the fill replaces. */
  start: number;
  end: number;
  /** Layout text around the model's answer: the model sees prefix+leading … trailing+suffix, and the edit inserts
   *  leading + answer + trailing. Empty for selections and placeholder lines. */
  leading: string;
  trailing: string;
  /** Indentation of the filled code's first line. */
  indent: string;
  /** Masked positions to decode. */
  canvasTokens: number;
  /** Human words for messages, e.g. "the placeholder `pass`". */
  description: string;
}

export const MIN_FILL_TOKENS = 8;
/** Largest fill canvas: the prompt still needs most of the 512-token window. */
export const MAX_FILL_TOKENS = 128;
/** Canvas for placeholders and empty blocks, which give no size hint. */
export const DEFAULT_FILL_TOKENS = 64;

const PLACEHOLDER_LINE = [
  /^(?:\.\.\.|…|pass|TODO)$/,
  /^(?:\/\/|#|--)\s*(?:fill|todo)$/i,
  /^\/\*\s*(?:fill|todo)\s*\*\/$/i,
];

export function isPlaceholderLine(line: string): boolean {
  const t = line.trim();
  return PLACEHOLDER_LINE.some((re) => re.test(t));
}

/** Zero-based numbers of the placeholder lines of a text (for code lenses). */
export function findPlaceholderLines(text: string, maxLines = 20_000): number[] {
  const found: number[] = [];
  const lines = text.split('\n', maxLines);
  for (let i = 0; i < lines.length; i++) if (isPlaceholderLine(lines[i])) found.push(i);
  return found;
}

/** Canvas length for replacing `text`: ~3.5 characters per token, 30 % headroom, clamped. */
export function estimateCanvasTokens(text: string): number {
  const tokens = Math.ceil((text.length / 3.5) * 1.3);
  return Math.min(MAX_FILL_TOKENS, Math.max(MIN_FILL_TOKENS, tokens));
}

interface Line {
  text: string;
  start: number;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (const t of text.split('\n')) {
    lines.push({ text: t.replace(/\r$/, ''), start });
    start += t.length + 1;
  }
  return lines;
}

function lineIndexAt(lines: Line[], offset: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid].start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const contentEnd = (line: Line): number => line.start + line.text.trimEnd().length;

/**
 * The region to fill for a cursor (and an optional selection), or undefined when there is nothing to fill there.
 * `indentUnit` is one level of indentation in this editor (e.g. four spaces or a tab).
 */
export function findFillTarget(
  text: string,
  cursor: number,
  selection?: { start: number; end: number },
  indentUnit = '    ',
): FillTarget | undefined {
  const lines = splitLines(text);
  if (selection && selection.end > selection.start) return selectionTarget(text, lines, selection);
  const index = lineIndexAt(lines, cursor);
  const line = lines[index];
  if (isPlaceholderLine(line.text)) {
    const start = line.start + leadingWhitespace(line.text).length;
    return {
      kind: 'placeholder', start, end: contentEnd(line), leading: '', trailing: '', indent: leadingWhitespace(line.text),
      canvasTokens: DEFAULT_FILL_TOKENS, description: `the placeholder \`${line.text.trim()}\``,
    };
  }
  return emptyBracesTarget(line, cursor, indentUnit) ?? blankBodyTarget(lines, index, indentUnit);
}

function selectionTarget(text: string, lines: Line[], selection: { start: number; end: number }): FillTarget | undefined {
  let { start, end } = selection;
  // Keep the first line's indentation and the final newline outside the region, so the layout survives.
  const first = lines[lineIndexAt(lines, start)];
  const indent = leadingWhitespace(first.text);
  if (start - first.start < indent.length) start = first.start + indent.length;
  if (text[end - 1] === '\n') end -= text[end - 2] === '\r' ? 2 : 1;
  if (end <= start || isBlank(text.slice(start, end))) {
    // A selection of blank lines: fill it like an empty body at the line's indentation.
    return {
      kind: 'selection', start: selection.start, end: selection.end, leading: '', trailing: '', indent,
      canvasTokens: DEFAULT_FILL_TOKENS, description: 'the selection',
    };
  }
  return {
    kind: 'selection', start, end, leading: '', trailing: '', indent,
    canvasTokens: estimateCanvasTokens(text.slice(start, end)), description: 'the selection',
  };
}

function emptyBracesTarget(line: Line, cursor: number, indentUnit: string): FillTarget | undefined {
  const column = cursor - line.start;
  const matches = [...line.text.matchAll(/\{(\s*)\}/g)];
  if (matches.length === 0) return undefined;
  const m = matches.find((x) => x.index! <= column && column <= x.index! + x[0].length) ?? matches[matches.length - 1];
  const indent = leadingWhitespace(line.text);
  return {
    kind: 'emptyBraces',
    start: line.start + m.index! + 1,
    end: line.start + m.index! + 1 + m[1].length,
    leading: `\n${indent}${indentUnit}`,
    trailing: `\n${indent}`,
    indent: indent + indentUnit,
    canvasTokens: DEFAULT_FILL_TOKENS,
    description: 'the empty block `{}`',
  };
}

function blankBodyTarget(lines: Line[], index: number, indentUnit: string): FillTarget | undefined {
  // The opener: the cursor's line, or the nearest non-blank line above a blank cursor line.
  let opener = index;
  if (isBlank(lines[index].text)) {
    while (opener > 0 && isBlank(lines[opener].text)) opener--;
    if (isBlank(lines[opener].text)) return undefined;
  }
  const openerLine = lines[opener];
  if (!opensBlock(openerLine.text)) return undefined;
  let next = opener + 1;
  while (next < lines.length && isBlank(lines[next].text)) next++;
  if (index > opener && index >= next) return undefined; // cursor is below the body
  const openerIndent = leadingWhitespace(openerLine.text);
  const bodyIndent = openerIndent + indentUnit;
  const blankLines = next - opener - 1;
  const start = contentEnd(openerLine);
  if (next < lines.length && startsWithCloser(lines[next].text) && indentWidth(lines[next].text) <= indentWidth(openerLine.text)) {
    const closerIndent = leadingWhitespace(lines[next].text);
    return {
      kind: 'blankBody', start, end: lines[next].start + closerIndent.length,
      leading: `\n${bodyIndent}`, trailing: `\n${closerIndent}`, indent: bodyIndent,
      canvasTokens: DEFAULT_FILL_TOKENS, description: 'the empty block',
    };
  }
  const indentBased = /:\s*$/.test(openerLine.text.replace(/\s+#.*$/, ''));
  if (indentBased && (next >= lines.length || indentWidth(lines[next].text) <= indentWidth(openerLine.text))) {
    const atEnd = next >= lines.length;
    return {
      kind: 'blankBody', start, end: atEnd ? lines[lines.length - 1].start + lines[lines.length - 1].text.length : lines[next].start,
      leading: `\n${bodyIndent}`, trailing: atEnd ? '\n' : '\n'.repeat(Math.max(1, blankLines)),
      indent: bodyIndent, canvasTokens: DEFAULT_FILL_TOKENS, description: 'the empty block',
    };
  }
  return undefined;
}

/** The model's prompt and the replacement text for a target and a decoded answer. */
export function fillPrompt(text: string, target: FillTarget): { prefix: string; suffix: string } {
  return { prefix: text.slice(0, target.start) + target.leading, suffix: target.trailing + text.slice(target.end) };
}

export function fillReplacement(target: FillTarget, answer: string): string {
  return target.leading + answer + target.trailing;
}
