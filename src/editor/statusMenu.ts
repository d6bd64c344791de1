// The quick menu behind the status bar item: on/off (globally and for the active language), fill block, stats,
// decoding policy, logs, settings and an engine restart.
import * as vscode from 'vscode';
import { COMMANDS } from '../commandIds';
import { CONFIG_SECTION, type Settings, isLanguageEnabled, withLanguage } from '../config';
import { POLICY_NAMES, type PolicyName } from '../engine/protocol';
import type { EngineSession } from './engineSession';
import type { Logger } from './logger';

const POLICY_DETAIL: Record<PolicyName, string> = {
  llada: 'one token per step: the slow reference',
  'fast-dllm': 'commit every token above the confidence threshold',
  r2: 'Fast-dLLM plus confidence-cluster, token-cluster and temporal rules (default)',
  streaming: 'dynamic threshold with a bounded suffix window',
  'r2+streaming': 'R² rules on top of Streaming-dLLM',
};

interface MenuItem extends vscode.QuickPickItem {
  run: () => unknown;
}

export async function showStatusMenu(settings: Settings, engine: EngineSession, log: Logger): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const languageId = editor?.document.languageId;
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const items: MenuItem[] = [
    {
      label: settings.enable ? '$(circle-slash) Turn inline completions off' : '$(check) Turn inline completions on',
      description: COMMANDS.toggle,
      run: () => vscode.commands.executeCommand(COMMANDS.toggle),
    },
  ];
  if (languageId && settings.enable) {
    const on = isLanguageEnabled(settings, languageId);
    items.push({
      label: on ? `$(circle-slash) Turn off for ${languageId}` : `$(check) Turn on for ${languageId}`,
      description: 'dllm.languages',
      run: () => config.update('languages', withLanguage(settings.languages, languageId, !on), vscode.ConfigurationTarget.Global),
    });
  }
  if (editor) {
    items.push({ label: '$(wand) Fill block', description: 'selection, placeholder or empty block', run: () => vscode.commands.executeCommand(COMMANDS.fillBlock) });
  }
  items.push(
    { label: '$(graph) Show decoding stats', run: () => vscode.commands.executeCommand(COMMANDS.showStats) },
    {
      label: '$(circuit-board) Select model…', description: engine.status.modelName ?? (settings.modelPath ? settings.modelPath : 'bundled model'),
      run: () => vscode.commands.executeCommand(COMMANDS.selectModel),
    },
    {
      label: '$(settings) Decoding policy…', description: settings.policy,
      run: async () => {
        const pick = await vscode.window.showQuickPick(POLICY_NAMES.map((p) => ({
          label: p, description: p === settings.policy ? '(current)' : undefined, detail: POLICY_DETAIL[p],
        })), { title: 'dLLM decoding policy' });
        if (pick) await config.update('policy', pick.label, vscode.ConfigurationTarget.Global);
      },
    },
    { label: '$(output) Show logs', run: () => log.show(true) },
    { label: '$(gear) Open settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'dllm.') },
  );
  if (engine.started) {
    items.push({ label: '$(debug-restart) Restart the engine', description: engine.status.state, run: () => engine.restart() });
  }
  const choice = await vscode.window.showQuickPick(items, { title: 'dLLM', placeHolder: 'Choose an action' });
  await choice?.run();
}
