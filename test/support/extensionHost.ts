// Shared by the extension-host suites (integration and stress): the installed extension and polling.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DllmExtensionApi } from '../../src/extension';

export const EXTENSION_ID = 'dllm-code.dllm-code';

/** Activates the extension under test and returns its API. */
export async function activateExtension(): Promise<{ api: DllmExtensionApi; extensionPath: string; ext: vscode.Extension<DllmExtensionApi> }> {
  const ext = vscode.extensions.getExtension<DllmExtensionApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  return { api, extensionPath: ext.extensionPath, ext };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
