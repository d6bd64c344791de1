// Runs alone, in a window whose folder is NOT trusted (workspace trust on; test/stress/extensionHost.mjs, suite
// 'untrusted'). The extension declares limited support: it works as usual, but the workspace cannot pick the model.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import { resolveModelDir } from '../../../src/editor/engineSession';
import { assertFigure } from '../support/figures';
import { NotificationSpy, type Testing, closeAllEditors, completionAt, extension, openAt, waitFor } from './helpers';

suite('stress: untrusted workspace', function () {
  this.timeout(180_000);

  test('in an untrusted folder: active (limited), the workspace cannot choose the model, completion and Fill Block work', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'this window must open the folder untrusted (workspace trust on)');
    const { t, extensionPath, ext } = await extension();
    assert.equal(ext.isActive, true, 'the extension runs in restricted mode');
    assert.equal(ext.packageJSON.capabilities.untrustedWorkspaces.supported, 'limited');
    const spy = new NotificationSpy();
    try {
      // .vscode/settings.json of this folder sets dllm.modelPath: ignored (machine scope, restricted when untrusted).
      assert.equal(vscode.workspace.getConfiguration('dllm').get('modelPath'), '');
      assert.equal(resolveModelDir(t.settings(), extensionPath), path.join(extensionPath, 'models', 'dllm-code-small'));
      const commands = new Set(await vscode.commands.getCommands(true));
      for (const id of ['dllm.fillBlock', 'dllm.triggerCompletion', 'dllm.showStats', 'dllm.toggle']) assert.ok(commands.has(id), id);
      const { doc, position } = await openAt(`# untrusted\ndef area(radius):\n    pass\n\nprint(<|>area(2))\n`);
      await completionAt(t as Testing, doc, position);
      await waitFor(() => t.engine.stats.last, 'a finished request');
      assert.equal(t.engine.status.modelDir, path.join(extensionPath, 'models', 'dllm-code-small'), 'the bundled model ran');
      const fill = await t.fill.run({ uri: doc.uri.toString(), line: 2 });
      assert.ok(['applied', 'empty'].includes(fill.status), `fill: ${fill.status} ${fill.message ?? ''}`);
      assert.deepEqual(spy.notices.filter((n) => n.level === 'error').map((n) => n.message), []);
      assertFigure({ area: 'Security', check: 'untrusted workspace (workspace trust on, folder not trusted; its settings set dllm.modelPath)',
        figure: `extension active (limited support); workspace dllm.modelPath ignored, bundled model used; completion ran, Fill Block ${fill.status}; no error`,
        bound: 'works, workspace cannot pick the model', holds: true });
    } finally {
      spy.dispose();
      await closeAllEditors();
    }
  });
});
