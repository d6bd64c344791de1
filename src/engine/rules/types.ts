// Shared shapes of the decoding rules. Indices are block-relative (0 = first position of the current block).
import type { CommitRule } from '../protocol';
import type { PositionStats } from '../stats';

/** One token a rule decides to commit. */
export interface Commit {
  index: number;
  tokenId: number;
  rule: CommitRule;
  confidence: number;
}

/** Order positions by confidence, most confident first; equal confidences keep index order (stable). */
export function byConfidence(stats: readonly PositionStats[], indices: readonly number[]): number[] {
  return [...indices].sort((a, b) => stats[b].p1 - stats[a].p1 || a - b);
}

/** The most confident of `indices` (lowest index on ties), or -1 if empty. */
export function mostConfident(stats: readonly PositionStats[], indices: readonly number[]): number {
  let best = -1;
  for (const i of indices) if (best < 0 || stats[i].p1 > stats[best].p1) best = i;
  return best;
}
