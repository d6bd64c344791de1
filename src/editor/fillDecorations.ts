// Shows a Fill Block decode in place, without editing the document: the region's text is hidden and the canvas is
// drawn over it, masked positions as "░" that turn into code as the denoiser commits tokens. Decorations cannot break
// lines, so canvas lines go on the region's own lines and any extra lines join the last one with " ⏎ ".
import * as vscode from 'vscode';
import { layoutLines, renderCanvas } from '../completion/fillCanvas';

/** Where each canvas line is drawn: the region's lines that belong to it entirely (and its first line). */
export function lineAnchors(document: vscode.TextDocument, region: vscode.Range, answerStartsOnNewLine: boolean): vscode.Position[] {
  const anchors: vscode.Position[] = [region.start];
  for (let line = region.start.line + 1; line <= region.end.line; line++) {
    const whole = line < region.end.line || region.end.character >= document.lineAt(line).text.length;
    if (whole) anchors.push(new vscode.Position(line, 0));
  }
  return answerStartsOnNewLine && anchors.length > 1 ? anchors.slice(1) : anchors;
}

export class FillDecorations implements vscode.Disposable {
  private readonly hidden = vscode.window.createTextEditorDecorationType({
    textDecoration: 'none; display: none;', // the region's own text, while the canvas is drawn instead
  });
  private readonly regionBackground = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightBackground'),
    isWholeLine: false,
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly canvasText = vscode.window.createTextEditorDecorationType({
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly applied = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
  });
  private flashTimer: ReturnType<typeof setTimeout> | undefined;

  /** Draws the canvas over `region` (document offsets are already resolved to a range). */
  show(editor: vscode.TextEditor, region: vscode.Range, canvas: ReadonlyArray<string | null>, answerStartsOnNewLine: boolean): void {
    this.showMany(editor, [{ region, canvas, answerStartsOnNewLine }]);
  }

  /** Draws several canvases at once (Fill All), each over its own region. */
  showMany(editor: vscode.TextEditor, parts: ReadonlyArray<{ region: vscode.Range; canvas: ReadonlyArray<string | null>; answerStartsOnNewLine: boolean }>): void {
    const options: vscode.DecorationOptions[] = [];
    for (const { region, canvas, answerStartsOnNewLine } of parts) {
      const anchors = lineAnchors(editor.document, region, answerStartsOnNewLine);
      const lines = layoutLines(renderCanvas(canvas), anchors.length);
      options.push(...lines.map((text, i) => ({
        range: new vscode.Range(anchors[i], anchors[i]),
        renderOptions: {
          before: {
            contentText: text.length > 0 ? text : '\u200b',
            color: new vscode.ThemeColor('editorGhostText.foreground'),
            fontStyle: 'italic',
          },
        },
      })));
    }
    const regions = parts.map((p) => p.region).filter((r) => !r.isEmpty);
    editor.setDecorations(this.hidden, regions);
    editor.setDecorations(this.regionBackground, regions);
    editor.setDecorations(this.canvasText, options);
  }

  clear(editor: vscode.TextEditor | undefined): void {
    if (!editor) return;
    editor.setDecorations(this.hidden, []);
    editor.setDecorations(this.regionBackground, []);
    editor.setDecorations(this.canvasText, []);
  }

  /** Briefly highlights the text a fill inserted. */
  flash(editor: vscode.TextEditor, range: vscode.Range, ms = 1500): void {
    if (this.flashTimer) clearTimeout(this.flashTimer);
    editor.setDecorations(this.applied, [range]);
    this.flashTimer = setTimeout(() => editor.setDecorations(this.applied, []), ms);
  }

  dispose(): void {
    if (this.flashTimer) clearTimeout(this.flashTimer);
    for (const d of [this.hidden, this.regionBackground, this.canvasText, this.applied]) d.dispose();
  }
}
