// R² confidence cluster (§5.3 B): every sliding window of w block positions (stride 1) whose masked positions have
// mean confidence ≥ τs commits all of them, unless more than u_max of the window is already decoded.
// Windows are evaluated on the state after the base rule, and all qualifying windows are applied together.
import type { PositionStats } from '../stats';
import type { Commit } from './types';

export interface ConfidenceClusterParams {
  window: number;
  tau: number;
  maxDecoded: number;
}

export function confidenceClusterRule(
  tokens: Int32Array,
  maskId: number,
  isCandidate: readonly boolean[],
  stats: readonly PositionStats[],
  { window, tau, maxDecoded }: ConfidenceClusterParams,
): Commit[] {
  const n = tokens.length;
  if (window <= 0 || n < window) return [];
  const chosen = new Set<number>();
  for (let j = 0; j + window <= n; j++) {
    let decoded = 0;
    let sum = 0;
    const masked: number[] = [];
    let eligible = true;
    for (let i = j; i < j + window; i++) {
      if (tokens[i] !== maskId) { decoded++; continue; }
      if (!isCandidate[i]) { eligible = false; break; } // only positions masked before the base rule qualify
      masked.push(i);
      sum += stats[i].p1;
    }
    if (!eligible || decoded > maxDecoded || masked.length === 0) continue;
    if (sum / masked.length >= tau) for (const i of masked) chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b)
    .map((i) => ({ index: i, tokenId: stats[i].tokenId, rule: 'confidence-cluster' as const, confidence: stats[i].p1 }));
}
