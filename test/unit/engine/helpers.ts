// Hand-built logits and statistics for the rule tests.
import type { PositionStats } from '../../../src/engine/stats';
import { statsFromLogits } from '../../../src/engine/stats';

export const MASK = 99; // outside the hand-built vocabularies, so no prediction collides with it

/** A logits row over `vocab` tokens whose softmax gives `tokenId` probability p1, the rest sharing 1 − p1 evenly. */
export function logitsRow(tokenId: number, p1: number, vocab = 16): Float32Array {
  const row = new Float32Array(vocab).fill(Math.log((1 - p1) / (vocab - 1)));
  row[tokenId] = Math.log(p1);
  return row;
}

/** Statistics of hand-built rows: [tokenId, p1] per position. */
export function statsOf(spec: Array<[number, number]>, vocab = 16): PositionStats[] {
  return spec.map(([t, p]) => statsFromLogits(logitsRow(t, p, vocab)));
}

/** Exact statistics, for boundaries at exactly τ. */
export function exact(spec: Array<[number, number]>): PositionStats[] {
  return spec.map(([tokenId, p1]) => ({ tokenId, p1, p2: 0, negEntropy: 0 }));
}

/** Block tokens: numbers are decoded tokens, 'm' is MASK. */
export function blockTokens(spec: Array<number | 'm'>): Int32Array {
  return Int32Array.from(spec, (t) => (t === 'm' ? MASK : t));
}

export const indices = (commits: Array<{ index: number }>) => commits.map((c) => c.index);
