// "dLLM: Fill Block" code lens above every placeholder line (placeholder.ts has the convention), so the feature is
// discoverable without reading docs. Off with `dllm.placeholderCodeLens: false`.
import * as vscode from 'vscode';
import { COMMANDS } from '../commandIds';
import type { Settings } from '../config';
import { findPlaceholderLines } from '../completion/placeholder';

/** Documents longer than this get no lenses (VS Code asks again after edits; scanning must stay cheap). */
const MAX_LINES = 20_000;
const MAX_CHARS = 1_000_000;

export class PlaceholderLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;

  constructor(
    private readonly settings: () => Settings,
    /** The line a fill is running on in this document, if any. */
    private readonly fillingLine: (docKey: string) => number | undefined,
  ) {}

  /** Settings changed or a fill started/ended. */
  refresh(): void {
    this.changeEmitter.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.settings().placeholderCodeLens || document.lineCount > MAX_LINES) return [];
    if (document.offsetAt(document.lineAt(document.lineCount - 1).range.end) > MAX_CHARS) return [];
    const fillingLine = this.fillingLine(document.uri.toString());
    return findPlaceholderLines(document.getText()).map((line) => new vscode.CodeLens(document.lineAt(line).range, line === fillingLine
      ? { title: '$(loading~spin) dLLM: filling… (Escape cancels)', command: COMMANDS.cancelFill, arguments: [] }
      : {
        title: '$(sparkle) dLLM: Fill Block',
        tooltip: 'Replace this placeholder with code from the local diffusion model (Escape cancels while it runs)',
        command: COMMANDS.fillBlock,
        arguments: [{ uri: document.uri.toString(), line }],
      }));
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
