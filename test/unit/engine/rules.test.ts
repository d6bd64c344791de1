import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confidenceClusterRule } from '../../../src/engine/rules/confidenceCluster';
import { factorRule, factorThreshold } from '../../../src/engine/rules/factor';
import { lladaSchedule, lladaStepsPerBlock, lowConfidenceRule } from '../../../src/engine/rules/lowConfidence';
import { blockEndsGeneration, dynamicThreshold, keptSuffixPositions } from '../../../src/engine/rules/streaming';
import { TemporalState, temporalRule } from '../../../src/engine/rules/temporal';
import { thresholdRule } from '../../../src/engine/rules/threshold';
import { tokenClusterRule } from '../../../src/engine/rules/tokenCluster';
import { statsFromLogits } from '../../../src/engine/stats';
import { MASK, blockTokens, exact, indices, logitsRow, statsOf } from './helpers';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---- Fast-dLLM threshold ------------------------------------------------------------------------------------------

test('threshold: commits every candidate with p1 ≥ τ, labelled "threshold"', () => {
  const stats = statsOf([[5, 0.95], [6, 0.5], [7, 0.92], [8, 0.3]]);
  const commits = thresholdRule(stats, all(4), 0.9);
  assert.deepEqual(indices(commits), [0, 2]);
  assert.deepEqual(commits.map((c) => c.rule), ['threshold', 'threshold']);
  assert.deepEqual(commits.map((c) => c.tokenId), [5, 7]);
});

test('threshold: p1 exactly at τ is committed (≥), the next float below is not', () => {
  const stats = statsOf([[4, 0.9], [4, 0.95]]);
  const tau = stats[0].p1; // τ equal to the confidence computed from the logits
  assert.deepEqual(indices(thresholdRule(stats, all(2), tau)), [0, 1]);
  const justAbove = tau + Number.EPSILON;
  assert.deepEqual(indices(thresholdRule(stats, all(2), justAbove)), [1]);
  assert.deepEqual(indices(thresholdRule(exact([[4, 0.9], [4, 0.1]]), all(2), 0.9)), [0]);
});

test('threshold: with nothing above τ, the single most confident candidate is committed as fallback-best', () => {
  const stats = statsOf([[1, 0.4], [2, 0.7], [3, 0.6]]);
  const commits = thresholdRule(stats, all(3), 0.9);
  assert.deepEqual(commits.map((c) => [c.index, c.rule]), [[1, 'fallback-best']]);
});

test('threshold: the fallback picks the lowest index among equal confidences; only candidates count', () => {
  const stats = exact([[1, 0.99], [2, 0.5], [3, 0.5]]);
  assert.deepEqual(indices(thresholdRule(stats, [1, 2], 0.9)), [1]);
  assert.deepEqual(thresholdRule(stats, [], 0.9), []);
});

// ---- Fast-dLLM factor ----------------------------------------------------------------------------------------------

test('factor: thresholds are 1 − f/(k+1) from the second token (f = 1: 0.667, 0.75, 0.8, …, 0.9 for the 9th)', () => {
  assert.equal(factorThreshold(1, 1), -Infinity);
  assert.ok(Math.abs(factorThreshold(2, 1) - 2 / 3) < 1e-12);
  assert.equal(factorThreshold(3, 1), 0.75);
  assert.ok(Math.abs(factorThreshold(9, 1) - 0.9) < 1e-12);
});

test('factor: accepts the longest confident prefix of the sorted candidates', () => {
  const stats = statsOf([[1, 0.7], [2, 0.95], [3, 0.5], [4, 0.76]]);
  // sorted: 0.95 (k=1, always), 0.76 ≥ 0.667 (k=2), 0.7 < 0.75 (k=3) → stop
  assert.deepEqual(indices(factorRule(stats, all(4), 1)), [1, 3]);
});

test('factor: a value exactly at 1 − f/(k+1) is accepted; the first is accepted however low', () => {
  const stats = exact([[1, 0.99], [2, 0.98], [3, factorThreshold(3, 1)], [4, 0.1]]);
  assert.deepEqual(indices(factorRule(stats, all(4), 1)), [0, 1, 2]);
  assert.deepEqual(indices(factorRule(exact([[1, 0.2], [2, 0.1]]), all(2), 1)), [0]);
});

test('factor: the reference quirk (commit the last-ranked even when it fails) is not reproduced', () => {
  const stats = exact([[1, 0.99], [2, 0.98], [3, 0.1]]);
  assert.deepEqual(indices(factorRule(stats, all(3), 1)), [0, 1]);
});

// ---- LLaDA low-confidence ------------------------------------------------------------------------------------------

test('llada schedule: linear, sums to the masks, front-loads the remainder', () => {
  assert.deepEqual(lladaSchedule(10, 4), [3, 3, 2, 2]);
  assert.deepEqual(lladaSchedule(32, 32), Array(32).fill(1));
  assert.deepEqual(lladaSchedule(16, 4), [4, 4, 4, 4]);
  assert.throws(() => lladaSchedule(4, 0), RangeError);
});

test('llada steps per block: proportional, one token per step by default, at least one per block', () => {
  assert.deepEqual(lladaStepsPerBlock([32, 16], 48), [32, 16]);
  assert.deepEqual(lladaStepsPerBlock([32, 16], 24), [16, 8]);
  assert.deepEqual(lladaStepsPerBlock([32, 16], 1), [1, 1]);
  assert.deepEqual(lladaStepsPerBlock([4, 4], 100), [4, 4]);
});

test('llada: commits the k most confident candidates, ties by lowest index', () => {
  const stats = exact([[1, 0.3], [2, 0.8], [3, 0.5], [4, 0.8]]);
  const commits = lowConfidenceRule(stats, all(4), 2);
  assert.deepEqual(indices(commits), [1, 3]);
  assert.ok(commits.every((c) => c.rule === 'llada-topk'));
  assert.deepEqual(indices(lowConfidenceRule(stats, [0, 2], 1)), [2]);
});

// ---- R² confidence cluster -----------------------------------------------------------------------------------------

const cc = { window: 3, tau: 0.8, maxDecoded: 1 };

test('confidence cluster: a window of masks with mean ≥ τs commits all of them', () => {
  const tokens = blockTokens(['m', 'm', 'm', 'm']);
  const stats = statsOf([[5, 0.95], [6, 0.7], [7, 0.8], [8, 0.1]]); // window 0..2: mean 0.8167
  const commits = confidenceClusterRule(tokens, MASK, [true, true, true, true], stats, cc);
  assert.deepEqual(indices(commits), [0, 1, 2]);
  assert.ok(commits.every((c) => c.rule === 'confidence-cluster'));
  assert.deepEqual(commits.map((c) => c.tokenId), [5, 6, 7]);
});

test('confidence cluster: mean exactly at τs is committed (≥); just above τs is not', () => {
  const tokens = blockTokens(['m', 'm', 'm']);
  const stats = exact([[1, 0.875], [2, 0.625], [3, 0.75]]); // mean exactly 0.75
  const cand = [true, true, true];
  assert.deepEqual(indices(confidenceClusterRule(tokens, MASK, cand, stats, { ...cc, tau: 0.75 })), [0, 1, 2]);
  assert.deepEqual(confidenceClusterRule(tokens, MASK, cand, stats, { ...cc, tau: 0.75 + 1e-12 }), []);
});

test('confidence cluster: the mean is over the masked positions; at most u_max decoded tokens in the window', () => {
  const stats = exact([[1, 0.99], [2, 0.85], [3, 0.85], [4, 0.2], [5, 0.2]]);
  // window [0,3) holds one decoded token (u = 1 ≤ u_max) → masks 1, 2 with mean 0.85 commit
  const oneDecoded = blockTokens([9, 'm', 'm', 'm', 'm']);
  assert.deepEqual(indices(confidenceClusterRule(oneDecoded, MASK, [false, true, true, true, true], stats, cc)), [1, 2]);
  // two decoded tokens in every window that contains position 1 → nothing qualifies
  const twoDecoded = blockTokens([9, 'm', 9, 'm', 'm']);
  assert.deepEqual(confidenceClusterRule(twoDecoded, MASK, [false, true, false, true, true], stats, cc), []);
  // u_max = 2 lets it through
  assert.deepEqual(indices(confidenceClusterRule(twoDecoded, MASK, [false, true, false, true, true], stats,
    { ...cc, maxDecoded: 2 })), [1]);
});

test('confidence cluster: all windows see the same state and qualifying windows are unioned', () => {
  const tokens = blockTokens(['m', 'm', 'm', 'm', 'm']);
  const stats = exact([[1, 0.9], [2, 0.9], [3, 0.7], [4, 0.9], [5, 0.9]]);
  // windows: [0,3) 0.833 ✓, [1,4) 0.833 ✓, [2,5) 0.833 ✓ → all five
  assert.deepEqual(indices(confidenceClusterRule(tokens, MASK, Array(5).fill(true), stats, cc)), [0, 1, 2, 3, 4]);
});

test('confidence cluster: a block shorter than the window does nothing; a window of no masks is skipped', () => {
  const stats = exact([[1, 0.99], [2, 0.99]]);
  assert.deepEqual(confidenceClusterRule(blockTokens(['m', 'm']), MASK, [true, true], stats, cc), []);
  assert.deepEqual(confidenceClusterRule(blockTokens([4, 4, 4]), MASK, [false, false, false],
    exact([[1, 1], [1, 1], [1, 1]]), { ...cc, maxDecoded: 3 }), []);
});

// ---- R² token cluster ----------------------------------------------------------------------------------------------

const tc = { minRun: 2, tau: 0.8, pick: 'confidence' as const };

test('token cluster: a run of equal predictions commits only its most confident position', () => {
  const tokens = blockTokens(['m', 'm', 'm', 'm']);
  const stats = statsOf([[7, 0.78], [7, 0.85], [7, 0.72], [3, 0.99]]);
  const commits = tokenClusterRule(tokens, MASK, stats, tc);
  assert.deepEqual(commits.map((c) => [c.index, c.tokenId, c.rule]), [[1, 7, 'token-cluster']]);
});

test('token cluster: the best confidence must be strictly above τs (> not ≥)', () => {
  const tokens = blockTokens(['m', 'm', 'm']);
  const atTau = exact([[7, 0.8], [7, 0.78], [7, 0.72]]);
  assert.deepEqual(tokenClusterRule(tokens, MASK, atTau, tc), []);
  const fromLogits = statsOf([[7, 0.8], [7, 0.78]]);
  assert.deepEqual(tokenClusterRule(blockTokens(['m', 'm']), MASK, fromLogits, { ...tc, tau: fromLogits[0].p1 }), []);
  assert.deepEqual(indices(tokenClusterRule(blockTokens(['m', 'm']), MASK, fromLogits,
    { ...tc, tau: fromLogits[0].p1 - 1e-12 })), [0]);
});

test('token cluster: equal best confidences pick the first; runs shorter than minRun are ignored', () => {
  const stats = exact([[7, 0.9], [7, 0.9], [5, 0.99], [6, 0.95], [6, 0.85]]);
  const commits = tokenClusterRule(blockTokens(['m', 'm', 'm', 'm', 'm']), MASK, stats, tc);
  assert.deepEqual(indices(commits), [0, 3]);
  assert.deepEqual(tokenClusterRule(blockTokens(['m', 'm']), MASK, exact([[7, 0.9], [7, 0.9]]), { ...tc, minRun: 3 }), []);
});

test('token cluster: runs are broken by decoded positions and by different predictions', () => {
  const stats = exact([[7, 0.9], [7, 0.95], [7, 0.9], [7, 0.9], [8, 0.9], [7, 0.9]]);
  // position 1 is decoded: runs are [0] and [2,3]; [4] and [5] are singletons
  const commits = tokenClusterRule(blockTokens(['m', 7, 'm', 'm', 'm', 'm']), MASK, stats, tc);
  assert.deepEqual(indices(commits), [2]);
});

test('token cluster: "mid" picks the middle of the run', () => {
  const stats = exact([[7, 0.99], [7, 0.7], [7, 0.7], [7, 0.7]]);
  assert.deepEqual(indices(tokenClusterRule(blockTokens(['m', 'm', 'm', 'm']), MASK, stats, { ...tc, pick: 'mid' })), [2]);
});

// ---- R² temporal finalization --------------------------------------------------------------------------------------

const tp = { steps: 3, tau: 0.8, evaluate: 'last' as const };

test('temporal: same argmax on 3 consecutive passes and last confidence ≥ τt commits on the 3rd pass', () => {
  const state = new TemporalState(4);
  const tokens = blockTokens(['m']);
  const pass = (p: number) => temporalRule(state, 0, tokens, MASK, [0], statsOf([[9, p]]), tp);
  assert.deepEqual(pass(0.64), []); // count 1 (refresh pass)
  assert.deepEqual(pass(0.73), []); // count 2
  const third = pass(0.81); // count 3, last 0.81 ≥ 0.8
  assert.deepEqual(third.map((c) => [c.index, c.tokenId, c.rule]), [[0, 9, 'temporal']]);
  assert.equal(state.count[0], 0, 'a commit resets the streak');
});

test('temporal: "last" compares only the current confidence, exactly at τt commits', () => {
  const state = new TemporalState(1);
  const tokens = blockTokens(['m']);
  const run = (p: number) => temporalRule(state, 0, tokens, MASK, [0], exact([[9, p]]), tp);
  run(0.1); run(0.2);
  assert.equal(run(0.8).length, 1);
  run(0.99); run(0.99);
  assert.equal(run(0.8 - 1e-12).length, 0, 'below τt: streak continues without commit');
  assert.equal(state.count[0], 3);
});

test('temporal: an argmax change restarts the count', () => {
  const state = new TemporalState(1);
  const tokens = blockTokens(['m']);
  const run = (t: number) => temporalRule(state, 0, tokens, MASK, [0], exact([[t, 0.85]]), tp);
  run(9); run(9);
  assert.equal(run(4).length, 0);
  assert.equal(state.count[0], 1);
  run(4);
  assert.equal(run(4).length, 1);
});

test('temporal: a position committed earlier in the step is reset; offsets index absolute positions', () => {
  const state = new TemporalState(10);
  const stats = exact([[9, 0.85], [9, 0.85]]);
  temporalRule(state, 5, blockTokens(['m', 'm']), MASK, [0, 1], stats, tp);
  temporalRule(state, 5, blockTokens(['m', 'm']), MASK, [0, 1], stats, tp);
  assert.deepEqual([state.count[5], state.count[6]], [2, 2]);
  const commits = temporalRule(state, 5, blockTokens([9, 'm']), MASK, [0, 1], stats, tp);
  assert.deepEqual(indices(commits), [1]);
  assert.deepEqual([state.count[5], state.lastId[5]], [0, -1]);
});

test('temporal: "ave" and "max" aggregate over the streak', () => {
  for (const [evaluate, expected] of [['ave', 0], ['max', 1]] as const) {
    const state = new TemporalState(1);
    const run = (p: number) => temporalRule(state, 0, blockTokens(['m']), MASK, [0], exact([[9, p]]), { ...tp, evaluate });
    run(0.95); run(0.5);
    assert.equal(run(0.7).length, expected, evaluate); // ave 0.717 < 0.8; max 0.95 ≥ 0.8
  }
});

// ---- Streaming-dLLM ------------------------------------------------------------------------------------------------

test('suffix pruning: keeps the whole rest when it fits, else the first w positions plus the tail', () => {
  assert.deepEqual(keptSuffixPositions(10, 14, 8), [10, 11, 12, 13]);
  assert.deepEqual(keptSuffixPositions(10, 30, 3), [10, 11, 12, 29]);
  assert.deepEqual(keptSuffixPositions(10, 10, 3), []);
  assert.deepEqual(keptSuffixPositions(10, 14, 0), [13]);
});

test('dynamic threshold: τ0·(1 − α·(1 − r_mask)) with r_mask over the whole query', () => {
  assert.equal(dynamicThreshold(0.9, 0.3, 129, 129), 0.9);
  // B = 32, w = 96 (+1 tail), block full: floor from the research note ≈ 0.833
  const floor = dynamicThreshold(0.9, 0.3, 97, 129);
  assert.ok(Math.abs(floor - 0.9 * (1 - 0.3 * 32 / 129)) < 1e-12);
  assert.ok(Math.abs(floor - 0.833) < 1e-3);
  assert.ok(Math.abs(dynamicThreshold(0.9, 0.3, 33, 65) - 0.767) < 1e-3);
  assert.equal(dynamicThreshold(0.9, 0, 1, 10), 0.9);
});

test('early exit: a finished block containing the end token ends generation', () => {
  assert.equal(blockEndsGeneration([5, 6, 0, 0], (id) => id === 0), true);
  assert.equal(blockEndsGeneration([5, 6, 9], (id) => id === 0 || id === 9), true);
  assert.equal(blockEndsGeneration([5, 6, 7], (id) => id === 0), false);
});

test('hand-built logits keep their intended probabilities', () => {
  const s = statsFromLogits(logitsRow(3, 0.9));
  assert.equal(s.tokenId, 3);
  assert.ok(Math.abs(s.p1 - 0.9) < 1e-6);
});
