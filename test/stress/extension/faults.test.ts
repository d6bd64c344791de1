// Faults in the editor: the engine worker killed mid-decode (the user is told, the next completion works), an
// execution provider that cannot start (CPU with a visible notice), an ORT out-of-memory error (a clear message, no
// edit, and the next completion works).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { NO_VULKAN_DRIVER, withEnv } from '../support/env';
import { assertFigure, ms } from '../support/figures';
import {
  EditRecorder, NotificationSpy, type Testing, closeAllEditors, completionAt, extension, invoke, openAt, pageCommand,
  setSetting, sleep, waitFor,
} from './helpers';

/** A context the provider has not cached yet (its cache is keyed by the text around the cursor). */
let contexts = 0;
const context = () => `# fault case ${++contexts} ${Date.now()}\ndef total(items):\n    result = 0\n    for item in items:\n        <|>\n    return result\n`;

type Pid = { workerPid?: number };

suite('stress: faults in the editor', function () {
  this.timeout(180_000);
  let t: Testing;
  let spy: NotificationSpy;

  suiteSetup(async () => {
    t = (await extension()).t;
  });
  setup(() => { spy = new NotificationSpy(); });
  teardown(async () => {
    spy.dispose();
    delete process.env.DLLM_TEST_FAULT;
    await setSetting('executionProvider', undefined);
    await setSetting('policy', undefined);
    await closeAllEditors();
  });

  test('the worker killed mid-decode: the request ends quietly, the user is told, the next completion works', async () => {
    const warm = await openAt(context());
    await completionAt(t, warm.doc, warm.position); // the engine is up
    const { doc, position } = await openAt(context());
    const edits = new EditRecorder(doc);
    await setSetting('policy', 'llada'); // one token per step: many steps to kill in between
    const pid = (t.engine.engineClient as Pid).workerPid!;
    assert.ok(pid);
    const t0 = Date.now();
    const token = new vscode.CancellationTokenSource();
    // Kill the worker when the decode's first step arrives: mid-decode for sure.
    const client = t.engine.engineClient as unknown as { complete: (r: unknown, s?: (e: unknown) => void) => Promise<unknown> };
    const complete = client.complete;
    let killedAt = 0;
    client.complete = (r, onStep) => complete.call(client, r, (e) => {
      if (!killedAt) { killedAt = Date.now(); process.kill(pid, 'SIGKILL'); }
      onStep?.(e);
    });
    let list: vscode.InlineCompletionList | undefined;
    try {
      list = await t.provider.provideInlineCompletionItems(doc, position, invoke, token.token);
    } finally {
      client.complete = complete;
    }
    assert.ok(killedAt > 0, 'killed during the decode');
    // Progressive ghost text may already show the committed start of the answer (commits are final); nothing more.
    const partial = list?.items[0]?.insertText as string | undefined;
    const crashed = t.provider.finished(t.provider.lastServed?.requestId ?? '');
    assert.ok(partial === undefined || crashed === undefined, 'a crashed decode has no result');
    const crashNotice = await waitFor(() => spy.since(t0, 'error').find((n) => /stopped unexpectedly/.test(n.message)), 'the crash notification', 10_000);
    await waitFor(() => { const p = (t.engine.engineClient as Pid).workerPid; return p !== undefined && p !== pid; }, 'a new worker', 10_000);
    const respawnMs = Date.now() - killedAt;
    const again = await completionAt(t, doc, position);
    const recoveredMs = Date.now() - killedAt;
    assert.ok(t.engine.status.state === 'ready' || t.engine.status.state === 'busy', `engine state ${t.engine.status.state}`);
    assert.ok(t.engine.stats.last && !t.engine.stats.last.cancelled, 'the next request ran to the end');
    assert.equal(edits.changes.length, 0, 'no edit');
    edits.dispose();
    assertFigure({
      area: 'Faults', check: 'in the editor: worker SIGKILLed during an inline decode',
      figure: `error notification "${crashNotice.message.slice(0, 70)}…"; new worker after ${ms(respawnMs, 0)}; next completion done ${ms(recoveredMs, 0)} after the kill; no edit` +
        (partial ? ` (the ghost text showed the ${partial.length} characters committed before the kill)` : ''),
      bound: 'told, recovers, no edit', holds: true,
    });
  });

  test('an execution provider that fails to start: CPU, a warning notification, and a yellow status bar item', async () => {
    const t0 = Date.now();
    // Whatever this machine has (lavapipe's variables, a real GPU), the next worker sees no Vulkan driver: no adapter.
    await withEnv(NO_VULKAN_DRIVER, async () => {
      await setSetting('executionProvider', 'webgpu');
      await t.engine.restart(); // the next request forks a fresh worker, which inherits the variables
      const { doc, position } = await openAt(context());
      await completionAt(t, doc, position);
    });
    const status = await waitFor(() => t.engine.status.fallbackReason ? t.engine.status : undefined, 'a fallback reason', 30_000);
    assert.equal(status.executionProvider, 'cpu');
    assert.equal(status.requestedExecutionProvider, 'webgpu');
    const notice = await waitFor(() => spy.since(t0, 'warning').find((n) => /webgpu/i.test(n.message) && /CPU/.test(n.message)), 'the fallback notification', 10_000);
    let bar = { text: '', className: '' };
    await waitFor(async () => {
      bar = await pageCommand<{ text: string; className: string }>('statusbar');
      return /warning-kind/.test(bar.className);
    }, `a yellow status bar item (last seen: ${JSON.stringify(bar)})`, 10_000).catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(bar)}`); });
    assert.match(bar.text, /dLLM/);
    assertFigure({
      area: 'Faults', check: 'in the editor: dllm.executionProvider "webgpu" without an adapter (no Vulkan driver visible to the worker)',
      figure: `runs on the CPU; warning "${notice.message.slice(0, 90)}…"; status bar item yellow (warning-kind)`,
      bound: 'visible notice', holds: true,
    });
  });

  test('an ORT out-of-memory error: a clear message, no edit, and the next request works on the same worker', async () => {
    // Inline completions off, so that no automatic request meets the injected error before the fill does.
    await setSetting('enable', false);
    process.env.DLLM_TEST_FAULT = 'ort-oom:1'; // inherited by the next worker: its first forward pass fails
    try {
      await t.engine.restart();
      const { doc } = await openAt(`# oom ${Date.now()}\ndef average(values):\n    pass\n`);
      const edits = new EditRecorder(doc);
      const t0 = Date.now();
      const failed = await t.fill.run({ uri: doc.uri.toString(), line: 2 });
      assert.equal(failed.status, 'failed', `${failed.status} ${failed.message ?? ''}`);
      const notice = await waitFor(() => spy.since(t0, 'error').find((n) => /Out of memory/i.test(n.message)), 'the out-of-memory notification', 10_000);
      assert.equal(edits.changes.length, 0, 'no edit from the failed request');
      const pid = (t.engine.engineClient as Pid).workerPid;
      const next = await t.fill.run({ uri: doc.uri.toString(), line: 2 });
      assert.ok(['applied', 'empty'].includes(next.status), `the next request works: ${next.status} ${next.message ?? ''}`);
      assert.equal((t.engine.engineClient as Pid).workerPid, pid, 'on the same worker');
      edits.dispose();
      assertFigure({
        area: 'Faults', check: 'in the editor: an ORT "Failed to allocate memory" during a Fill Block decode (injected)',
        figure: `error notification "${notice.message.slice(0, 60)}…"; no edit; the next fill ran on the same worker: ${next.status}`,
        bound: 'clear message, usable after', holds: true,
      });
    } finally {
      delete process.env.DLLM_TEST_FAULT;
      await setSetting('enable', undefined);
      await t.engine.restart();
    }
  });
});
