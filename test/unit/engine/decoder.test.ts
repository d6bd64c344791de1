import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCanvas } from '../../../src/engine/canvas';
import { decode, type DecodeModel } from '../../../src/engine/decoder';
import { DEFAULT_THRESHOLDS, defaultDecodeOptions } from '../../../src/engine/defaults';
import { KvRows } from '../../../src/engine/kvcache';
import { policySpec } from '../../../src/engine/policies';
import type { CacheMode, DecodeOptions, PolicyName } from '../../../src/engine/protocol';
import type { ForwardRequest } from '../../../src/engine/session';

const MASK = 1;
const PAD = 0;
const L = 2, H = 1, D = 2;

/**
 * A deterministic stand-in for the network: position p of the sequence "wants" target[p]; its confidence grows with
 * the share of decoded tokens among the query and rises toward the start of the canvas. K/V rows encode the position.
 */
function fakeModel(target: (p: number) => number, opts: { logitShift?: 0 | 1 } = {}) {
  const calls: ForwardRequest[] = [];
  const model: DecodeModel = {
    maskId: MASK, endId: PAD, logitShift: opts.logitShift ?? 0, kvCache: true, nLayers: L, nHeads: H, headDim: D,
    forward: async (req) => {
      calls.push({ ...req, inputIds: [...req.inputIds], positions: [...req.positions] });
      const decoded = req.inputIds.filter((t) => t !== MASK).length / req.inputIds.length;
      const stats = req.outputRows.map((row) => {
        const p = req.positions[row] + (opts.logitShift ?? 0); // the row predicts the next position when shifted
        return { tokenId: target(p), p1: Math.min(0.99, 0.55 + 0.4 * decoded + 0.3 / (1 + (p % 32))), p2: 0, negEntropy: 0 };
      });
      const q = req.inputIds.length;
      const keys = new Float32Array(L * H * q * D);
      for (let lh = 0; lh < L * H; lh++) for (let r = 0; r < q; r++) keys.fill(req.positions[r], (lh * q + r) * D, (lh * q + r + 1) * D);
      return { stats, present: new KvRows(L, H, D, q, keys, keys.slice()) };
    },
  };
  return { model, calls };
}

function setup(canvasLength: number, prefix = 10, suffix = 6) {
  return buildCanvas({
    prefixIds: Array.from({ length: prefix }, (_, i) => 100 + i), suffixIds: Array.from({ length: suffix }, (_, i) => 200 + i),
    canvasLength, maxLength: 512, maskId: MASK, bosId: 2, useBos: false,
  });
}

async function run(policy: PolicyName, canvasLength: number, options: Partial<DecodeOptions> = {},
  target: (p: number) => number = (p) => 300 + p, extra: { logitShift?: 0 | 1; window?: number; cancelAfter?: number } = {}) {
  const layout = setup(canvasLength);
  const { model, calls } = fakeModel(target, { logitShift: extra.logitShift });
  const opts = { ...defaultDecodeOptions(policy), ...options };
  let steps = 0;
  const outcome = await decode(model, {
    sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
    spec: policySpec(policy, opts), thresholds: { ...DEFAULT_THRESHOLDS, streamingSuffixWindow: extra.window ?? 32 }, options: opts,
    onStep: () => { steps++; },
    isCancelled: () => extra.cancelAfter !== undefined && steps >= extra.cancelAfter,
  });
  return { outcome, calls, layout };
}

test('decoder: llada commits one token per step, NFE = canvas length, all positions decoded', async () => {
  const { outcome } = await run('llada', 40);
  assert.equal(outcome.nfe, 40);
  assert.ok(outcome.commitsPerStep.every((n) => n === 1));
  assert.deepEqual([...outcome.canvas], Array.from({ length: 40 }, (_, i) => 300 + 10 + i));
  assert.equal(outcome.stopReason, 'complete');
});

test('decoder: llada with a step budget commits several tokens per step', async () => {
  const { outcome } = await run('llada', 40, { lladaSteps: 10 });
  assert.equal(outcome.nfe, 10);
  assert.equal(outcome.commits.length, 40);
});

test('decoder: blocks are semi-autoregressive (no commit past the current block)', async () => {
  const { outcome } = await run('fast-dllm', 40, { blockSize: 16 });
  let highest = -1;
  for (const c of outcome.commits) {
    const block = Math.floor(c.index / 16);
    assert.ok(block >= highest, `commit at ${c.index} after block ${highest}`);
    highest = block;
  }
});

test('decoder: no cache feeds the whole sequence every pass', async () => {
  const { calls, layout } = await run('fast-dllm', 40, { cache: 'none', blockSize: 16 });
  for (const c of calls) {
    assert.equal(c.inputIds.length, layout.sequence.length);
    assert.equal(c.past.length, 0);
  }
});

test('decoder: dual cache = full refresh pass per block, then the block alone with prefix and suffix K/V', async () => {
  const { calls, layout, outcome } = await run('fast-dllm', 40, { cache: 'dual', blockSize: 16 });
  const N = layout.sequence.length;
  const blocks = [[10, 26], [26, 42], [42, 50]];
  let b = -1;
  for (const c of calls) {
    if (c.past.length === 0) { // refresh pass
      b++;
      assert.equal(c.inputIds.length, N);
      continue;
    }
    const [s, e] = blocks[b];
    assert.deepEqual(c.positions, Array.from({ length: e - s }, (_, i) => s + i));
    assert.equal(c.past.length, N - (e - s));
    // cached rows are exactly the positions outside the block (keys encode positions)
    const cachedPositions = new Set(Array.from({ length: c.past.length }, (_, r) => (c.past as KvRows).keys[r * D]));
    for (let p = 0; p < N; p++) assert.equal(cachedPositions.has(p), p < s || p >= e, `position ${p}`);
  }
  assert.equal(b, 2, 'one refresh pass per block');
  assert.equal(outcome.nfe, calls.length);
});

test('decoder: prefix cache feeds block + everything after it with the prefix K/V', async () => {
  const { calls, layout } = await run('fast-dllm', 40, { cache: 'prefix', blockSize: 16 });
  const N = layout.sequence.length;
  const starts = [10, 26, 42];
  let b = -1;
  for (const c of calls) {
    if (c.past.length === 0) { b++; continue; }
    assert.equal(c.positions[0], starts[b]);
    assert.equal(c.positions.length, N - starts[b]);
    assert.equal(c.past.length, starts[b]);
  }
});

test('decoder: streaming keeps a suffix window plus the tail, with true position ids', async () => {
  const { calls, layout } = await run('streaming', 100, { cache: 'prefix' }, (p) => 300 + p, { window: 8 });
  const first = calls[0];
  const canvasEnd = layout.canvasEnd; // 110; block 0 = [10, 42)
  const expected = [
    ...Array.from({ length: 42 }, (_, i) => i), // prefix + block
    ...Array.from({ length: 8 }, (_, i) => 42 + i), // window
    canvasEnd - 1, // tail
    ...Array.from({ length: 6 }, (_, i) => canvasEnd + i), // the user's suffix stays
  ];
  assert.deepEqual(first.positions, expected);
  const cached = calls[1];
  assert.deepEqual(cached.positions, expected.slice(10));
  assert.equal(cached.past.length, 10);
});

test('decoder: streaming early exit fills the rest with PAD once a finished block holds PAD', async () => {
  const target = (p: number) => (p >= 20 ? PAD : 300 + p);
  const { outcome } = await run('streaming', 100, {}, target);
  assert.equal(outcome.stopReason, 'early-exit');
  assert.deepEqual([...outcome.canvas.slice(0, 10)], Array.from({ length: 10 }, (_, i) => 310 + i));
  assert.ok([...outcome.canvas.slice(10)].every((t) => t === PAD));
  const full = await run('fast-dllm', 100, {}, target);
  assert.ok(outcome.nfe < full.outcome.nfe);
});

test('decoder: a cancel stops before the next forward pass', async () => {
  const { outcome, calls } = await run('llada', 40, {}, undefined, { cancelAfter: 3 });
  assert.equal(outcome.stopReason, 'cancelled');
  assert.equal(calls.length, 3);
  assert.equal(outcome.nfe, 3);
});

test('decoder: logit shift reads row p − 1, and cached passes also feed the token before the block', async () => {
  const { calls, outcome } = await run('fast-dllm', 20, { cache: 'dual', blockSize: 8 }, undefined, { logitShift: 1 });
  assert.deepEqual([...outcome.canvas], Array.from({ length: 20 }, (_, i) => 310 + i));
  const refresh = calls[0];
  assert.deepEqual(refresh.outputRows, Array.from({ length: 8 }, (_, i) => 9 + i));
  const cached = calls.find((c) => c.past.length > 0)!;
  assert.equal(cached.positions[0], 9, 'query starts one before the block');
});

test('decoder: all cache modes give the same tokens on a deterministic model', async () => {
  const results = await Promise.all((['none', 'prefix', 'dual'] as CacheMode[]).map((cache) => run('r2', 60, { cache })));
  for (const r of results) assert.deepEqual([...r.outcome.canvas], [...results[0].outcome.canvas]);
});
