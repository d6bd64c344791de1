// The end-token guard (rules/endGuard.ts) with hand-built statistics: the PAD trap of issue 17 and its cure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_THRESHOLDS, defaultDecodeOptions } from '../../../src/engine/defaults';
import { endAtStart } from '../../../src/engine/decoder';
import { policySpec, policyStep, type StepContext } from '../../../src/engine/policies';
import { countAnswerTokens, endAllowedAt, type EndGuard, guardedFallback, orderForEndGuard } from '../../../src/engine/rules/endGuard';
import { TemporalState } from '../../../src/engine/rules/temporal';
import { type PositionStats, statsFromTopK } from '../../../src/engine/stats';
import { MASK, blockTokens, exact } from './helpers';

const PAD = 0;
const isEnd = (id: number) => id === PAD;
const SPACE = 3;
const NEWLINE = 4;
const isBlank = (id: number) => id === SPACE || id === NEWLINE;
const guard = (minAnswerTokens = 1, answerBefore = 0): EndGuard => ({ isEnd, isBlank, minAnswerTokens, answerBefore });

/** PAD predicted at position i with p, the best content token `content` behind it. */
const padAt = (p: number, content: number, pc: number): PositionStats => ({ tokenId: PAD, p1: p, p2: pc, negEntropy: -1, content: { tokenId: content, p1: pc } });

function step(policy: string, tokens: Int32Array, stats: PositionStats[], endGuard?: EndGuard) {
  const options = defaultDecodeOptions('r2');
  const ctx: StepContext = {
    tokens, maskId: MASK, stats, firstPass: false, quota: 1, queryMasked: 0, queryLength: 0,
    temporal: new TemporalState(tokens.length), offset: 0, endGuard,
  };
  return policyStep(policySpec(policy, options), DEFAULT_THRESHOLDS, options, ctx);
}

// The trace of `return ` in add(a, b) (issue 17): the answer's first token is unsure, the tail is confident PAD.
const trapStats = (): PositionStats[] => [
  { tokenId: 425, p1: 0.07, p2: 0.05, negEntropy: -4 },
  { tokenId: 31, p1: 0.3, p2: 0.1, negEntropy: -3 },
  padAt(0.82, 12, 0.05), padAt(0.86, 12, 0.04), padAt(0.89, 13, 0.03), padAt(0.91, 13, 0.02), padAt(0.93, 13, 0.02), padAt(0.95, 14, 0.01),
];

test('reference r2 commits the confident PAD tail at once (the trap)', () => {
  const tokens = blockTokens(Array(8).fill('m'));
  const commits = step('r2', tokens, trapStats());
  assert.ok(commits.length >= 4 && commits.every((c) => c.tokenId === PAD), JSON.stringify(commits));
});

test('behind-answer: no end token is committed in front of an undecided position', () => {
  const tokens = blockTokens(Array(8).fill('m'));
  const commits = step('r2', tokens, trapStats(), guard());
  assert.equal(commits.filter((c) => c.tokenId === PAD).length, 0);
  // every proposal was a held end, so the most confident allowed commit goes in: the best content candidate
  assert.deepEqual(commits.map((c) => [c.index, c.tokenId, c.rule]), [[1, 31, 'end-guard']]);
});

test('behind-answer: content commits are the reference rules\' own', () => {
  const stats = exact([[5, 0.95], [6, 0.85], [7, 0.85], [8, 0.85]]);
  const a = step('r2', blockTokens(['m', 'm', 'm', 'm']), stats);
  const b = step('r2', blockTokens(['m', 'm', 'm', 'm']), stats, guard());
  assert.deepEqual(b, a);
});

test('behind-answer: an end right behind the decided answer commits, in the same step as the token before it', () => {
  const tokens = blockTokens([5, 'm', 'm', 'm']);
  const stats = [exact([[5, 1]])[0], ...exact([[6, 0.95]]), padAt(0.97, 12, 0.01), padAt(0.97, 12, 0.01)];
  const commits = step('r2', tokens, stats, guard());
  assert.deepEqual([...tokens], [5, 6, PAD, PAD]);
  assert.equal(commits.length, 3);
});

test('minimum answer length: the first position never takes an end token, even when it is all the model sees', () => {
  const tokens = blockTokens(['m', 'm']);
  const commits = step('fast-dllm', tokens, [padAt(0.99, 40, 0.004), padAt(0.99, 41, 0.003)], guard(1));
  assert.deepEqual(commits.map((c) => [c.index, c.tokenId]), [[0, 40]]);
  assert.equal(endAllowedAt(blockTokens(['m']), MASK, 0, guard(0)), true);
  assert.equal(endAllowedAt(blockTokens(['m']), MASK, 0, guard(1)), false);
  assert.equal(endAllowedAt(blockTokens(['m']), MASK, 0, guard(1, 3)), true, 'a later block is past the minimum');
});

test('minimum answer length: whitespace is not an answer, so no end token behind spaces and line breaks only', () => {
  assert.equal(endAllowedAt(blockTokens([SPACE, SPACE, NEWLINE, 'm']), MASK, 3, guard(1)), false);
  assert.equal(endAllowedAt(blockTokens([SPACE, 9, NEWLINE, 'm']), MASK, 3, guard(1)), true);
  assert.equal(endAllowedAt(blockTokens([SPACE, 'm']), MASK, 1, guard(1, 1)), true, 'answer in an earlier block counts');
  assert.equal(endAllowedAt(blockTokens([SPACE, PAD, 'm']), MASK, 2, guard(1)), true, 'behind an end the answer is over');
  // the canvas holds "  \n" and the model wants PAD next: its best content token goes in instead
  const tokens = blockTokens([SPACE, SPACE, NEWLINE, 'm', 'm']);
  const commits = step('r2', tokens, [...exact([[SPACE, 1], [SPACE, 1], [NEWLINE, 1]]), padAt(0.97, 21, 0.02), padAt(0.98, 22, 0.01)], guard(1));
  assert.deepEqual(commits.map((c) => [c.index, c.tokenId, c.rule]), [[3, 21, 'end-guard']]);
  assert.equal(countAnswerTokens([SPACE, 9, NEWLINE, 10, PAD, 11], isEnd, isBlank), 2);
});

test('fallback: an end token at the first masked position still goes in when no content token is known', () => {
  const tokens = blockTokens([5, 'm']);
  const noContent: PositionStats = { tokenId: PAD, p1: 0.5, p2: 0.2, negEntropy: -1 };
  assert.deepEqual(guardedFallback(tokens, MASK, [exact([[5, 1]])[0], noContent], guard()), { index: 1, tokenId: PAD, confidence: 0.5, rule: 'end-guard' });
  const tokensAhead = blockTokens(['m', 'm']);
  const commits = step('fast-dllm', tokensAhead, [{ ...noContent, tokenId: 7, p1: 0.1 }, noContent], guard(0));
  assert.deepEqual(commits.map((c) => [c.index, c.tokenId]), [[0, 7]]);
});

test('orderForEndGuard: content first in rule order, then ends left to right', () => {
  const c = (index: number, tokenId: number) => ({ index, tokenId, rule: 'threshold' as const, confidence: 1 });
  assert.deepEqual(orderForEndGuard([c(3, PAD), c(1, 5), c(2, PAD), c(0, 6)], isEnd).map((x) => x.index), [1, 0, 2, 3]);
});

test('statsFromTopK: when the top token ends the answer, the best other allowed token stands by', () => {
  const ids = [0, 1, 7, 9].map(BigInt); // PAD, MASK (forbidden), 7, 9
  const s = statsFromTopK(ids, [0.6, 0.2, 0.15, 0.05], [-1], 4, 0, new Set([1]), 0, new Set([0]));
  assert.deepEqual(s, { tokenId: 0, p1: 0.6, p2: 0.15, negEntropy: -1, content: { tokenId: 7, p1: 0.15 } });
  const plain = statsFromTopK([7, 0].map(BigInt), [0.6, 0.3], [-1], 2, 0, undefined, 0, new Set([0]));
  assert.equal(plain.content, undefined);
});

test('endAtStart: the first pass\'s probability of an empty answer, 0 when an end token is not the top guess', () => {
  assert.equal(endAtStart(padAt(0.7, 12, 0.2), isEnd), 0.7);
  assert.equal(endAtStart({ tokenId: 5, p1: 0.9, p2: 0.05, negEntropy: -1 }, isEnd), 0);
  assert.equal(endAtStart(undefined, isEnd), 0);
});
