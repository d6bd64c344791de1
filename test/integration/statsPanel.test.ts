// The stats webview receives the session's numbers and renders them (it reports back what it shows).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DllmExtensionApi } from '../../src/extension';
import { closeAllEditors, extensionApi, invokeContext, openAtCursor, waitFor } from './editorHelpers';

suite('stats panel', function () {
  this.timeout(120_000);
  let t: DllmExtensionApi['testing'];

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(closeAllEditors);

  test('dLLM: Show Decoding Stats opens the panel and it renders the session\'s requests and the last request\'s steps', async () => {
    const { doc, position } = await openAtCursor('function double(x) {\n  return <|>\n}\n', 'javascript');
    await t.provider.provideInlineCompletionItems(doc, position, invokeContext, new vscode.CancellationTokenSource().token);
    await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end');
    const session = t.engine.stats.session;
    assert.ok(session.requests >= 1, 'at least one request was recorded');
    await vscode.commands.executeCommand('dllm.showStats');
    assert.equal(t.stats.isOpen, true);
    const rendered = await waitFor(() => t.stats.lastRendered?.requests === t.engine.stats.session.requests && t.stats.lastRendered,
      'the panel to render the current stats');
    const last = t.engine.stats.last;
    assert.equal(rendered.lastId, last?.id ?? null);
    assert.equal(rendered.lastSteps, last?.steps ?? null);
    assert.equal(t.engine.measureBaselines, true, 'baselines are measured while the panel is visible');
  });

  test('the panel follows new requests (with baselines measured in the background while it is open)', async () => {
    const { doc, position } = await openAtCursor('def greet(name):\n    return <|>\n', 'python');
    await vscode.commands.executeCommand('dllm.showStats'); // beside the editor, which keeps the focus
    await waitFor(() => t.engine.measureBaselines, 'the panel to be visible');
    const before = t.engine.stats.session.requests;
    await t.provider.provideInlineCompletionItems(doc, position, invokeContext, new vscode.CancellationTokenSource().token);
    await waitFor(() => t.engine.stats.session.requests > before, 'a new request');
    await waitFor(() => t.stats.lastRendered?.requests === t.engine.stats.session.requests, 'the panel to show it');
    const last = t.engine.stats.last!;
    await waitFor(() => t.engine.stats.history.find((h) => h.id === last.id)?.fastDllmSteps !== undefined, 'the fast-dllm baseline', 60_000);
    const measured = t.engine.stats.history.find((h) => h.id === last.id)!;
    assert.ok(measured.fastDllmSteps! > 0 && measured.lladaSteps > 0);
    // Checked against an independent run: the same request decoded under plain fast-dllm gives that many steps.
    const finished = t.provider.finished(last.id);
    assert.ok(finished, 'the provider keeps the request behind the panel\'s row');
    // Same request, same options and stopping rules, only the policy changed.
    const rerun = await t.engine.engineClient.complete({
      ...finished.request, id: `fast-dllm-check-${Date.now()}`, editorKey: 'stats-check', policy: 'fast-dllm',
      measureBaselines: false, emitSteps: false,
    });
    assert.equal(measured.steps, finished.result.metrics.nfe, 'the panel\'s steps are the request\'s');
    assert.equal(measured.fastDllmSteps, rerun.metrics.nfe, 'the panel\'s fast-dllm baseline is the request decoded under fast-dllm');
    const saved = 100 * (1 - finished.result.metrics.nfe / rerun.metrics.nfe);
    assert.ok(Math.abs(measured.savedVsFastDllmPct! - saved) <= 0.05, `${measured.savedVsFastDllmPct} vs ${saved}`);
  });

  test('opening the panel measures the baselines of the last request made while it was closed', async () => {
    await closeAllEditors(); // closes the panel too
    await waitFor(() => !t.stats.isOpen, 'the panel to close');
    assert.equal(t.engine.measureBaselines, false);
    const { doc, position } = await openAtCursor('const total = items.reduce((a, b) => a + b, <|>);\n', 'javascript');
    const before = t.engine.stats.session.requests;
    await t.provider.provideInlineCompletionItems(doc, position, invokeContext, new vscode.CancellationTokenSource().token);
    await waitFor(() => t.engine.stats.session.requests > before, 'the request');
    const last = t.engine.stats.last!;
    assert.equal(last.fastDllmSteps, undefined, 'not measured while the panel is closed');
    await vscode.commands.executeCommand('dllm.showStats');
    await waitFor(() => t.engine.stats.history.find((h) => h.id === last.id)?.fastDllmSteps !== undefined, 'the fast-dllm baseline', 60_000);
  });
});
