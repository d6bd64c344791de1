// Single-line or multi-line inline completion, from the `dllm.completionMode` setting and the cursor's line.
import type { CompletionMode } from '../config';
import { CLOSERS, OPENERS, currentLinePrefix, currentLineSuffix, scanCode } from './codeScan';
import type { CompletionShape } from './postFilters';

/**
 * auto: multi-line at the end of a line (or before closers that pair with the opener just left of the cursor, as in
 * `{|}`), single-line in the middle of a line and inside a line comment.
 */
export function chooseCompletionShape(mode: CompletionMode, prefix: string, suffix: string): CompletionShape {
  if (mode === 'singleLine') return 'singleLine';
  if (mode === 'multiLine') return 'multiLine';
  const linePrefix = currentLinePrefix(prefix);
  if (scanCode(linePrefix).inLineComment) return 'singleLine';
  const rest = currentLineSuffix(suffix).trim();
  if (rest === '') return 'multiLine';
  const before = linePrefix.trimEnd();
  const opener = before[before.length - 1];
  const closesOpener = opener in OPENERS && rest[0] === OPENERS[opener];
  const onlyClosers = [...rest.replace(/\s/g, '')].every((c) => c in CLOSERS || ';,'.includes(c));
  return closesOpener && onlyClosers && opener !== '(' ? 'multiLine' : 'singleLine';
}
