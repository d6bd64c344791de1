import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statsFromLogits, statsFromTopK } from '../../../src/engine/stats';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

test('statsFromLogits: softmax top-2 and negative entropy of a known row', () => {
  const z = [1, 3, 2, 0];
  const e = z.map((v) => Math.exp(v));
  const S = e.reduce((a, b) => a + b);
  const p = e.map((v) => v / S);
  const s = statsFromLogits(Float32Array.from(z));
  assert.equal(s.tokenId, 1);
  close(s.p1, p[1]);
  close(s.p2, p[2]);
  close(s.negEntropy, p.reduce((a, q) => a + q * Math.log(q), 0));
});

test('statsFromLogits: ties resolve to the lowest index (stable argmax)', () => {
  const s = statsFromLogits(Float32Array.from([0, 5, 5, 5]));
  assert.equal(s.tokenId, 1);
  close(s.p1, s.p2);
});

test('statsFromLogits: uniform row has p1 = 1/V and negative entropy −log V', () => {
  const s = statsFromLogits(new Float32Array(8));
  assert.equal(s.tokenId, 0);
  close(s.p1, 1 / 8);
  close(s.negEntropy, -Math.log(8));
});

test('statsFromLogits: -Infinity logits have probability 0 and do not poison entropy', () => {
  const s = statsFromLogits(Float32Array.from([-Infinity, 2, -Infinity]));
  assert.equal(s.tokenId, 1);
  assert.equal(s.p1, 1);
  assert.equal(s.p2, 0);
  close(s.negEntropy, 0);
});

test('statsFromLogits: is shift-invariant (large logits do not overflow)', () => {
  const a = statsFromLogits(Float32Array.from([1, 2, 3]));
  const b = statsFromLogits(Float32Array.from([1001, 1002, 1003]));
  close(a.p1, b.p1);
  close(a.negEntropy, b.negEntropy);
});

test('statsFromLogits: rejects empty rows and NaN', () => {
  assert.throws(() => statsFromLogits(new Float32Array(0)), RangeError);
  assert.throws(() => statsFromLogits(Float32Array.from([0, NaN])), RangeError);
});

test('statsFromTopK reads row j of the graph outputs', () => {
  const ids = BigInt64Array.from([7n, 3n, 1n, 9n]);
  const probs = Float32Array.from([0.5, 0.25, 0.75, 0.125]);
  const s = statsFromTopK(ids, probs, Float32Array.from([-1, -0.5]), 2, 1);
  assert.deepEqual(s, { tokenId: 1, p1: 0.75, p2: 0.125, negEntropy: -0.5 });
});

test('statsFromTopK skips forbidden ids (MASK, BOS) and falls back when all are forbidden', () => {
  const ids = BigInt64Array.from([1n, 5n, 2n, 6n]);
  const probs = Float32Array.from([0.5, 0.25, 0.125, 0.0625]);
  const forbidden = new Set([1, 2]);
  assert.deepEqual(statsFromTopK(ids, probs, [-1], 4, 0, forbidden), { tokenId: 5, p1: 0.25, p2: 0.0625, negEntropy: -1 });
  assert.deepEqual(statsFromTopK(BigInt64Array.from([1n, 2n]), probs, [-1], 2, 0, forbidden, 0),
    { tokenId: 0, p1: 0, p2: 0, negEntropy: -1 });
});
