import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, type DecodeModel } from '../../../src/engine/decoder';
import { DEFAULT_THRESHOLDS, defaultDecodeOptions } from '../../../src/engine/defaults';
import { checkFillSpec, groupHoles } from '../../../src/engine/fill';
import { answerIds, decodeJoint, type JointRegion } from '../../../src/engine/jointDecoder';
import { KvRows } from '../../../src/engine/kvcache';
import { policySpec } from '../../../src/engine/policies';
import type { DecodeOptions, PolicyName } from '../../../src/engine/protocol';
import type { ForwardRequest } from '../../../src/engine/session';

const MASK = 1;
const PAD = 0;
const L = 2, H = 1, D = 2;
const isPad = (id: number) => id === PAD;

/**
 * Stand-in network: position p "wants" target(p); confidence grows with the share of decoded tokens in the query and
 * toward the start of each 32-block. K/V rows hold their position, so a test can read which positions a past covers.
 */
function fakeModel(target: (p: number) => number, opts: { logitShift?: 0 | 1 } = {}) {
  const calls: ForwardRequest[] = [];
  const shift = opts.logitShift ?? 0;
  const model: DecodeModel = {
    maskId: MASK, endId: PAD, logitShift: shift, kvCache: true, nLayers: L, nHeads: H, headDim: D,
    forward: async (req) => {
      calls.push({ ...req, inputIds: [...req.inputIds], positions: [...req.positions] });
      const decoded = req.inputIds.filter((t) => t !== MASK).length / req.inputIds.length;
      const stats = req.outputRows.map((row) => {
        const p = req.positions[row] + shift;
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

/** pieces of `pieceLen` context tokens around `holes` masked regions: [ctx M×n ctx M×n … ctx]. */
function layout(holes: number[], pieceLen = 8) {
  const ids: number[] = [];
  const regions: JointRegion[] = [];
  for (let p = 0; p < pieceLen; p++) ids.push(100 + p);
  for (const n of holes) {
    regions.push({ start: ids.length, end: ids.length + n });
    for (let i = 0; i < n; i++) ids.push(MASK);
    for (let p = 0; p < pieceLen; p++) ids.push(100 + ids.length);
  }
  return { sequence: Int32Array.from(ids), regions };
}

const positionsOfPast = (past: KvRows) => {
  const out: number[] = [];
  for (let r = 0; r < past.length; r++) out.push(past.keys[r * D]); // layer 0, head 0
  return out;
};

async function joint(policy: PolicyName, holes: number[], options: Partial<DecodeOptions> = {},
  target: (p: number) => number = (p) => 300 + p, extra: { logitShift?: 0 | 1; cancelAfter?: number } = {}) {
  const { sequence, regions } = layout(holes);
  const { model, calls } = fakeModel(target, { logitShift: extra.logitShift });
  const opts = { ...defaultDecodeOptions(policy), ...options };
  let steps = 0;
  const stepInfos: { active: number[]; fullPass: boolean }[] = [];
  const outcome = await decodeJoint(model, {
    sequence, regions, spec: policySpec(policy, opts), thresholds: DEFAULT_THRESHOLDS, options: opts,
    onStep: (info) => { steps++; stepInfos.push({ active: info.active, fullPass: info.fullPass }); },
    isCancelled: () => extra.cancelAfter !== undefined && steps >= extra.cancelAfter,
  });
  return { outcome, calls, regions, sequence, stepInfos };
}

/** The same regions filled one after another with the single-region decoder (later holes still masked). */
async function sequential(policy: PolicyName, holes: number[], options: Partial<DecodeOptions> = {},
  target: (p: number) => number = (p) => 300 + p) {
  const { sequence, regions } = layout(holes);
  const { model } = fakeModel(target);
  const opts = { ...defaultDecodeOptions(policy), ...options };
  let nfe = 0;
  for (const r of regions) {
    const out = await decode(model, {
      sequence, canvasStart: r.start, canvasEnd: r.end, spec: policySpec(policy, opts), thresholds: DEFAULT_THRESHOLDS, options: opts,
    });
    nfe += out.nfe;
  }
  return { nfe, sequence };
}

test('joint decoder: every region is decoded at its true positions', async () => {
  const { outcome, regions } = await joint('fast-dllm', [12, 20, 9]);
  for (const [k, r] of regions.entries()) {
    assert.deepEqual([...outcome.regions[k].tokens], Array.from({ length: r.end - r.start }, (_, i) => 300 + r.start + i));
    assert.equal(outcome.regions[k].stopReason, 'complete');
  }
  assert.equal(outcome.stopReason, 'complete');
});

test('joint decoder: llada commits one token per region per step, so NFE is the longest region, not the sum', async () => {
  const { outcome } = await joint('llada', [10, 16, 6], { blockSize: 32 });
  assert.equal(outcome.nfe, 16);
  assert.equal(outcome.commits.length, 32);
  // Steps 1-6 commit in all three regions, 7-10 in two, 11-16 in one.
  assert.deepEqual(outcome.commitsPerStep, [...new Array(6).fill(3), ...new Array(4).fill(2), ...new Array(6).fill(1)]);
  assert.deepEqual(outcome.regions.map((r) => r.doneAtStep), [10, 16, 6]);
});

test('joint decoder: fewer forward passes than filling the same regions one after another', async () => {
  for (const policy of ['fast-dllm', 'r2'] as const) {
    const holes = [12, 20, 9];
    const j = await joint(policy, holes);
    const s = await sequential(policy, holes);
    assert.ok(j.outcome.nfe < s.nfe, `${policy}: joint ${j.outcome.nfe} vs sequential ${s.nfe}`);
    assert.deepEqual([...j.sequence], [...s.sequence], `${policy}: same answers`);
  }
});

test('joint decoder: each region is semi-autoregressive over its own blocks', async () => {
  const { outcome } = await joint('r2', [40, 24], { blockSize: 16 });
  const highest = new Map<number, number>();
  for (const c of outcome.commits) {
    const block = Math.floor(c.index / 16);
    assert.ok(block >= (highest.get(c.region) ?? -1), `region ${c.region}: commit at ${c.index} after a later block`);
    highest.set(c.region, block);
  }
});

test('joint decoder: each region ends on its own end token; with stopWhenAnswerFinal it stops there', async () => {
  const holes = [16, 16];
  const { regions } = layout(holes);
  // Region 0's answer is 3 tokens then PAD; region 1's is 12 tokens then PAD.
  const target = (p: number) => {
    if (p >= regions[0].start && p < regions[0].end) return p - regions[0].start < 3 ? 500 + p : PAD;
    if (p >= regions[1].start && p < regions[1].end) return p - regions[1].start < 12 ? 600 + p : PAD;
    return 7;
  };
  const full = await joint('llada', holes, { blockSize: 32 }, target);
  assert.deepEqual(answerIds(full.outcome.regions[0].tokens, isPad, MASK), [0, 1, 2].map((i) => 500 + regions[0].start + i));
  assert.equal(answerIds(full.outcome.regions[1].tokens, isPad, MASK).length, 12);
  const early = await joint('llada', holes, { blockSize: 32, stopWhenAnswerFinal: true }, target);
  assert.equal(early.outcome.regions[0].stopReason, 'answer-final');
  assert.equal(early.outcome.regions[0].doneAtStep, 4, 'llada commits left to right: 3 tokens, then the PAD');
  assert.equal(early.outcome.regions[1].doneAtStep, 13);
  assert.equal(early.outcome.nfe, 13);
  assert.deepEqual(answerIds(early.outcome.regions[1].tokens, isPad, MASK), answerIds(full.outcome.regions[1].tokens, isPad, MASK));
  assert.ok(early.stepInfos.slice(4).every((s) => !s.active.includes(0)), 'region 0 is not decoded after it ended');
});

test('joint decoder: dual cache — a full pass when any region enters a block, then only the active blocks are fed', async () => {
  const { calls, sequence, stepInfos } = await joint('fast-dllm', [20, 40], { blockSize: 16, cache: 'dual' });
  assert.equal(calls[0].inputIds.length, sequence.length);
  assert.ok(stepInfos[0].fullPass);
  let cached = 0;
  for (const call of calls) {
    if (call.past.length === 0) {
      assert.equal(call.inputIds.length, sequence.length, 'a pass without past feeds everything');
      continue;
    }
    cached++;
    const pastPositions = positionsOfPast(call.past as KvRows);
    const all = [...pastPositions, ...call.positions].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: sequence.length }, (_, i) => i), 'past + query cover each position once');
    assert.ok(call.positions.length < sequence.length / 2, 'a cached pass feeds only the active blocks');
  }
  assert.ok(cached > 0, 'some passes used the cache');
  // Full passes = first step + each block change of any region: region 0 has 2 blocks, region 1 has 3.
  const full = stepInfos.filter((s) => s.fullPass).length;
  assert.ok(full >= 2 && full <= 4, `full passes ${full}`);
});

test('joint decoder: with no cache every pass feeds the whole sequence', async () => {
  const { calls, sequence } = await joint('fast-dllm', [20, 10], { cache: 'none' });
  assert.ok(calls.every((c) => c.inputIds.length === sequence.length && c.past.length === 0));
});

test('joint decoder: a logit shift reads each position from the row before it', async () => {
  const { outcome, regions } = await joint('fast-dllm', [10, 10], {}, (p) => 300 + p, { logitShift: 1 });
  for (const [k, r] of regions.entries()) {
    assert.deepEqual([...outcome.regions[k].tokens], Array.from({ length: 10 }, (_, i) => 300 + r.start + i));
  }
});

test('joint decoder: streaming ends a region early when a finished block holds the end token', async () => {
  const holes = [40, 40];
  const { regions } = layout(holes);
  const target = (p: number) => (p >= regions[0].start && p < regions[0].start + 8 ? 500 : p >= regions[0].start && p < regions[0].end ? PAD : 600);
  const { outcome } = await joint('streaming', holes, { blockSize: 16 }, target);
  assert.equal(outcome.regions[0].stopReason, 'early-exit');
  assert.ok([...outcome.regions[0].tokens.slice(16)].every((t) => t === PAD));
  assert.equal(outcome.regions[1].stopReason, 'complete');
});

test('joint decoder: cancel stops before the next pass', async () => {
  const { outcome } = await joint('llada', [20, 20], {}, undefined, { cancelAfter: 3 });
  assert.equal(outcome.nfe, 3);
  assert.equal(outcome.stopReason, 'cancelled');
});

test('joint decoder: regions must be in order and disjoint', async () => {
  const { model } = fakeModel(() => 5);
  const opts = defaultDecodeOptions('r2');
  await assert.rejects(decodeJoint(model, {
    sequence: new Int32Array(20).fill(MASK), regions: [{ start: 5, end: 10 }, { start: 8, end: 12 }],
    spec: policySpec('r2', opts), thresholds: DEFAULT_THRESHOLDS, options: opts,
  }), /disjoint/);
});

test('groupHoles: all holes in one group when they fit; otherwise neighbours with the least code between merge first', () => {
  assert.deepEqual(groupHoles([10, 10, 10], [50, 50], 512), [[0, 1, 2]]);
  // window 200: each span must leave 64 for context (136 for holes and code between).
  assert.deepEqual(groupHoles([20, 20, 20, 20], [100, 10, 100], 200), [[0], [1, 2], [3]]);
  assert.deepEqual(groupHoles([20, 20, 20], [5, 5], 200), [[0, 1, 2]]);
  assert.deepEqual(groupHoles([60, 60, 60], [1, 1], 200), [[0, 1], [2]]);
  assert.deepEqual(groupHoles([100], [], 200), [[0]]);
});

test('checkFillSpec: one size per hole, bounded by the window; clear errors', () => {
  assert.deepEqual(checkFillSpec({ pieces: ['a', 'b', 'c'] }, 48, 512), [48, 48]);
  assert.deepEqual(checkFillSpec({ pieces: ['a', 'b'], holeTokens: [7] }, 48, 512), [7]);
  assert.throws(() => checkFillSpec({ pieces: ['a'] }, 48, 512), /at least two/);
  assert.throws(() => checkFillSpec({ pieces: ['a', 'b', 'c'], holeTokens: [5] }, 48, 512), /one size per hole/);
  assert.throws(() => checkFillSpec({ pieces: ['a', 'b'], holeTokens: [500] }, 48, 512), /from 1 to 448/);
  assert.throws(() => checkFillSpec({ pieces: ['a', 'b'], mode: 'parallel' as never }, 48, 512), /fill.mode/);
});

test('joint decoder: any of the model\'s end ids ends a region (EOS as well as PAD)', async () => {
  const EOS = 9;
  const holes = [12, 12];
  const { sequence, regions } = layout(holes);
  const target = (p: number) => (p === regions[0].start + 3 ? EOS : p >= regions[1].start + 5 && p < regions[1].end ? PAD : 400 + p);
  const { model } = fakeModel(target);
  const withEos: DecodeModel = { ...model, endIds: [PAD, EOS] };
  const opts = { ...defaultDecodeOptions('llada'), stopWhenAnswerFinal: true };
  const outcome = await decodeJoint(withEos, { sequence, regions, spec: policySpec('llada', opts), thresholds: DEFAULT_THRESHOLDS, options: opts });
  const isEnd = (id: number) => id === PAD || id === EOS;
  assert.equal(answerIds(outcome.regions[0].tokens, isEnd, MASK).length, 3);
  assert.equal(outcome.regions[0].stopReason, 'answer-final');
  assert.equal(outcome.regions[0].doneAtStep, 4);
  assert.equal(answerIds(outcome.regions[1].tokens, isEnd, MASK).length, 5);
});

test('joint decoder: a block-causal model is refused (it fills regions in order instead)', async () => {
  const { model } = fakeModel(() => 5);
  const opts = defaultDecodeOptions('r2');
  const { sequence, regions } = layout([8, 8]);
  await assert.rejects(decodeJoint({ ...model, attention: 'block-causal' }, {
    sequence, regions, spec: policySpec('r2', opts), thresholds: DEFAULT_THRESHOLDS, options: opts,
  }), /bidirectional/);
});
