// LLaDA low-confidence remasking (§2): each step commits the k most confident masked positions of the block,
// with k from the linear schedule.
import type { PositionStats } from '../stats';
import { byConfidence, type Commit } from './types';

/** Tokens per step inside a block: M masks over S steps, k_i = floor(M/S) + (i < M mod S ? 1 : 0). */
export function lladaSchedule(masks: number, steps: number): number[] {
  if (!(steps >= 1)) throw new RangeError(`llada schedule needs at least one step, got ${steps}`);
  const base = Math.floor(masks / steps);
  const extra = masks % steps;
  return Array.from({ length: steps }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Steps for each block when the whole canvas gets `totalSteps` steps: proportional to the block's masks, at least
 * one per block, never more than its masks. The default (totalSteps = canvas length) gives one token per step.
 */
export function lladaStepsPerBlock(blockMasks: readonly number[], totalSteps: number): number[] {
  const total = blockMasks.reduce((a, b) => a + b, 0);
  return blockMasks.map((m) => (m === 0 ? 0 : Math.min(m, Math.max(1, Math.round((m * totalSteps) / Math.max(1, total))))));
}

export function lowConfidenceRule(stats: readonly PositionStats[], candidates: readonly number[], k: number): Commit[] {
  return byConfidence(stats, candidates)
    .slice(0, Math.max(0, k))
    .map((i) => ({ index: i, tokenId: stats[i].tokenId, rule: 'llada-topk' as const, confidence: stats[i].p1 }));
}
