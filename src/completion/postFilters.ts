// Post-filters: small pure functions that clean a model completion before it is shown.
// Each takes the text and the cursor context and returns a (usually shorter) text. They only cut, never invent, so a
// filtered stable prefix stays a prefix of the filtered final completion in the common case.
import {
  currentLinePrefix, currentLineSuffix, imbalance, indentWidth, isBlank, lineCommentsOf, opensBlock, scanCode,
  startsWithCloser,
} from './codeScan';

export type CompletionShape = 'singleLine' | 'multiLine';

export interface FilterContext {
  /** Document text before the cursor (at least the current line and the lines above it). */
  prefix: string;
  /** Document text after the cursor. */
  suffix: string;
  shape: CompletionShape;
  /** false while decoding: the text is the stable prefix so far and may still grow. */
  final: boolean;
  /** VS Code language id: picks the line-comment syntax (`#`, `//`, or both when absent or unknown). */
  languageId?: string;
  /** The prefix starts at the start of the document (absent: it may have been cut). */
  prefixIsFileStart?: boolean;
  /** The suffix reaches the end of the document (absent: it may have been cut). */
  suffixIsFileEnd?: boolean;
  /**
   * Inline suggestions: an unbalanced answer may also be cut inside a line, before a bracket or quote, since the user
   * types on from there. Absent (Fill Block): only whole lines are kept.
   */
  cutInsideLines?: boolean;
}

export type PostFilter = (text: string, ctx: FilterContext) => string;

/** Keep lines [0, lineIndex): cut before line `lineIndex` together with the newline ending the line above it. */
const cutBeforeLine = (text: string, lineIndex: number): string => text.split('\n').slice(0, Math.max(0, lineIndex)).join('\n');

/** Keep lines [0, lineIndex]: cut from the newline that ends line `lineIndex`. */
const cutAfterLine = (text: string, lineIndex: number): string => text.split('\n').slice(0, lineIndex + 1).join('\n');

/** Lines whose content is known: all but a trailing partial line while decoding. */
const decidedLineCount = (lines: string[], ctx: FilterContext): number => (ctx.final ? lines.length : lines.length - 1);

/** Single-line mode: everything after the first newline goes. */
export const trimToSingleLine: PostFilter = (text, ctx) => {
  if (ctx.shape !== 'singleLine') return text;
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
};

/** A completion that starts by repeating the line above the cursor is the model copying, not completing. */
export const dropRepeatOfLineAbove: PostFilter = (text, ctx) => {
  const prefixLines = ctx.prefix.split('\n');
  if (prefixLines.length < 2) return text;
  const above = prefixLines[prefixLines.length - 2].trim();
  const lines = text.split('\n');
  if (lines.length === 1 && !ctx.final) return text; // first line not finished yet
  const first = (currentLinePrefix(ctx.prefix) + lines[0]).trim();
  return above.replace(/\s/g, '').length >= 4 && first === above ? '' : text;
};

/** Stops before a line (or a run of up to 4 lines) that repeats the one(s) just before it. */
export const stopAtRepeatingLines: PostFilter = (text, ctx) => {
  const lines = text.split('\n');
  const decided = decidedLineCount(lines, ctx);
  for (let i = 1; i < decided; i++) {
    for (let k = 1; k <= 4 && i - k >= 0 && i + k <= decided; k++) {
      const block = lines.slice(i, i + k);
      if (block.every(isBlank)) continue;
      if (block.every((line, j) => line.trimEnd() === lines[i - k + j].trimEnd())) return cutBeforeLine(text, i);
    }
  }
  return text;
};

/**
 * Multi-line mode: the completion ends with the block it is in. A line indented less than the cursor's line leaves
 * the block: it is kept if it closes it (`}`, `)`, `end`…) and cut otherwise. After the cursor's line opened a block
 * (`{`, `:`…), a line back at the cursor line's indentation ends that block the same way. A line that closes a
 * bracket opened before the completion also ends it.
 */
export const trimAtBlockEnd: PostFilter = (text, ctx) => {
  if (ctx.shape !== 'multiLine') return text;
  const linePrefix = currentLinePrefix(ctx.prefix);
  const baseIndent = indentWidth(linePrefix);
  const blockOpened = !isBlank(linePrefix) && opensBlock(linePrefix);
  const lines = text.split('\n');
  const { minDepthOnLine } = scanCode(text, lineCommentsOf(ctx.languageId));
  // Depth and indentation are known as soon as a line has content, so this also cuts a partial last line.
  for (let i = 0; i < lines.length; i++) {
    if (minDepthOnLine[i] < 0) return cutAfterLine(text, i);
    if (i === 0 || isBlank(lines[i])) continue;
    const indent = indentWidth(lines[i]);
    const leaves = indent < baseIndent || (blockOpened && indent <= baseIndent);
    if (leaves) return startsWithCloser(lines[i]) ? cutAfterLine(text, i) : cutBeforeLine(text, i);
  }
  return text;
};

/**
 * The completion must not re-type the code below the cursor: it is cut where its lines start to equal the next
 * non-blank lines of the suffix (compared with indentation). A closing line that closes a bracket the completion
 * opened itself is not a duplicate.
 */
export const dropSuffixDuplicateLines: PostFilter = (text, ctx) => {
  const suffixLines = ctx.suffix.split('\n').slice(1).filter((l) => !isBlank(l)).map((l) => l.trimEnd());
  if (suffixLines.length === 0) return text;
  const lines = text.split('\n');
  const decided = decidedLineCount(lines, ctx);
  const linePrefix = currentLinePrefix(ctx.prefix);
  const cursorLineEmpty = isBlank(linePrefix) && isBlank(currentLineSuffix(ctx.suffix));
  const { depthAtLineEnd } = scanCode(text, lineCommentsOf(ctx.languageId));
  for (let i = 0; i < decided; i++) {
    if (i === 0 && !cursorLineEmpty) continue;
    const line = (i === 0 ? linePrefix + lines[0] : lines[i]).trimEnd();
    if (isBlank(line) || line !== suffixLines[0]) continue;
    if (i > 0 && startsWithCloser(line) && depthAtLineEnd[i - 1] > 0) continue; // closes the completion's own block
    // The following decided lines must keep matching the suffix (blank lines skipped on both sides).
    const rest = lines.slice(i + 1, decided).map((l) => l.trimEnd()).filter((l) => !isBlank(l));
    if (rest.every((l, j) => j + 1 >= suffixLines.length || l === suffixLines[j + 1])) return cutBeforeLine(text, i);
  }
  return text;
};

/**
 * The text right of the cursor (say `)` or `");`) follows the completion. If the completion ends with (the start
 * of) it, made only of punctuation, and removing it leaves the code at least as balanced, it is removed: no `))`.
 */
export const dropRestOfLineDuplicate: PostFilter = (text, ctx) => {
  const rest = currentLineSuffix(ctx.suffix).trimEnd();
  if (isBlank(rest) || isBlank(text)) return text;
  const linePrefix = currentLinePrefix(ctx.prefix);
  const comments = lineCommentsOf(ctx.languageId);
  for (let k = Math.min(rest.length, text.length); k >= 1; k--) {
    const overlap = rest.slice(0, k);
    if (!text.endsWith(overlap) || /[\p{L}\p{N}_]/u.test(overlap) || isBlank(overlap)) continue;
    const kept = text.slice(0, text.length - k);
    if (imbalance(linePrefix + kept + rest, comments) <= imbalance(linePrefix + text + rest, comments)) return kept;
  }
  return text;
};

/**
 * Ways to shorten a completion, longest first: all of it, then up to each line break (kept) and, with
 * `insideLines`, up to each bracket or quote (not kept), then nothing.
 */
export function balanceCuts(text: string, insideLines = false): string[] {
  const ends = new Set([...text.matchAll(/\n/g)].map((m) => m.index + 1).filter((end) => end < text.length));
  if (insideLines) for (const m of text.matchAll(/[([{"'`]/g)) if (m.index > 0) ends.add(m.index);
  return [text, ...[...ends].sort((a, b) => b - a).map((end) => text.slice(0, end)), ''];
}

/**
 * The suffix up to the end of its first complete line back at (or left of) `indent`, the completion's least
 * indentation: a bracket the completion opens is closed by then in code laid out by indentation. The suffix's first
 * line counts only when the completion ended its own last line. Undefined when the suffix has no such line (it was
 * cut before the block ends).
 */
function suffixBackAtIndent(suffix: string, indent: number, firstLineIsWhole: boolean): string | undefined {
  const lines = suffix.split('\n');
  let end = -1;
  for (let i = 0; i < lines.length - 1; i++) {
    end += 1 + lines[i].length;
    if ((i > 0 || firstLineIsWhole) && !isBlank(lines[i]) && indentWidth(lines[i]) <= indent) return suffix.slice(0, end + 1);
  }
  return undefined;
}

/**
 * A finished completion must not leave the code around it less balanced than it was. It may not add unmatched
 * closers (a stray `}`; after a cut-off prefix a closer with nothing open in view may close a bracket before it) or
 * unterminated strings, nor unclosed brackets: counted over the whole file when the suffix reaches its end, else the
 * brackets it leaves open must close by the first suffix line back at its indentation (`n = range(` before a
 * complete next line fails both). Past a cut-off suffix without such a line they may still close. The completion is
 * cut back to its longest whole-line start that passes (inline: or its longest start before a bracket or quote, so
 * `n = range(` becomes `n = range`), or dropped. While decoding it waits: the text may still close what it opened.
 */
export const keepSurroundingsBalanced: PostFilter = (text, ctx) => {
  if (!ctx.final || text === '') return text;
  const comments = lineCommentsOf(ctx.languageId);
  const lines = (currentLinePrefix(ctx.prefix) + text).split('\n').filter((line) => !isBlank(line));
  const indent = Math.min(...lines.map((line) => indentWidth(line)));
  const breakage = (middle: string): number => {
    const whole = scanCode(ctx.prefix + middle + ctx.suffix, comments);
    const closers = whole.unmatchedClosers - (ctx.prefixIsFileStart ? 0 : whole.closersWithNothingOpen);
    const broken = closers + whole.strayQuotes + (whole.openString ? 1 : 0);
    if (ctx.suffixIsFileEnd) return broken + whole.unclosed.length;
    const reach = suffixBackAtIndent(ctx.suffix, indent, middle.endsWith('\n'));
    const region = { start: ctx.prefix.length, end: ctx.prefix.length + middle.length };
    const reached = reach === undefined ? undefined : scanCode(ctx.prefix + middle + reach, comments, region);
    return broken + (reached && !reached.regionClosedAfter ? reached.regionLeftOpen : 0);
  };
  const allowed = breakage('');
  return balanceCuts(text, ctx.cutInsideLines).find((cut) => breakage(cut) <= allowed) ?? '';
};

/** Trailing whitespace is noise, except the newline before text right of the cursor (`{|}` → body, then `}`). */
export const trimTrailingWhitespace: PostFilter = (text, ctx) =>
  isBlank(currentLineSuffix(ctx.suffix)) ? text.trimEnd() : text.replace(/[ \t]+$/, '');

/** Nothing but whitespace is no completion. */
export const dropBlank: PostFilter = (text) => (isBlank(text) ? '' : text);

/** The filters in the order they run. */
export const POST_FILTERS: ReadonlyArray<[name: string, filter: PostFilter]> = [
  ['trimToSingleLine', trimToSingleLine],
  ['dropRepeatOfLineAbove', dropRepeatOfLineAbove],
  ['stopAtRepeatingLines', stopAtRepeatingLines],
  ['trimAtBlockEnd', trimAtBlockEnd],
  ['dropSuffixDuplicateLines', dropSuffixDuplicateLines],
  ['dropRestOfLineDuplicate', dropRestOfLineDuplicate],
  ['keepSurroundingsBalanced', keepSurroundingsBalanced],
  ['trimTrailingWhitespace', trimTrailingWhitespace],
  ['dropBlank', dropBlank],
];

export function applyPostFilters(text: string, ctx: FilterContext): string {
  return POST_FILTERS.reduce((t, [, filter]) => filter(t, ctx), text);
}
