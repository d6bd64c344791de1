// Fast-dLLM confidence-aware parallel decoding (§4.2): commit every candidate with p1 ≥ τ, and always the most
// confident one (progress guarantee). Ties exactly at τ are committed.
import type { CommitRule } from '../protocol';
import type { PositionStats } from '../stats';
import { type Commit, mostConfident } from './types';

export function thresholdRule(
  stats: readonly PositionStats[],
  candidates: readonly number[],
  tau: number,
  rule: CommitRule = 'threshold',
): Commit[] {
  const best = mostConfident(stats, candidates);
  if (best < 0) return [];
  const commits: Commit[] = [];
  for (const i of candidates) {
    const s = stats[i];
    if (s.p1 >= tau) commits.push({ index: i, tokenId: s.tokenId, rule, confidence: s.p1 });
    else if (i === best) commits.push({ index: i, tokenId: s.tokenId, rule: 'fallback-best', confidence: s.p1 });
  }
  return commits;
}
