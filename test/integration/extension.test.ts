import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DllmExtensionApi } from '../../src/extension';
import { COMMANDS } from '../../src/commandIds';

const EXTENSION_ID = 'dllm-code.dllm-code';

async function activeExtension(): Promise<vscode.Extension<DllmExtensionApi>> {
  const ext = vscode.extensions.getExtension<DllmExtensionApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this VS Code`);
  await ext.activate();
  return ext;
}

suite('extension', () => {
  test('activates in the real extension host', async () => {
    const ext = await activeExtension();
    assert.equal(ext.isActive, true);
    assert.equal(typeof vscode.version, 'string');
    console.log(`VS Code ${vscode.version}, node ${process.versions.node}, appHost ${vscode.env.appHost}`);
  });

  test('activation leaves the engine (worker, model load) for the first request', async () => {
    const { activation } = (await activeExtension()).exports;
    assert.ok(activation.finishedAt >= activation.startedAt);
    console.log(`activate() took ${activation.durationMs.toFixed(1)} ms (a measurement, not a check: the host is shared)`);
    assert.equal(activation.engineStarted, false, 'activate() started the engine');
  });

  test('the four dLLM commands (and cancelFill) are registered', async () => {
    await activeExtension();
    const all = new Set(await vscode.commands.getCommands(true));
    for (const id of Object.values(COMMANDS)) assert.ok(all.has(id), `${id} not registered`);
  });

  test('dLLM: Toggle Inline Completions flips dllm.enable and back', async () => {
    await activeExtension();
    const config = () => vscode.workspace.getConfiguration('dllm');
    const before = config().get<boolean>('enable');
    const after = await vscode.commands.executeCommand<boolean>(COMMANDS.toggle);
    assert.equal(after, !before);
    assert.equal(config().get<boolean>('enable'), !before);
    await vscode.commands.executeCommand(COMMANDS.toggle);
    assert.equal(config().get<boolean>('enable'), before);
  });

  test('the manifest VS Code loaded declares dllm.modelPath machine-scoped', async () => {
    const ext = await activeExtension();
    const props = ext.packageJSON.contributes.configuration.properties;
    assert.equal(props['dllm.modelPath'].scope, 'machine');
  });
});
