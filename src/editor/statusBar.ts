// The "dLLM" status bar item: on/off for the active language, model and execution-provider state, a spinner while
// decoding, the last latency and steps saved, and errors. Its text always contains "dLLM" (UI tests wait for it).
// A click opens the quick menu.
import * as vscode from 'vscode';
import { type StatusInputs, statusView } from '../completion/statusView';

export const STATUS_MENU_COMMAND = 'dllm.statusMenu';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('dllm.status', vscode.StatusBarAlignment.Right, 100);

  constructor(private readonly inputs: () => StatusInputs) {
    this.item.name = 'dLLM';
    this.item.command = STATUS_MENU_COMMAND;
    this.update();
    this.item.show();
  }

  update(): void {
    const view = statusView(this.inputs());
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = view.error
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
