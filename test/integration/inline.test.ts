// Inline completions in the real extension host. One fixed, natural context (what a user types in the demo's
// fibonacci.py) for the real bundled model, also held to `node dist/cli.js complete`; the editor mechanics (Tab, typing along, on/off) on a scripted engine, so
// that they are checked whatever the model answers. No test searches for a context the model happens to answer.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { applyPostFilters } from '../../src/completion/postFilters';
import type { DllmExtensionApi } from '../../src/extension';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/repoRoot';
import { closeAllEditors, extensionApi, invokeContext, openAtCursor, waitFor } from './editorHelpers';
import { ScriptedEngine } from './scriptedEngine';

type Testing = DllmExtensionApi['testing'];

/** Calls the provider as VS Code would and waits for the decode to end; the final text then comes from the cache. */
async function finalCompletion(t: Testing, doc: vscode.TextDocument, position: vscode.Position, manual = false): Promise<string | undefined> {
  const token = new vscode.CancellationTokenSource().token;
  // manual: as after dLLM: Trigger Completion, which marks the next call at the cursor (the gate then does not hold)
  const arm = () => manual && t.provider.armManualTrigger(vscode.window.activeTextEditor!);
  arm();
  await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
  await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end');
  arm();
  const list = await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
  return list?.items[0]?.insertText as string | undefined;
}

async function setGlobal(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('dllm').update(key, value, vscode.ConfigurationTarget.Global);
}

/** The CLI as `npm run build` leaves it (or the test build's copy). */
const cliPath = () => [path.join(REPO_ROOT, 'dist', 'cli.js'), path.join(REPO_ROOT, 'out', 'src', 'cli.js')].find((p) => fs.existsSync(p)) ?? 'dist/cli.js missing';

/** The demo's fib.py after the user typed `if n` on the first body line. */
const FIB_IF_N = { language: 'python', content: 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n<|>\n' };
const SCRIPTED_ANSWER = ' < 2:';

suite('inline completions (real model, fixed context: fib.py after `if n`)', function () {
  this.timeout(240_000);
  let t: Testing;

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(async () => {
    await closeAllEditors();
    for (const key of ['policy', 'enable', 'languages', 'progressiveGhostText', 'minConfidence']) await setGlobal(key, undefined);
  });

  test('what the provider serves is the engine\'s answer for the same request, post-filtered', async () => {
    await setGlobal('minConfidence', 0); // the gate is tested elsewhere; here every answer is served
    await waitFor(() => t.settings().minConfidence === 0, 'the gate setting');
    const { doc, position } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    const servedBefore = t.provider.servedLog.length;
    const text = await finalCompletion(t, doc, position);
    const served = t.provider.servedLog.slice(servedBefore).at(-1);
    if (text === undefined) {
      assert.equal(served?.text ?? '', '', 'nothing shown means nothing was served');
      return;
    }
    assert.ok(served);
    assert.equal(served.text, text);
    const finished = t.provider.finished(served.requestId);
    assert.ok(finished, 'the provider keeps the request behind what it served');
    const { request, result } = finished;
    assert.ok(request.prefix.endsWith('    if n'), 'the request carries the text before the cursor');
    const rerun = await t.engine.engineClient.complete({ ...request, id: `rerun-${Date.now()}`, editorKey: 'integration-rerun' });
    assert.equal(rerun.completion, result.completion, 'the engine is deterministic for the same request');
    const shape = request.singleLine ? 'singleLine' : 'multiLine';
    // As inline suggestions are filtered (fib.py fits the context window whole): an answer that leaves a bracket open
    // is cut before it.
    assert.equal(request.prefix + request.suffix, doc.getText(), 'the whole file is the context');
    assert.equal(text, applyPostFilters(rerun.completion, {
      prefix: request.prefix, suffix: request.suffix, shape, final: true, languageId: FIB_IF_N.language,
      prefixIsFileStart: true, suffixIsFileEnd: true, cutInsideLines: true,
    }));
  });

  test('the model suggests something after `if n` (dLLM: Trigger Completion shows it even below the gate)', async () => {
    const { doc, position } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    const text = await finalCompletion(t, doc, position, true);
    assert.ok(text && text.trim().length > 0, `ghost text after \`if n\`: ${JSON.stringify(text)}`);
  });

  test('the provider serves what `node dist/cli.js complete` answers for the same cursor', async function () {
    await setGlobal('minConfidence', 0);
    await waitFor(() => t.settings().minConfidence === 0, 'the gate setting');
    const { doc, position } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    const text = await finalCompletion(t, doc, position);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-provider-vs-cli-'));
    try {
      const cursor = {
        task_id: 'fib-if-n', language: FIB_IF_N.language,
        prefix: doc.getText(new vscode.Range(new vscode.Position(0, 0), position)),
        suffix: doc.getText(new vscode.Range(position, doc.lineAt(doc.lineCount - 1).range.end)),
      };
      fs.writeFileSync(path.join(dir, 'in.jsonl'), JSON.stringify(cursor) + '\n');
      execFileSync(process.execPath, [cliPath(), 'complete', '--tasks', path.join(dir, 'in.jsonl'),
        '--out', path.join(dir, 'out.jsonl'), '--min-confidence', '0', '--ep', 'cpu',
        '--model', path.join(REPO_ROOT, 'models', 'dllm-code-small')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
      const row = JSON.parse(fs.readFileSync(path.join(dir, 'out.jsonl'), 'utf8'));
      assert.equal(text ?? '', row.text, 'same cursor, same text');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

suite('inline completion mechanics (scripted engine)', function () {
  this.timeout(60_000);
  let t: Testing;

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  setup(() => t.engine.useClientForTests(new ScriptedEngine([' <', ' 2', ':'])));

  teardown(async () => {
    t.engine.useClientForTests(undefined);
    await closeAllEditors();
    for (const key of ['enable', 'languages', 'minConfidence']) await setGlobal(key, undefined);
  });

  test('accepting (inlineSuggest.commit, what Tab runs) inserts exactly the served text', async () => {
    const { doc, editor, position } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    const before = doc.getText();
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.lastServed?.text === SCRIPTED_ANSWER, 'the ghost text to be served', 20_000);
    await new Promise((r) => setTimeout(r, 300)); // let the editor render it
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor(() => doc.getText() !== before, 'the completion to be inserted', 5000);
    const offset = doc.offsetAt(position);
    assert.equal(doc.getText(), before.slice(0, offset) + SCRIPTED_ANSWER + before.slice(offset));
    assert.equal(doc.offsetAt(editor.selection.active), offset + SCRIPTED_ANSWER.length, 'the cursor ends after the inserted text');
  });

  test('typing along the suggestion is served from the same completion, minus what was typed', async () => {
    const { doc, editor, position } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    assert.equal(await finalCompletion(t, doc, position), SCRIPTED_ANSWER);
    const requestId = t.provider.lastServed!.requestId;
    await editor.edit((b) => b.insert(position, SCRIPTED_ANSWER[0]));
    const next = doc.positionAt(doc.offsetAt(position) + 1);
    const list = await t.provider.provideInlineCompletionItems(doc, next, invokeContext, new vscode.CancellationTokenSource().token);
    assert.equal(list?.items[0].insertText, SCRIPTED_ANSWER.slice(1));
    assert.equal(t.provider.lastServed?.source, 'cache');
    assert.equal(t.provider.lastServed?.requestId, requestId, 'no new decode was started');
  });

  test('completions are off when dllm.enable is false or the language is switched off; a manual trigger still works', async () => {
    const { doc, position, editor } = await openAtCursor(FIB_IF_N.content, FIB_IF_N.language);
    const token = new vscode.CancellationTokenSource().token;
    const automatic = { ...invokeContext, triggerKind: vscode.InlineCompletionTriggerKind.Automatic };
    await setGlobal('languages', ['*', `!${FIB_IF_N.language}`]);
    await waitFor(() => t.settings().languages.includes(`!${FIB_IF_N.language}`), 'the language setting');
    assert.equal(await t.provider.provideInlineCompletionItems(doc, position, automatic, token), undefined, 'language switched off');
    await setGlobal('languages', undefined);
    await setGlobal('enable', false);
    await waitFor(() => !t.settings().enable, 'the enable setting');
    assert.equal(await t.provider.provideInlineCompletionItems(doc, position, automatic, token), undefined, 'switched off');
    t.provider.armManualTrigger(editor);
    const manual = await t.provider.provideInlineCompletionItems(doc, position, invokeContext, token);
    assert.ok(manual, 'dLLM: Trigger Completion works while automatic completions are off');
    await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end');
    assert.ok(SCRIPTED_ANSWER.startsWith(manual.items[0].insertText as string));
  });
});
