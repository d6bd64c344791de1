// EngineClient against the real worker bundle and model: isolation, one request per editor, cancel, crash restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { EngineClient } from '../../../src/engine/client';
import { EngineError } from '../../../src/engine/errors';
import type { CompletionRequest, EngineStatus } from '../../../src/engine/protocol';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

const skip = HAVE_MODEL ? false : NO_MODEL_REASON;
let workerPath = path.join(REPO_ROOT, 'dist', 'worker.js');

before(async () => {
  // Use the bundle when `npm run build` made one; otherwise bundle the worker for this run.
  if (fs.existsSync(workerPath)) return;
  workerPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-worker-')), 'worker.js');
  await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, 'src', 'engine', 'worker.ts')], outfile: workerPath, bundle: true,
    platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], logLevel: 'warning',
    nodePaths: [path.join(REPO_ROOT, 'node_modules')],
  });
});

const clients: EngineClient[] = [];
after(() => Promise.all(clients.map((c) => c.dispose())));

function client(over: Partial<ConstructorParameters<typeof EngineClient>[0]> = {}) {
  const c = new EngineClient({ workerPath, modelDir: MODEL_DIR, executionProvider: 'cpu', ...over });
  clients.push(c);
  return c;
}

const request = (id: string, over: Partial<CompletionRequest> = {}): CompletionRequest =>
  ({ id, ...SAMPLE, maxNewTokens: 24, policy: 'r2', ...over });

for (const isolation of ['process', 'thread'] as const) {
  test(`client (${isolation}): completes with step events, and status goes loading → ready`, { skip }, async () => {
    const c = client({ isolation });
    const states: string[] = [];
    c.onStatus((s) => states.push(s.state));
    let steps = 0;
    const r = await c.complete(request('a'), () => { steps++; });
    assert.equal(r.cancelled, false);
    assert.equal(steps, r.metrics.nfe);
    assert.ok(states.includes('loading') && states.at(-1) === 'ready', states.join(' → '));
    assert.equal(c.status().executionProvider, 'cpu');
  });
}

test('client: a new request on the same editor cancels the one in flight', { skip }, async () => {
  const c = client();
  const first = c.complete(request('1', { editorKey: 'file:///a.ts', policy: 'llada' }));
  const second = c.complete(request('2', { editorKey: 'file:///a.ts' }));
  const other = c.complete(request('3', { editorKey: 'file:///b.ts' }));
  const [r1, r2, r3] = await Promise.all([first, second, other]);
  assert.equal(r1.cancelled, true);
  assert.ok(r1.metrics.nfe < 24, 'stopped early');
  assert.equal(r2.cancelled, false);
  assert.equal(r3.cancelled, false, 'other editors are not affected');
});

test('client: cancel(id) resolves the request as cancelled; no forward pass starts after it arrives', { skip }, async () => {
  const c = client();
  let steps = 0;
  const p = c.complete(request('c', { policy: 'llada' }), () => {
    steps++;
    if (steps === 2) c.cancel('c');
  });
  const r = await p;
  assert.equal(r.cancelled, true);
  // The cancel is sent after step 2's event reaches the client; the worker may already have started pass 3
  // by the time it arrives, but never starts another one after that.
  assert.ok(r.metrics.nfe <= 3, `nfe ${r.metrics.nfe}`);
});

test('client: a queued request cancelled before it starts resolves as cancelled without decoding', { skip }, async () => {
  const c = client();
  const running = c.complete(request('q1', { editorKey: 'x', policy: 'llada' }));
  const queued = c.complete(request('q2', { editorKey: 'y' }));
  c.cancel('q2');
  const [r1, r2] = await Promise.all([running, queued]);
  assert.equal(r1.cancelled, false);
  assert.deepEqual([r2.cancelled, r2.metrics.nfe, r2.completion], [true, 0, '']);
});

test('client: a missing worker bundle is a clear error, not a crash loop', async () => {
  const c = client({ workerPath: '/nonexistent/worker.js' });
  await assert.rejects(c.complete(request('w')), (e: unknown) => e instanceof EngineError && e.code === 'INTERNAL' && /worker bundle/.test(e.message));
});

test('client: engine errors arrive as EngineError with a stable code', { skip }, async () => {
  const c = client();
  await assert.rejects(c.complete(request('p', { policy: 'nope' as never })), (e: unknown) => e instanceof EngineError && e.code === 'UNKNOWN_POLICY');
  const missing = client({ modelDir: '/nonexistent/model' });
  await assert.rejects(missing.complete(request('m')), (e: unknown) => e instanceof EngineError && e.code === 'MODEL_MISSING');
  assert.equal(missing.status().state, 'error');
  await assert.rejects(c.complete(request('')), (e: unknown) => e instanceof EngineError && e.code === 'BAD_INPUT');
});

test('client: a crashed worker is reported and restarted', { skip }, async () => {
  const c = client();
  await c.complete(request('warm'));
  const statuses: EngineStatus[] = [];
  c.onStatus((s) => statuses.push(s));
  const pid = c.workerPid!;
  const inFlight = c.complete(request('k', { policy: 'llada' }), () => process.kill(pid, 'SIGKILL'));
  await assert.rejects(inFlight, (e: unknown) => e instanceof EngineError && e.code === 'WORKER_CRASHED' && /SIGKILL/.test(e.message));
  assert.ok(statuses.some((s) => s.state === 'error' && s.errorCode === 'WORKER_CRASHED'));
  const r = await c.complete(request('after'));
  assert.equal(r.cancelled, false);
  assert.equal(c.status().restarts, 1);
  assert.notEqual(c.workerPid, pid);
});

test('client: reconfigure switches the model folder; requests in flight resolve as cancelled', { skip }, async () => {
  const c = client();
  const p = c.complete(request('r', { policy: 'llada' }), (e) => { if (e.step === 1) c.reconfigure({ modelDir: MODEL_DIR }); });
  assert.equal((await p).cancelled, true);
  assert.equal((await c.complete(request('r2'))).cancelled, false);
});
