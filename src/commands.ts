// First versions of the dLLM commands. They say plainly what is not wired up yet;
// the editor features replace fillBlock, showStats and triggerCompletion.
import * as vscode from 'vscode';
import { CONFIG_SECTION } from './config';
import { COMMANDS, FILL_ACTIVE_CONTEXT } from './commandIds';

export function registerCommands(log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.fillBlock, async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.selection.isEmpty) {
        void vscode.window.showWarningMessage('dLLM: select the block to fill first.');
        return;
      }
      void vscode.window.showInformationMessage('dLLM: Fill Block is not available yet.');
    }),
    vscode.commands.registerCommand(COMMANDS.showStats, async () => {
      log.info('showStats: no decoding has run yet');
      void vscode.window.showInformationMessage('dLLM: decoding stats are not available yet (no completion has run).');
    }),
    vscode.commands.registerCommand(COMMANDS.toggle, async () => {
      const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
      const next = !config.get<boolean>('enable', true);
      await config.update('enable', next, vscode.ConfigurationTarget.Global);
      log.info(`inline completions ${next ? 'enabled' : 'disabled'}`);
      return next;
    }),
    vscode.commands.registerCommand(COMMANDS.triggerCompletion, () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
    ),
    vscode.commands.registerCommand(COMMANDS.cancelFill, () =>
      vscode.commands.executeCommand('setContext', FILL_ACTIVE_CONTEXT, false),
    ),
  ];
}
