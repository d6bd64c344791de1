// Fast-dLLM factor rule (§4.2, Theorem 1 as a rule): sort candidates by confidence; the k-th (k ≥ 2) is accepted
// only if p1 ≥ 1 − f/(k+1) and all better ones were accepted; the first is always accepted.
// This is the clean rule. The reference code also commits the last-ranked candidate when it is the only one failing;
// that quirk is deliberately not reproduced.
import type { PositionStats } from '../stats';
import { byConfidence, type Commit } from './types';

export function factorThreshold(rank: number, factor: number): number {
  return rank <= 1 ? -Infinity : 1 - factor / (rank + 1);
}

export function factorRule(stats: readonly PositionStats[], candidates: readonly number[], factor: number): Commit[] {
  const commits: Commit[] = [];
  const order = byConfidence(stats, candidates);
  for (let k = 1; k <= order.length; k++) {
    const s = stats[order[k - 1]];
    if (s.p1 < factorThreshold(k, factor)) break;
    commits.push({ index: order[k - 1], tokenId: s.tokenId, rule: 'factor', confidence: s.p1 });
  }
  return commits;
}
