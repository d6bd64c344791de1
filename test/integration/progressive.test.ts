// The editor mechanics of progressive ghost text and in-place fill, driven by a scripted engine that replays a fixed
// decode (step events with a growing stable prefix), so they are checked whatever the bundled model answers.
// The real-model suites (inline.test.ts, fillBlock.test.ts) check the same paths end to end.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { FillOutcome } from '../../src/editor/fillBlock';
import type { DllmExtensionApi } from '../../src/extension';
import { closeAllEditors, extensionApi, openAtCursor, waitFor } from './editorHelpers';
import { STEP_MS, ScriptedEngine } from './scriptedEngine';

suite('progressive ghost text and in-place fill (scripted engine)', function () {
  this.timeout(60_000);
  let t: DllmExtensionApi['testing'];

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(async () => {
    t.engine.useClientForTests(undefined);
    await closeAllEditors();
  });

  test('the ghost text grows with the stable prefix, then Tab (commit) inserts the whole completion', async () => {
    const pieces = ['return', ' a', ' +', ' b', ';'];
    t.engine.useClientForTests(new ScriptedEngine(pieces));
    const { doc, position } = await openAtCursor('function add(a, b) {\n  <|>\n}\n', 'javascript');
    const start = t.provider.servedLog.length;
    const refreshes = t.refresher.refreshes;
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.servedLog.slice(start).some((s) => s.text === 'return a + b;'), 'the full completion to be shown', 20_000);
    const texts = [...new Set(t.provider.servedLog.slice(start).map((s) => s.text))];
    console.log(`  shown: ${JSON.stringify(texts)} (${t.refresher.refreshes - refreshes} refreshes, strategy ${t.refresher.strategy})`);
    assert.ok(texts.length >= 3, `the ghost text was shown at several lengths: ${JSON.stringify(texts)}`);
    for (let i = 1; i < texts.length; i++) assert.ok(texts[i].startsWith(texts[i - 1]), `each is an extension of the one before: ${JSON.stringify(texts)}`);
    assert.ok(t.refresher.refreshes > refreshes);
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor(() => doc.getText().includes('return a + b;'), 'the completion to be inserted', 5000);
    assert.equal(doc.getText(), 'function add(a, b) {\n  return a + b;\n}\n');
    assert.equal(doc.offsetAt(vscode.window.activeTextEditor!.selection.active), doc.offsetAt(position) + 'return a + b;'.length);
  });

  test('partial accept: the next word (Ctrl+Right), the next line (Shift+Tab), then the rest (Tab)', async () => {
    t.engine.useClientForTests(new ScriptedEngine(['const', ' total', ' =', ' 0;', '\n  return', ' total;']));
    const { doc } = await openAtCursor('function f() {\n  <|>\n}\n', 'javascript');
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.lastServed?.text === 'const total = 0;\n  return total;', 'the whole completion', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextWord');
    await waitFor(() => doc.getText().startsWith('function f() {\n  const'), 'one word accepted', 5000);
    assert.ok(!doc.getText().includes('total'), `only the next word: ${JSON.stringify(doc.getText())}`);
    await new Promise((r) => setTimeout(r, 300)); // VS Code asks again; the rest comes from the cache
    await vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextLine');
    await waitFor(() => doc.getText().includes('const total = 0;'), 'the rest of the line accepted', 5000);
    assert.ok(!doc.getText().includes('return'), `only the line: ${JSON.stringify(doc.getText())}`);
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor(() => doc.getText().includes('return total;'), 'the rest accepted', 5000);
    assert.equal(doc.getText(), 'function f() {\n  const total = 0;\n  return total;\n}\n');
  });

  test('typing along the ghost text keeps the decode; the rest keeps coming', async () => {
    const engine = new ScriptedEngine(['const', ' total', ' =', ' 0;'], { holdLastPiece: true });
    t.engine.useClientForTests(engine);
    const { doc, editor } = await openAtCursor('function f() {\n  <|>\n}\n', 'javascript');
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.lastServed?.text.startsWith('const'), 'the first piece');
    const live = t.provider.liveDecodes.get(doc.uri.toString());
    await vscode.commands.executeCommand('type', { text: 'co' });
    await waitFor(() => doc.getText().includes('  co\n'), 'the typed text');
    void editor;
    assert.equal(live?.state === 'cancelled', false, 'typing along must not cancel the decode');
    engine.release();
    await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end', 20_000);
    assert.equal(engine.requests.length, 1, 'typing along did not start another decode');
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.lastServed?.text === 'nst total = 0;', 'the rest, minus what was typed');
  });

  test('typing something else cancels the decode', async () => {
    const engine = new ScriptedEngine(['alpha', ' beta', ' gamma', ' delta', ' epsilon'], { holdLastPiece: true });
    t.engine.useClientForTests(engine);
    const { doc, editor } = await openAtCursor('let x = <|>\n', 'javascript');
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.liveDecodes.get(doc.uri.toString())?.running, 'the decode to start');
    const live = t.provider.liveDecodes.get(doc.uri.toString())!;
    await vscode.commands.executeCommand('type', { text: 'Z' });
    await waitFor(() => live.state === 'cancelled', 'the decode to be cancelled', 5000);
    assert.ok(doc.getText().includes('let x = Z'));
    void editor;
  });

  test('fill block: the masked canvas fills in place (document untouched) and lands as one undoable edit', async () => {
    const pieces = ['total', ' =', ' sum(values)', '\n    return', ' total', ' /', ' len(values)'];
    t.engine.useClientForTests(new ScriptedEngine(pieces));
    const { doc } = await openAtCursor('def average(values):\n    pa<|>ss\n', 'python');
    const original = doc.getText();
    const versions: number[] = [];
    const sub = t.fill.onDidStart(() => {
      const timer = setInterval(() => versions.push(doc.version), 50);
      setTimeout(() => clearInterval(timer), STEP_MS * pieces.length - 100);
    });
    const outcome = await vscode.commands.executeCommand<FillOutcome>('dllm.fillBlock');
    sub.dispose();
    assert.equal(outcome.status, 'applied');
    assert.ok(versions.length > 3 && versions.every((v) => v === versions[0]), 'the document is not edited while it decodes');
    assert.equal(doc.getText(), 'def average(values):\n    total = sum(values)\n    return total / len(values)\n');
    await vscode.commands.executeCommand('undo');
    await waitFor(() => doc.getText() === original, 'one undo to restore the placeholder', 5000);
  });

  test('fill block: an answer that leaves a bracket open is dropped with a message, and nothing changes', async () => {
    t.engine.useClientForTests(new ScriptedEngine(['n', ' =', ' range(']));
    const { doc } = await openAtCursor('def count(xs):\n    pa<|>ss\n    return len(xs)\n', 'python');
    const original = doc.getText();
    const outcome = await vscode.commands.executeCommand<FillOutcome>('dllm.fillBlock');
    assert.equal(outcome.status, 'empty');
    assert.match(outcome.message ?? '', /did not fit the code around it/);
    assert.equal(doc.getText(), original);
  });

  test('fill block: a multi-line answer is cut back to its last line that keeps the code balanced', async () => {
    t.engine.useClientForTests(new ScriptedEngine(['total', ' = 0', '\n    rest', ' = f(']));
    const { doc } = await openAtCursor('def count(xs):\n    pa<|>ss\n    return len(xs)\n', 'python');
    const outcome = await vscode.commands.executeCommand<FillOutcome>('dllm.fillBlock');
    assert.equal(outcome.status, 'applied');
    assert.equal(doc.getText(), 'def count(xs):\n    total = 0\n    return len(xs)\n');
  });
});
