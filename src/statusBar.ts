// The "dLLM" status bar item. Its text always starts with "dLLM": UI tests wait for it as the activation signal.
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';

export class DllmStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('dllm.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'dLLM';
    this.item.command = COMMANDS.toggle;
    this.item.show();
  }

  /** enabled: inline completions on/off; detail: short engine state, e.g. "loading". */
  update(enabled: boolean, detail?: string): void {
    const icon = enabled ? '$(sparkle)' : '$(circle-slash)';
    this.item.text = `dLLM ${icon}${detail ? ' ' + detail : ''}`;
    this.item.tooltip = enabled
      ? 'dLLM inline completions are on (click to turn off)'
      : 'dLLM inline completions are off (click to turn on)';
  }

  dispose(): void {
    this.item.dispose();
  }
}
