import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { DEFAULT_SETTINGS } from '../../src/config';

// The workspace is test/fixtures/integration-workspace, whose .vscode/settings.json sets both values below.
suite('settings', () => {
  test('workspace settings apply to window-scoped dllm settings', () => {
    assert.equal(vscode.workspace.getConfiguration('dllm').get('debounceMs'), 321);
  });

  test('a workspace cannot set the machine-scoped dllm.modelPath', async () => {
    const config = vscode.workspace.getConfiguration('dllm');
    assert.equal(config.get('modelPath'), DEFAULT_SETTINGS.modelPath, 'workspace value must be ignored');
    await assert.rejects(
      Promise.resolve(config.update('modelPath', '/elsewhere', vscode.ConfigurationTarget.Workspace)),
      'writing dllm.modelPath to workspace settings must fail',
    );
  });

  test('unset dllm settings read as DEFAULT_SETTINGS', () => {
    const config = vscode.workspace.getConfiguration('dllm');
    assert.equal(config.get('policy'), DEFAULT_SETTINGS.policy);
    assert.equal(config.get('maxNewTokens'), DEFAULT_SETTINGS.maxNewTokens);
    assert.deepEqual(config.get('languages'), DEFAULT_SETTINGS.languages);
  });
});
