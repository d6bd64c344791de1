// Fill All (pure, no vscode): every placeholder line and empty block of a range (the selection, or the whole file),
// found with Fill Block's detection (placeholder.ts); the pieces of code around them for one joint request; and the
// edits that put the answers in.
import { isBlank } from './codeScan';
import { type FillTarget, MAX_FILL_TOKENS, fillReplacement, findFillTarget, isPlaceholderLine } from './placeholder';

/** Most regions one Fill All fills (each is a masked region of the model's window). */
export const MAX_FILL_ALL_REGIONS = 16;

/**
 * The fill targets inside [range.start, range.end) (the whole text when no range), in document order, never
 * overlapping: placeholder lines, `{}` on a line, and block openers whose body is only blank lines.
 */
export function findAllFillTargets(text: string, range?: { start: number; end: number }, indentUnit = '    '): FillTarget[] {
  const from = range?.start ?? 0;
  const to = range?.end ?? text.length;
  const found: FillTarget[] = [];
  let lineStart = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const lineEnd = lineStart + raw.length;
    if (lineEnd >= from && lineStart <= to && !isBlank(line)) {
      const firstCode = lineStart + (line.length - line.trimStart().length);
      const candidates: (FillTarget | undefined)[] = [];
      if (isPlaceholderLine(line)) {
        candidates.push(findFillTarget(text, firstCode, undefined, indentUnit));
      } else {
        // Each `{}` of the line, then the line as a block opener over blank lines.
        for (const m of line.matchAll(/\{\s*\}/g)) candidates.push(findFillTarget(text, lineStart + m.index! + 1, undefined, indentUnit));
        if (!/\{\s*\}\s*$/.test(line)) candidates.push(findFillTarget(text, lineStart + line.trimEnd().length, undefined, indentUnit));
      }
      for (const t of candidates) {
        if (!t || t.kind === 'selection') continue;
        // The region must lie in the range (an empty region at its start or end counts).
        if (t.start < from || t.end > to) continue;
        const last = found[found.length - 1];
        if (last && t.start < last.end) continue; // overlaps the previous target
        if (last && t.start === last.start && t.end === last.end) continue;
        found.push({ ...t, canvasTokens: Math.min(t.canvasTokens, MAX_FILL_TOKENS) });
      }
    }
    lineStart = lineEnd + 1;
  }
  return found;
}

/** The code around the targets as the engine's fill pieces: piece0 hole1 piece1 … holeK pieceK (layout included). */
export function fillPieces(text: string, targets: readonly FillTarget[]): string[] {
  const pieces: string[] = [];
  let at = 0;
  let trailing = '';
  for (const t of targets) {
    pieces.push(trailing + text.slice(at, t.start) + t.leading);
    trailing = t.trailing;
    at = t.end;
  }
  pieces.push(trailing + text.slice(at));
  return pieces;
}

/** The prompt one target sees alone (for the post-filters): everything before it and after it, as Fill Block has it. */
export function targetContext(text: string, target: FillTarget): { prefix: string; suffix: string } {
  return { prefix: text.slice(0, target.start) + target.leading, suffix: target.trailing + text.slice(target.end) };
}

export interface RegionEdit {
  start: number;
  end: number;
  text: string;
}

/** The replacements for the answered targets (undefined answer: left as it is). */
export function fillAllEdits(targets: readonly FillTarget[], answers: readonly (string | undefined)[]): RegionEdit[] {
  const edits: RegionEdit[] = [];
  targets.forEach((t, i) => {
    const answer = answers[i];
    if (answer !== undefined && answer !== '') edits.push({ start: t.start, end: t.end, text: fillReplacement(t, answer) });
  });
  return edits;
}

/** Applies non-overlapping edits (document offsets of the original text) to the text. */
export function applyEdits(text: string, edits: readonly RegionEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
