// Inline completions in the real extension host with the real bundled model.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { applyPostFilters } from '../../src/completion/postFilters';
import type { DllmExtensionApi } from '../../src/extension';
import {
  type Candidate, closeAllEditors, extensionApi, inlineCandidates, invokeContext, openAtCursor, waitFor,
} from './editorHelpers';

type Testing = DllmExtensionApi['testing'];

/** Calls the provider as VS Code would and waits for the decode to end; the final text then comes from the cache. */
async function finalCompletion(t: Testing, doc: vscode.TextDocument, position: vscode.Position): Promise<string | undefined> {
  const token = new vscode.CancellationTokenSource().token;
  await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
  await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end');
  const list = await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
  return list?.items[0]?.insertText as string | undefined;
}

async function setGlobal(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('dllm').update(key, value, vscode.ConfigurationTarget.Global);
}

suite('inline completions (real model)', function () {
  this.timeout(240_000);
  let t: Testing;
  let candidates: Candidate[];
  /** A context where the model answers something, found by the first test. */
  let answering: { candidate: Candidate; text: string } | undefined;

  suiteSetup(async () => {
    const { api, extensionPath } = await extensionApi();
    t = api.testing;
    candidates = inlineCandidates(extensionPath);
  });

  teardown(async () => {
    await closeAllEditors();
    for (const key of ['policy', 'enable', 'languages', 'progressiveGhostText']) await setGlobal(key, undefined);
  });

  test('the provider returns the model\'s text: the post-filtered completion of the same request', async () => {
    let tried = 0;
    for (const candidate of candidates) {
      tried++;
      const { doc, position } = await openAtCursor(candidate.content, candidate.language);
      const text = await finalCompletion(t, doc, position);
      await closeAllEditors();
      if (!text) continue;
      const served = t.provider.lastServed!;
      assert.equal(served.text, text);
      const finished = t.provider.finished(served.requestId);
      assert.ok(finished, 'the provider keeps the request behind what it served');
      const { request, result } = finished;
      assert.equal(request.prefix.endsWith(candidate.content.slice(0, candidate.content.indexOf('<|>')).slice(-200)), true, 'the request carries the text before the cursor');
      const rerun = await t.engine.engineClient.complete({ ...request, id: `rerun-${Date.now()}`, editorKey: 'integration-rerun' });
      assert.equal(rerun.completion, result.completion, 'the engine is deterministic for the same request');
      const shape = request.singleLine ? 'singleLine' : 'multiLine';
      assert.equal(text, applyPostFilters(rerun.completion, { prefix: request.prefix, suffix: request.suffix, shape, final: true }));
      answering = { candidate, text };
      console.log(`  model answered at "${candidate.name}" (after ${tried} contexts): ${JSON.stringify(text)}`);
      return;
    }
    assert.fail(`the bundled model answered nothing in ${tried} code contexts`);
  });

  test('accepting (inlineSuggest.commit, what Tab runs) inserts exactly the served text', async function () {
    if (!answering) this.skip(); // needs a context where the model answers (first test)
    const { candidate, text } = answering!;
    const { doc, editor, position } = await openAtCursor(candidate.content, candidate.language);
    const before = doc.getText();
    const servedBefore = t.provider.servedLog.length;
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.servedLog.length > servedBefore && t.provider.lastServed?.text === text, 'the ghost text to be served');
    await new Promise((r) => setTimeout(r, 300)); // let the editor render it
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor(() => doc.getText() !== before, 'the completion to be inserted', 5000);
    const offset = doc.offsetAt(position);
    assert.equal(doc.getText(), before.slice(0, offset) + text + before.slice(offset));
    assert.equal(doc.offsetAt(editor.selection.active), offset + text.length, 'the cursor ends after the inserted text');
  });

  test('typing along the suggestion is served from the same completion, minus what was typed', async function () {
    if (!answering || answering.text.length < 2) this.skip();
    const { candidate, text } = answering!;
    const { doc, editor, position } = await openAtCursor(candidate.content, candidate.language);
    assert.equal(await finalCompletion(t, doc, position), text);
    const requestId = t.provider.lastServed!.requestId;
    await editor.edit((b) => b.insert(position, text[0]));
    const next = doc.positionAt(doc.offsetAt(position) + 1);
    const list = await t.provider.provideInlineCompletionItems(doc, next, invokeContext, new vscode.CancellationTokenSource().token);
    assert.equal(list?.items[0].insertText, text.slice(1));
    assert.equal(t.provider.lastServed?.source, 'cache');
    assert.equal(t.provider.lastServed?.requestId, requestId, 'no new decode was started');
  });

  test('progressive ghost text: while decoding, the served text grows through prefixes of the final text', async function () {
    await setGlobal('policy', 'llada'); // one token per step: many steps to watch
    await waitFor(() => t.settings().policy === 'llada', 'the policy setting'); // (this also clears the cache)
    const best: Array<{ candidate: Candidate; texts: string[] }> = [];
    for (const candidate of candidates.slice(0, 20)) {
      const { doc, position } = await openAtCursor(candidate.content, candidate.language);
      const start = t.provider.servedLog.length;
      const refreshesBefore = t.refresher.refreshes;
      const calls = t.provider.callCount;
      await vscode.commands.executeCommand('dllm.triggerCompletion');
      await waitFor(() => t.provider.callCount > calls, 'VS Code to call the provider', 10_000);
      await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end', 60_000);
      await new Promise((r) => setTimeout(r, 400)); // the final refresh
      const served = t.provider.servedLog.slice(start).filter((s) => s.docKey === doc.uri.toString());
      const final = await finalCompletion(t, doc, position);
      await closeAllEditors();
      const texts = [...new Set(served.map((s) => s.text))];
      if (!final || texts.length < 2) {
        best.push({ candidate, texts });
        continue;
      }
      for (let i = 1; i < texts.length; i++) assert.ok(texts[i].startsWith(texts[i - 1]), `grows by extension: ${JSON.stringify(texts)}`);
      assert.equal(texts[texts.length - 1], final, 'ends with the final completion');
      assert.ok(t.refresher.refreshes > refreshesBefore, 'the ghost text was refreshed while decoding');
      console.log(`  grew through ${texts.length} texts at "${candidate.name}" (refresh strategy ${t.refresher.strategy}): ${JSON.stringify(texts)}`);
      return;
    }
    assert.fail(`no context showed growing ghost text; served per context: ${JSON.stringify(best.map((b) => [b.candidate.name, b.texts]))}`);
  });

  test('completions are off when dllm.enable is false or the language is switched off; a manual trigger still works', async function () {
    if (!answering) this.skip();
    const { candidate, text } = answering!;
    const { doc, position, editor } = await openAtCursor(candidate.content, candidate.language);
    const token = new vscode.CancellationTokenSource().token;
    const automatic = { ...invokeContext, triggerKind: vscode.InlineCompletionTriggerKind.Automatic };
    await setGlobal('languages', ['*', `!${candidate.language}`]);
    await waitFor(() => t.settings().languages.includes(`!${candidate.language}`), 'the language setting');
    assert.equal(await t.provider.provideInlineCompletionItems(doc, position, automatic, token), undefined, 'language switched off');
    await setGlobal('languages', undefined);
    await setGlobal('enable', false);
    await waitFor(() => !t.settings().enable, 'the enable setting');
    assert.equal(await t.provider.provideInlineCompletionItems(doc, position, automatic, token), undefined, 'switched off');
    t.provider.armManualTrigger(editor);
    const manual = await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
    assert.ok(manual, 'dLLM: Trigger Completion works while automatic completions are off');
    await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end');
    assert.ok(text.startsWith(manual.items[0].insertText as string));
  });
});
