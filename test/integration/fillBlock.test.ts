// Fill Block in the real extension host: the real bundled model at a fixed placeholder, and the editor mechanics
// (one edit, undo, edits while filling) on a scripted engine so that they hold whatever the model answers.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { FillOutcome, FillStarted } from '../../src/editor/fillBlock';
import type { DllmExtensionApi } from '../../src/extension';
import { closeAllEditors, extensionApi, fillCandidates, openAtCursor, waitFor } from './editorHelpers';
import { ScriptedEngine } from './scriptedEngine';

type Testing = DllmExtensionApi['testing'];

const fillBlock = (args?: unknown) => vscode.commands.executeCommand<FillOutcome>('dllm.fillBlock', args);

suite('fill block (real model)', function () {
  this.timeout(240_000);
  let t: Testing;

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(async () => {
    t.engine.useClientForTests(undefined);
    await closeAllEditors();
  });

  test('the real model at a fixed placeholder (python `pass`): one edit that one undo reverts, or no change at all', async () => {
    const candidate = fillCandidates()[0];
    const { doc } = await openAtCursor(candidate.content, candidate.language);
    const original = doc.getText();
    let region: { start: number; end: number } | undefined;
    const sub = t.fill.onDidStart((s) => { region = s; });
    const outcome = await fillBlock();
    sub.dispose();
    console.log(`  real model at "${candidate.name}": ${outcome.status} ${JSON.stringify(outcome.text ?? '')}`);
    if (outcome.status !== 'applied') {
      assert.equal(doc.getText(), original, `${outcome.status}: nothing changes when nothing is applied`);
      return;
    }
    assert.ok(region);
    const filled = doc.getText();
    assert.equal(filled, original.slice(0, region.start) + outcome.text + original.slice(region.end), 'the region, and only it, was replaced');
    await vscode.commands.executeCommand('undo');
    await waitFor(() => doc.getText() === original, 'one undo to restore the original', 5000);
  });

  test('the model fills the python `pass` placeholder with code', async () => {
    const candidate = fillCandidates()[0];
    await openAtCursor(candidate.content, candidate.language);
    const outcome = await fillBlock();
    assert.equal(outcome.status, 'applied', `outcome ${outcome.status}`);
    assert.ok((outcome.text ?? '').trim().length > 0);
  });

  /** The mechanics below run on a scripted engine (a fixed answer revealed step by step), whatever the model says. */
  const scripted = () => t.engine.useClientForTests(new ScriptedEngine(['return', ' sum(values)', ' /', ' len(values)']));

  test('scripted engine: fills a placeholder in one edit; a single undo restores the document, redo brings the fill back', async () => {
    scripted();
    const candidate = fillCandidates()[0];
    const { doc } = await openAtCursor(candidate.content, candidate.language);
    const original = doc.getText();
    let region: { start: number; end: number } | undefined;
    const sub = t.fill.onDidStart((s) => { region = s; });
    const outcome = await fillBlock();
    sub.dispose();
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(outcome.text, 'return sum(values) / len(values)');
    const filled = doc.getText();
    assert.ok(region);
    assert.equal(filled, original.slice(0, region.start) + outcome.text + original.slice(region.end), 'the region, and only it, was replaced');
    await vscode.commands.executeCommand('undo');
    await waitFor(() => doc.getText() === original, 'one undo to restore the original', 5000);
    await vscode.commands.executeCommand('redo');
    await waitFor(() => doc.getText() === filled, 'redo to bring the fill back', 5000);
  });

  test('scripted engine: an edit inside the region while it fills: nothing is applied, the user is told', async () => {
    scripted();
    const candidate = fillCandidates()[0];
    const { doc, editor } = await openAtCursor(candidate.content, candidate.language);
    const original = doc.getText();
    let at = -1;
    const edited = new Promise<void>((resolve) => {
      const sub = t.fill.onDidStart(async (s) => {
        sub.dispose();
        at = s.start + 1;
        await editor.edit((b) => b.insert(doc.positionAt(at), 'X'));
        resolve();
      });
    });
    const outcome = await fillBlock();
    await edited;
    assert.equal(outcome.status, 'regionChanged');
    assert.match(outcome.message ?? '', /was edited while it was being filled, so nothing was applied/);
    assert.equal(doc.getText(), original.slice(0, at) + 'X' + original.slice(at), 'only the user\'s own edit is in the document');
  });

  test('scripted engine: an edit above the region while it fills moves the region; the fill still lands on the placeholder', async () => {
    scripted();
    const candidate = fillCandidates()[0];
    const { doc, editor } = await openAtCursor(candidate.content, candidate.language);
    const original = doc.getText();
    const above = '# edited above\n';
    let region = { start: -1, end: -1 };
    let edited: Thenable<boolean> = Promise.resolve(false);
    const sub = t.fill.onDidStart((s) => {
      sub.dispose();
      region = s;
      edited = editor.edit((b) => b.insert(new vscode.Position(0, 0), above));
    });
    const outcome = await fillBlock();
    assert.ok(await edited, 'the edit above was made');
    assert.equal(outcome.status, 'applied', outcome.message);
    const shifted = above + original;
    const expected = shifted.slice(0, region.start + above.length) + outcome.text + shifted.slice(region.end + above.length);
    assert.equal(doc.getText(), expected);
  });

  test('dLLM: Cancel Fill Block (Escape) stops the fill and leaves the document as it was', async () => {
    const candidate = fillCandidates()[1];
    const { doc } = await openAtCursor(candidate.content, candidate.language);
    const original = doc.getText();
    const sub = t.fill.onDidStart(() => {
      sub.dispose();
      void vscode.commands.executeCommand('dllm.cancelFill');
    });
    const outcome = await fillBlock();
    assert.equal(outcome.status, 'cancelled');
    assert.equal(doc.getText(), original);
    assert.equal(t.fill.isActiveIn(doc.uri.toString()), false);
  });

  test('the code lens arguments ({ uri, line }) fill that placeholder even with the cursor elsewhere', async () => {
    const { doc, editor } = await openAtCursor('<|>x = 1\n\ndef f():\n    pass\n', 'python');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const lens = lenses.find((l) => l.command?.command === 'dllm.fillBlock');
    assert.ok(lens, 'a Fill Block lens above the placeholder');
    assert.equal(lens.range.start.line, 3);
    assert.equal(editor.selection.active.line, 0);
    const started = new Promise<FillStarted>((resolve) => {
      const sub = t.fill.onDidStart((s) => { sub.dispose(); resolve(s); });
    });
    void fillBlock(lens.command!.arguments![0]);
    const s = await started;
    const why = JSON.stringify({ args: lens.command!.arguments, docKey: s.docKey, doc: doc.uri.toString(), start: s.start, kind: s.target.kind, text: doc.getText() });
    assert.equal(s.docKey, doc.uri.toString(), why);
    assert.equal(doc.positionAt(s.start).line, 3, why);
    await vscode.commands.executeCommand('dllm.cancelFill');
  });

  test('nothing to fill: a clear message, no change', async () => {
    const { doc } = await openAtCursor('const x = <|>1;\n', 'javascript');
    const outcome = await fillBlock();
    assert.equal(outcome.status, 'noTarget');
    assert.match(outcome.message ?? '', /placeholder/);
    assert.equal(doc.getText(), 'const x = 1;\n');
  });
});
