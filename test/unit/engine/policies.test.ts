import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_THRESHOLDS, defaultDecodeOptions } from '../../../src/engine/defaults';
import { EngineError } from '../../../src/engine/errors';
import { policySpec, policyStep, type StepContext } from '../../../src/engine/policies';
import { TemporalState } from '../../../src/engine/rules/temporal';
import type { PositionStats } from '../../../src/engine/stats';
import { MASK, blockTokens, exact, statsOf } from './helpers';

function context(tokens: Int32Array, stats: PositionStats[], extra: Partial<StepContext> = {}): StepContext {
  return {
    tokens, maskId: MASK, stats, firstPass: false, quota: 1, queryMasked: 0, queryLength: 0,
    temporal: new TemporalState(tokens.length), offset: 0, ...extra,
  };
}

const step = (policy: string, ctx: StepContext, th = DEFAULT_THRESHOLDS) => {
  const options = defaultDecodeOptions('r2');
  return policyStep(policySpec(policy, options), th, options, ctx);
};

test('policies: unknown names are an UNKNOWN_POLICY EngineError listing the known ones', () => {
  assert.throws(() => policySpec('greedy', { baseRule: 'threshold' }),
    (e: unknown) => e instanceof EngineError && e.code === 'UNKNOWN_POLICY' && /fast-dllm/.test(e.message));
});

test('policies: factor base when asked; streaming variants use the dynamic threshold', () => {
  assert.equal(policySpec('fast-dllm', { baseRule: 'factor' }).base, 'factor');
  assert.equal(policySpec('r2', { baseRule: 'threshold' }).base, 'threshold');
  assert.deepEqual(policySpec('r2+streaming', { baseRule: 'threshold' }),
    { name: 'r2+streaming', base: 'dynamic-threshold', r2: true, streaming: true });
});

test('llada: exactly the quota per step, most confident first', () => {
  const tokens = blockTokens(['m', 'm', 'm', 'm']);
  const commits = step('llada', context(tokens, exact([[5, 0.99], [6, 0.95], [7, 0.3], [8, 0.2]]), { quota: 1 }));
  assert.deepEqual(commits.map((c) => c.index), [0]);
  assert.deepEqual([...tokens], [5, MASK, MASK, MASK]);
});

test('fast-dllm: threshold only, no R² extras', () => {
  const tokens = blockTokens(['m', 'm', 'm', 'm']);
  // window [1,4) would qualify for the confidence cluster, but fast-dllm has none
  const commits = step('fast-dllm', context(tokens, exact([[5, 0.95], [6, 0.85], [7, 0.85], [8, 0.85]])));
  assert.deepEqual(commits.map((c) => [c.index, c.rule]), [[0, 'threshold']]);
});

test('r2: rules run in the reference order and each sees the state left by the previous', () => {
  // block of 8. A: position 0 (0.95 ≥ 0.9).
  // B: window [0,3) has 1 decoded (pos 0), masks 1,2 mean 0.85 ≥ 0.8 → 1,2; window [1,4) has masks 1,2,3 mean 0.7 → no.
  // C: positions 4,5 predict token 7 (0.85, 0.6) → run, max 0.85 > 0.8 → commits 4 only.
  // D: position 7 has had token 9 for two earlier passes; third pass at 0.82 → temporal.
  const stats = exact([[1, 0.95], [2, 0.85], [3, 0.85], [4, 0.4], [7, 0.85], [7, 0.6], [8, 0.1], [9, 0.82]]);
  const ctx = context(blockTokens(Array(8).fill('m')), stats);
  ctx.temporal.lastId[7] = 9;
  ctx.temporal.count[7] = 2;
  const commits = step('r2', ctx);
  assert.deepEqual(commits.map((c) => [c.index, c.rule]), [
    [0, 'threshold'], [1, 'confidence-cluster'], [2, 'confidence-cluster'], [4, 'token-cluster'], [7, 'temporal'],
  ]);
  assert.deepEqual([...ctx.tokens], [1, 2, 3, MASK, 7, MASK, MASK, 9]);
  // the streaks of positions committed by A/B/C were reset; survivors count this pass
  assert.equal(ctx.temporal.count[0], 0);
  assert.equal(ctx.temporal.count[3], 1);
});

test('r2: a base commit can disqualify a confidence window (u_max is checked after the base rule)', () => {
  // positions 0 and 2 pass τ; window [0,3) then has 2 decoded > u_max = 1 even though 1 alone is confident
  const stats = exact([[1, 0.95], [2, 0.85], [3, 0.95], [4, 0.1], [5, 0.1]]);
  const commits = step('r2', context(blockTokens(Array(5).fill('m')), stats));
  assert.deepEqual(commits.map((c) => c.index), [0, 2]);
});

test('r2: token cluster acts on the state after the confidence cluster', () => {
  // A commits 0; B's window [0,3) (1 decoded, masks 1,2 mean 0.85) takes the token-7 run, so C finds no run left
  const stats = exact([[5, 0.95], [7, 0.85], [7, 0.85], [6, 0.1]]);
  const commits = step('r2', context(blockTokens(Array(4).fill('m')), stats));
  assert.deepEqual(commits.map((c) => [c.index, c.rule]), [
    [0, 'threshold'], [1, 'confidence-cluster'], [2, 'confidence-cluster'],
  ]);
});

test('r2: temporal K = 3 counts from the refresh pass and fires on the third pass', () => {
  const tokens = blockTokens(['m', 'm']);
  const temporal = new TemporalState(2);
  const passStats = [0.5, 0.6, 0.85].map((p) => exact([[3, 0.99], [4, p]]));
  const rulesPerPass = passStats.map((stats, pass) => {
    tokens[0] = MASK; // keep a second, very confident position so the fallback never takes position 1
    return step('r2', context(tokens, stats, { firstPass: pass === 0, temporal })).map((c) => `${c.index}:${c.rule}`);
  });
  assert.deepEqual(rulesPerPass, [['0:threshold'], ['0:threshold'], ['0:threshold', '1:temporal']]);
});

test('streaming: the refresh pass uses τ0, later passes the dynamic threshold over the whole query', () => {
  const stats = exact([[5, 0.86], [6, 0.2]]);
  // 2-token block + 30 suffix masks: r_mask = 31/32 → τ = 0.9·(1 − 0.3/32) = 0.8916 → 0.86 fails, fallback commits it
  const late = step('streaming', context(blockTokens(['m', 'm']), stats, { queryMasked: 31, queryLength: 32 }));
  assert.deepEqual(late.map((c) => c.rule), ['fallback-best']);
  // nearly empty query masks: r_mask = 1/4 → τ = 0.9·(1 − 0.3·0.75) = 0.6975 → 0.86 passes as dynamic-threshold
  const low = step('streaming', context(blockTokens(['m', 'm']), stats, { queryMasked: 1, queryLength: 4 }));
  assert.deepEqual(low.map((c) => c.rule), ['dynamic-threshold']);
  const first = step('streaming', context(blockTokens(['m', 'm']), stats,
    { firstPass: true, queryMasked: 1, queryLength: 4 }));
  assert.deepEqual(first.map((c) => c.rule), ['fallback-best']);
});

test('r2+streaming: R² rules run on top of the dynamic base threshold', () => {
  const stats = exact([[5, 0.86], [6, 0.85], [7, 0.8], [8, 0.1]]);
  const commits = step('r2+streaming', context(blockTokens(['m', 'm', 'm', 'm']), stats,
    { queryMasked: 1, queryLength: 4 }));
  assert.deepEqual(commits.map((c) => [c.index, c.rule]), [
    [0, 'dynamic-threshold'], [1, 'dynamic-threshold'], [2, 'dynamic-threshold'],
  ]);
});

test('hand-built logits drive a whole r2 step', () => {
  const stats = statsOf([[11, 0.97], [12, 0.88], [12, 0.83], [13, 0.2]]);
  const commits = step('r2', context(blockTokens(['m', 'm', 'm', 'm']), stats));
  // A: 0. B: window [0,3) has 1 decoded, masks 1,2 mean 0.855 → 1, 2.
  assert.deepEqual(commits.map((c) => c.index), [0, 1, 2]);
});
