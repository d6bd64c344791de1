// Faults through EngineClient and the real worker: a worker killed mid-decode restarts and the next request works;
// an execution provider that cannot start falls back to the CPU and says why; an ORT out-of-memory error becomes
// OUT_OF_MEMORY and the engine stays usable.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Engine } from '../../../src/engine/engine';
import { EngineError, toEngineError } from '../../../src/engine/errors';
import type { CompletionRequest, EngineStatus } from '../../../src/engine/protocol';
import { NO_VULKAN_DRIVER, withEnv } from '../support/env';
import { assertFigure, ms } from '../support/figures';
import { MODEL_DIR, SHORT_PROMPTS, disposeClients, makeClient, skipWithoutModel, sleep } from './helpers';

after(disposeClients);
const skip = skipWithoutModel;

const request = (id: string, over: Partial<CompletionRequest> = {}): CompletionRequest =>
  ({ id, ...SHORT_PROMPTS[2], maxNewTokens: 16, policy: 'r2', ...over });

test('faults: the worker killed mid-decode (SIGKILL) is restarted and the next request works', { skip }, async () => {
  const client = await makeClient();
  await client.complete(request('warm'));
  const statuses: EngineStatus[] = [];
  client.onStatus((s) => statuses.push(s));
  const rounds: Array<{ rejectMs: number; respawnMs: number; nextMs: number }> = [];
  for (let round = 0; round < 3; round++) {
    const pid = client.workerPid!;
    let killedAt = 0;
    const inFlight = client.complete(request(`kill-${round}`, { policy: 'llada', maxNewTokens: 32 }), (e) => {
      if (e.step === 2 && !killedAt) { killedAt = performance.now(); process.kill(pid, 'SIGKILL'); }
    });
    const err = await inFlight.then(() => undefined, (e: unknown) => e);
    const rejectMs = performance.now() - killedAt;
    assert.ok(killedAt > 0, 'killed during the decode');
    assert.ok(err instanceof EngineError && err.code === 'WORKER_CRASHED', `rejected with WORKER_CRASHED: ${String(err)}`);
    assert.match(err.message, /SIGKILL/);
    for (let i = 0; i < 100 && !(client.workerPid && client.workerPid !== pid); i++) await sleep(10);
    const respawnMs = performance.now() - killedAt;
    assert.ok(client.workerPid && client.workerPid !== pid, 'a new worker process was started');
    const next = await client.complete(request(`after-${round}`));
    const nextMs = performance.now() - killedAt;
    assert.equal(next.cancelled, false);
    assert.ok(next.metrics.nfe > 0);
    rounds.push({ rejectMs, respawnMs, nextMs });
  }
  assert.equal(client.status().restarts, 3);
  assert.ok(statuses.some((s) => s.state === 'error' && s.errorCode === 'WORKER_CRASHED' && /Restarting/.test(s.error ?? '')),
    'status reports the crash');
  const worst = (k: 'rejectMs' | 'respawnMs' | 'nextMs') => Math.max(...rounds.map((r) => r[k]));
  assertFigure({
    area: 'Faults', check: 'worker SIGKILLed mid-decode (3 times): request rejected (WORKER_CRASHED) → new worker → next completion done',
    figure: `worst ${ms(worst('rejectMs'), 0)} → ${ms(worst('respawnMs'), 0)} → ${ms(worst('nextMs'), 0)} (model reload included); 3/3 recovered`,
    bound: 'next completion works, < 10 s', holds: rounds.length === 3 && worst('nextMs') < 10_000,
    values: { rounds: JSON.stringify(rounds) },
  });
});

test('faults: past the restart limit (maxRestarts a minute) the worker is not respawned until the next request', { skip }, async () => {
  const client = await makeClient({ maxRestarts: 1, restartWindowMs: 60_000 });
  await client.complete(request('w'));
  const first = client.workerPid!;
  process.kill(first, 'SIGKILL');
  for (let i = 0; i < 200 && client.workerPid === first; i++) await sleep(10);
  const second = client.workerPid;
  assert.ok(second !== undefined && second !== first, 'restarted once');
  await sleep(100);
  process.kill(second, 'SIGKILL');
  for (let i = 0; i < 200 && client.workerPid === second; i++) await sleep(10);
  assert.equal(client.workerPid, undefined, 'no automatic restart past the limit');
  assert.match(client.status().error ?? '', /restarts on the next request/);
  const r = await client.complete(request('after-limit'));
  assert.equal(r.cancelled, false);
});

// WebGPU is made unable to start whatever this machine has (lavapipe's variables, a real GPU): the worker sees no
// Vulkan driver. CUDA is not in the Linux build.
for (const ep of ['webgpu', 'cuda'] as const) {
  test(`faults: execution provider ${ep} that cannot start falls back to the CPU with a reason`, { skip }, async () => {
    const client = await makeClient({ executionProvider: ep });
    const t0 = performance.now();
    // the worker process is forked by the first request and inherits the environment then
    const r = await withEnv(ep === 'webgpu' ? NO_VULKAN_DRIVER : {}, () => client.complete(request(`ep-${ep}`)));
    const firstMs = performance.now() - t0;
    const s = client.status();
    assert.equal(r.cancelled, false);
    assert.equal(r.metrics.executionProvider, 'cpu');
    assert.equal(s.requestedExecutionProvider, ep);
    assert.ok((s.fallbackReason ?? '').length > 10, 'a reason is given');
    assertFigure({
      area: 'Faults', check: `dllm.executionProvider "${ep}" where it cannot start (${ep === 'webgpu' ? 'no Vulkan driver visible: no adapter' : 'not in the Linux build'})`,
      figure: `runs on ${s.executionProvider}: "${(s.fallbackReason ?? '').slice(0, 140)}"; first completion ${ms(firstMs, 0)}`,
      bound: 'CPU + reason', holds: s.executionProvider === 'cpu' && Boolean(s.fallbackReason),
      values: { ep, fallbackReason: s.fallbackReason ?? null, firstMs },
    });
  });
}

test('faults: onnxruntime\'s allocation failure message maps to OUT_OF_MEMORY', () => {
  const ortMessage = "Non-zero status code returned while running MatMulInteger node. Name:'/h.0/attn/MatMul' Status Message: " +
    '/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, ' +
    'onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 4294967296';
  for (const message of [ortMessage, 'CUDA failure 2: out of memory', 'std::bad_alloc', 'Array buffer allocation failed']) {
    assert.equal(toEngineError(new Error(message)).code, 'OUT_OF_MEMORY', message);
  }
  assert.equal(toEngineError(new Error('Invalid rank for input: input_ids')).code, 'INTERNAL');
});

test('faults: an ORT out-of-memory error mid-decode is caught (in-process and across the worker); the engine stays usable', { skip }, async () => {
  const saved = process.env.DLLM_TEST_FAULT;
  process.env.DLLM_TEST_FAULT = 'ort-oom:1';
  try {
    const engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
    const err = await engine.complete(request('oom-1')).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EngineError && err.code === 'OUT_OF_MEMORY', String(err));
    assert.match(err.message, /Out of memory/);
    const ok = await engine.complete(request('oom-2'));
    assert.equal(ok.cancelled, false);
    await engine.dispose();

    const client = await makeClient(); // the worker inherits DLLM_TEST_FAULT when it is spawned
    const t0 = performance.now();
    const viaWorker = await client.complete(request('oom-3')).then(() => undefined, (e: unknown) => e);
    const failMs = performance.now() - t0;
    const pid = client.workerPid;
    assert.ok(viaWorker instanceof EngineError && viaWorker.code === 'OUT_OF_MEMORY', String(viaWorker));
    const after = await client.complete(request('oom-4'));
    assert.equal(after.cancelled, false);
    assert.equal(client.workerPid, pid, 'the worker survived');
    assertFigure({
      area: 'Faults', check: 'ORT "Failed to allocate memory" thrown by a forward pass (injected), in-process and in the worker',
      figure: `EngineError OUT_OF_MEMORY (${ms(failMs, 0)} incl. load); next request works, same worker`,
      bound: 'OUT_OF_MEMORY, engine usable', holds: true,
    });
  } finally {
    if (saved === undefined) delete process.env.DLLM_TEST_FAULT;
    else process.env.DLLM_TEST_FAULT = saved;
  }
});
