// dLLM: Select Model in the real extension host: switch to a converted (format 2, block-causal, GQA, fp16 K/V) model,
// Fill Block on it, back to the bundled model; a switch cancels a decode of the old model; an unusable folder is refused.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FillOutcome } from '../../src/editor/fillBlock';
import type { DllmExtensionApi } from '../../src/extension';
import { writeTinyModelDir } from '../support/tinyDllm';
import { closeAllEditors, extensionApi, openAtCursor, waitFor } from './editorHelpers';

type Testing = DllmExtensionApi['testing'];

const selectModel = (dir: string) => vscode.commands.executeCommand<boolean>('dllm.selectModel', dir);
const fillBlock = () => vscode.commands.executeCommand<FillOutcome>('dllm.fillBlock');

suite('select model', function () {
  this.timeout(240_000);
  let t: Testing;
  let tiny: ReturnType<typeof writeTinyModelDir>;

  suiteSetup(async () => {
    const { api, extensionPath } = await extensionApi();
    t = api.testing;
    tiny = writeTinyModelDir(path.join(extensionPath, 'models', 'dllm-code-small', 'tokenizer.json'),
      { attention: 'block-causal', kvDtype: 'float16', logitShift: 1 });
  });

  teardown(closeAllEditors);

  suiteTeardown(async () => {
    const config = vscode.workspace.getConfiguration('dllm');
    await config.update('modelPath', undefined, vscode.ConfigurationTarget.Global);
    await config.update('models', undefined, vscode.ConfigurationTarget.Global);
  });

  test('switches to a converted block-causal model, fills a block with it, and switches back', async () => {
    assert.equal(await selectModel(tiny.dir), true, `engine status: ${JSON.stringify(t.engine.status)}`);
    assert.equal(t.settings().modelPath, tiny.dir);
    assert.equal(t.engine.status.modelName, tiny.config.name);
    assert.equal(t.engine.status.modelFamily, 'tiny-test');
    await openAtCursor('function clamp(value, min, max) {\n  <|>\n}\n', 'javascript');
    const outcome = await fillBlock();
    assert.ok(['applied', 'empty'].includes(outcome.status), `Fill Block on the converted model: ${JSON.stringify(outcome)}`);
    assert.equal(await selectModel(''), true);
    assert.equal(t.settings().modelPath, '');
    assert.equal(t.engine.status.modelName, 'dllm-code-small');
  });

  test('switching models cancels the decode running on the old one', async () => {
    assert.equal(await selectModel(''), true, 'start on the bundled model');
    const { doc } = await openAtCursor('export function isEven(n: number): boolean {<|>}\n', 'typescript');
    const origin = { kind: 'fill' as const, document: doc };
    // llada commits one token per pass: 200 passes keep the old model busy for seconds.
    const request = { ...t.engine.buildRequest('switch-test', origin, { prefix: doc.getText(), suffix: '', maxNewTokens: 200 }), policy: 'llada' as const };
    const running = t.engine.complete(origin, request);
    await waitFor(() => t.engine.activity.step !== undefined, 'the decode on the bundled model to take steps');
    assert.equal(await selectModel(tiny.dir), true);
    // The worker answers a cancelled request with a cancelled result (or a CANCELLED error when its queue is dropped).
    const result = await running.catch((err) => {
      if (err?.code === 'CANCELLED') return { cancelled: true };
      throw err;
    });
    assert.equal(result.cancelled, true, 'the decode on the old model was cancelled');
    assert.equal(t.engine.activity.running, 0);
    assert.equal(t.engine.status.modelName, tiny.config.name);
    assert.equal(await selectModel(''), true);
  });

  test('a folder without a model is refused and the model stays', async () => {
    const before = t.settings().modelPath;
    assert.equal(await selectModel(path.join(tiny.dir, 'nowhere')), false);
    assert.equal(t.settings().modelPath, before);
  });
});
