// Extension entry point. Activation stays cheap (< 200 ms): no model loading and no engine worker here;
// the engine (dist/worker.js) is started on first use. The editor features live in src/editor/.
import * as vscode from 'vscode';
import { type DllmTestingApi, activateEditorFeatures } from './editor/features';
import { createLogger } from './editor/logger';

/** What activate() returns: vscode.extensions.getExtension('dllm-code.dllm-code').exports. */
export interface DllmExtensionApi {
  /** engineStarted: whether activation started the engine worker (it must not: the model loads on first use). */
  activation: { startedAt: number; finishedAt: number; durationMs: number; engineStarted: boolean };
  /** Internal: handles for the extension-host tests. Not a stable API. */
  testing: DllmTestingApi;
}

export function activate(context: vscode.ExtensionContext): DllmExtensionApi {
  const startedAt = performance.now();
  const log = createLogger();
  context.subscriptions.push(log);
  const testing = activateEditorFeatures(context, log);
  const finishedAt = performance.now();
  const durationMs = finishedAt - startedAt;
  log.info(`activated in ${durationMs.toFixed(1)} ms`);
  return { activation: { startedAt, finishedAt, durationMs, engineStarted: testing.engine.started }, testing };
}

export function deactivate(): void {}
