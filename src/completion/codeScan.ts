// Approximate scanning of source text: brackets outside strings and line comments. Good enough for trimming
// completions; not a parser.

export const OPENERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' };
export const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };
const QUOTES = new Set(['"', "'", '`']);

/** Line comments: `#` (Python, shell, Ruby…), `//` (the C family), or both when the language is unknown. */
export type LineComments = '#' | '//' | 'both';
const HASH_COMMENTS = new Set(['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml', 'makefile', 'dockerfile',
  'powershell', 'coffeescript', 'julia', 'elixir']);
const SLASH_COMMENTS = new Set(['javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'java', 'c', 'cpp',
  'csharp', 'go', 'rust', 'swift', 'kotlin', 'scala', 'dart', 'groovy', 'jsonc', 'objective-c', 'objective-cpp']);

export function lineCommentsOf(languageId: string | undefined): LineComments {
  if (languageId !== undefined && HASH_COMMENTS.has(languageId)) return '#';
  if (languageId !== undefined && SLASH_COMMENTS.has(languageId)) return '//';
  return 'both';
}

export interface ScanResult {
  /** Openers never closed, in order. */
  unclosed: string[];
  /** Closers with no opener to match (a closer that does not match the innermost opener counts too). */
  unmatchedClosers: number;
  /** The part of unmatchedClosers that met no open bracket at all (in a cut-off text they may close one before it). */
  closersWithNothingOpen: number;
  /** Quote of a string still open at the end ('' if none). A newline ends ' and " strings, not triple-quoted ones. */
  openString: string;
  /** ' and " strings a newline ended before their closing quote. */
  strayQuotes: number;
  /** The text ends inside a `//` or `#` line comment. */
  inLineComment: boolean;
  /** Bracket depth (openers minus closers, floored per unmatched closer) at the end of each line. */
  depthAtLineEnd: number[];
  /** Lowest depth reached on each line (negative: the line closed brackets opened before the text). */
  minDepthOnLine: number[];
  /** With a `region`: brackets opened inside it and still open where it ends. */
  regionLeftOpen: number;
  /** With a `region`: the text after it closes every bracket the region left open. */
  regionClosedAfter: boolean;
}

/** A span of the text (say, a completion between its prefix and suffix) whose unclosed brackets are followed. */
export interface Region {
  start: number;
  end: number;
}

/** `#` starts a comment only at line start or after whitespace (so `obj.#priv` and `"#"` are not comments). */
function startsHashComment(text: string, i: number): boolean {
  return text[i] === '#' && (i === 0 || /\s/.test(text[i - 1]));
}

export function scanCode(text: string, comments: LineComments = 'both', region?: Region): ScanResult {
  const stack: string[] = [];
  const pushedAt: number[] = [];
  let floor = -1; // stack height below the region's unclosed brackets, once the scan has passed its end
  let regionLeftOpen = 0;
  let regionClosedAfter = region === undefined;
  const passRegionEnd = () => {
    floor = pushedAt.filter((at) => at < region!.start).length;
    regionLeftOpen = stack.length - floor;
    regionClosedAfter = regionLeftOpen === 0;
  };
  let unmatchedClosers = 0;
  let closersWithNothingOpen = 0;
  let openString = '';
  let strayQuotes = 0;
  let inLineComment = false;
  let depth = 0;
  let minDepth = 0;
  const depthAtLineEnd: number[] = [];
  const minDepthOnLine: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (region && floor < 0 && i >= region.end) passRegionEnd();
    const c = text[i];
    if (c === '\n') {
      depthAtLineEnd.push(depth);
      minDepthOnLine.push(minDepth);
      minDepth = depth;
      inLineComment = false;
      if (openString === '"' || openString === "'") {
        openString = '';
        strayQuotes++;
      }
      continue;
    }
    if (inLineComment) continue;
    if (openString) {
      if (c === '\\') i++;
      else if (text.startsWith(openString, i)) {
        i += openString.length - 1;
        openString = '';
      }
      continue;
    }
    if (QUOTES.has(c)) {
      openString = c !== '`' && text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += openString.length - 1;
    } else if ((comments !== '#' && c === '/' && text[i + 1] === '/') || (comments !== '//' && startsHashComment(text, i))) {
      inLineComment = true;
    } else if (c in OPENERS) {
      stack.push(c);
      pushedAt.push(i);
      depth++;
    } else if (c in CLOSERS) {
      if (stack.length > 0 && stack[stack.length - 1] === CLOSERS[c]) {
        stack.pop();
        pushedAt.pop();
        if (floor >= 0 && stack.length <= floor) regionClosedAfter = true;
      } else {
        unmatchedClosers++;
        if (stack.length === 0) closersWithNothingOpen++;
      }
      depth--;
      minDepth = Math.min(minDepth, depth);
    }
  }
  if (region && floor < 0) passRegionEnd();
  depthAtLineEnd.push(depth);
  minDepthOnLine.push(minDepth);
  return {
    unclosed: stack, unmatchedClosers, closersWithNothingOpen, openString, strayQuotes, inLineComment, depthAtLineEnd, minDepthOnLine,
    regionLeftOpen, regionClosedAfter,
  };
}

/** How far a text is from balanced: unclosed openers + unmatched closers + unterminated strings. */
export function imbalance(text: string, comments: LineComments = 'both'): number {
  const s = scanCode(text, comments);
  return s.unclosed.length + s.unmatchedClosers + s.strayQuotes + (s.openString ? 1 : 0);
}

/** Indentation width of a line (a tab counts as `tabSize` columns). */
export function indentWidth(line: string, tabSize = 4): number {
  let w = 0;
  for (const c of line) {
    if (c === ' ') w++;
    else if (c === '\t') w += tabSize - (w % tabSize);
    else break;
  }
  return w;
}

export const leadingWhitespace = (line: string): string => /^[ \t]*/.exec(line)![0];
export const isBlank = (s: string): boolean => s.trim() === '';

/** The part of `prefix` on the cursor's line. */
export const currentLinePrefix = (prefix: string): string => prefix.slice(prefix.lastIndexOf('\n') + 1);

/** The part of `suffix` on the cursor's line. */
export function currentLineSuffix(suffix: string): string {
  const nl = suffix.indexOf('\n');
  return nl < 0 ? suffix : suffix.slice(0, nl);
}

/** A line that closes a block: starts with a closing bracket, or is a closing keyword (Ruby/Lua/shell style). */
export function startsWithCloser(line: string): boolean {
  const t = line.trimStart();
  return t.length > 0 && (t[0] in CLOSERS || /^(end|fi|done|esac)\b/.test(t));
}

/** The line (before the cursor's) opens a block: ends with `{`, `(`, `[` or `:` (Python), ignoring a trailing comment. */
export function opensBlock(linePrefix: string): boolean {
  const t = linePrefix.replace(/\s+(\/\/|#).*$/, '').trimEnd();
  return /[{([:]$/.test(t) || /=>$/.test(t);
}
