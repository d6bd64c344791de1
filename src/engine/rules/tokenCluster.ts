// R² token cluster (§5.3 C): a maximal run of adjacent masked positions predicting the same token, of length ≥ minRun,
// whose best confidence is strictly above τs, commits exactly one of its positions (the most confident by default).
import type { PositionStats } from '../stats';
import type { Commit } from './types';

export interface TokenClusterParams {
  minRun: number;
  tau: number;
  pick: 'confidence' | 'mid';
}

export function tokenClusterRule(
  tokens: Int32Array,
  maskId: number,
  stats: readonly PositionStats[],
  { minRun, tau, pick }: TokenClusterParams,
): Commit[] {
  const commits: Commit[] = [];
  const n = tokens.length;
  let i = 0;
  while (i < n) {
    if (tokens[i] !== maskId) { i++; continue; }
    const start = i;
    const token = stats[i].tokenId;
    i++;
    while (i < n && tokens[i] === maskId && stats[i].tokenId === token) i++;
    if (i - start < minRun) continue;
    let best = start;
    for (let k = start + 1; k < i; k++) if (stats[k].p1 > stats[best].p1) best = k;
    if (!(stats[best].p1 > tau)) continue;
    const index = pick === 'mid' ? start + Math.floor((i - start) / 2) : best;
    commits.push({ index, tokenId: token, rule: 'token-cluster', confidence: stats[index].p1 });
  }
  return commits;
}
