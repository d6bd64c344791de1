// How a Fill Block canvas is drawn as text (pure): committed tokens, "░" for masked positions, and lines spread over
// the region's lines (decorations cannot break lines).

export const MASK_GLYPH = '░';
export const LINE_JOIN = ' ⏎ ';

/** Canvas positions as text: committed tokens, "░" for masked ones, nothing for the end padding. */
export function renderCanvas(canvas: ReadonlyArray<string | null>): string {
  let out = '';
  for (const cell of canvas) {
    if (cell === null) out += MASK_GLYPH;
    else if (!cell.includes('\uE000')) out += cell; // special tokens (PAD, BOS) are named with U+E000
  }
  return out;
}

/** Spreads text lines over the anchors; the last anchor takes the rest. Spaces become no-break spaces. */
export function layoutLines(text: string, anchorCount: number): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\t/g, '    ').replace(/ /g, '\u00a0'));
  if (lines.length <= anchorCount) return lines;
  return [...lines.slice(0, anchorCount - 1), lines.slice(anchorCount - 1).join(LINE_JOIN)];
}
