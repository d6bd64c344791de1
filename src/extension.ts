// Extension entry point. Activation stays cheap (< 200 ms): no model loading and no engine worker here;
// the engine (dist/worker.js) is started on first use.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { CONFIG_SECTION } from './config';
import { currentSettings } from './settings';
import { DllmStatusBar } from './statusBar';

/** What activate() returns: vscode.extensions.getExtension('dllm-code.dllm-code').exports. */
export interface DllmExtensionApi {
  activation: { startedAt: number; finishedAt: number; durationMs: number };
}

export function activate(context: vscode.ExtensionContext): DllmExtensionApi {
  const startedAt = performance.now();

  const log = vscode.window.createOutputChannel('dLLM', { log: true });
  const statusBar = new DllmStatusBar();
  statusBar.update(currentSettings(log).enable);
  context.subscriptions.push(
    log,
    statusBar,
    ...registerCommands(log),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(CONFIG_SECTION)) statusBar.update(currentSettings(log).enable);
    }),
  );

  const finishedAt = performance.now();
  const durationMs = finishedAt - startedAt;
  log.info(`activated in ${durationMs.toFixed(1)} ms`);
  return { activation: { startedAt, finishedAt, durationMs } };
}

export function deactivate(): void {}
