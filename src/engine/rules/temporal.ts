// R² temporal finalization (§5.3 D): a masked position whose argmax stayed the same for K consecutive passes
// (counting the current one, starting at the block's refresh pass) commits if the aggregate confidence ≥ τt.
// The streak resets when the argmax changes and when the position is committed.
import type { PositionStats } from '../stats';
import type { Commit } from './types';

/** Streak state per absolute canvas position, zero-initialised once per generation. */
export class TemporalState {
  readonly lastId: Int32Array;
  readonly count: Int32Array;
  readonly sum: Float64Array;
  readonly max: Float64Array;

  constructor(length: number) {
    this.lastId = new Int32Array(length).fill(-1);
    this.count = new Int32Array(length);
    this.sum = new Float64Array(length);
    this.max = new Float64Array(length);
  }

  reset(i: number): void {
    this.lastId[i] = -1;
    this.count[i] = 0;
    this.sum[i] = 0;
    this.max[i] = 0;
  }
}

export interface TemporalParams {
  steps: number;
  tau: number;
  evaluate: 'last' | 'ave' | 'max';
}

/**
 * Updates the streaks of this step's candidates (block-relative indices; `offset` maps them into the state) and
 * returns the positions to commit. Candidates already committed this step (by earlier rules) have their streak reset.
 */
export function temporalRule(
  state: TemporalState,
  offset: number,
  tokens: Int32Array,
  maskId: number,
  candidates: readonly number[],
  stats: readonly PositionStats[],
  { steps, tau, evaluate }: TemporalParams,
): Commit[] {
  const commits: Commit[] = [];
  for (const i of candidates) {
    const p = offset + i;
    if (tokens[i] !== maskId) { state.reset(p); continue; }
    const { tokenId, p1 } = stats[i];
    if (state.lastId[p] === tokenId) {
      state.count[p]++;
      state.sum[p] += p1;
      state.max[p] = Math.max(state.max[p], p1);
    } else {
      state.lastId[p] = tokenId;
      state.count[p] = 1;
      state.sum[p] = p1;
      state.max[p] = p1;
    }
    if (state.count[p] < steps) continue;
    const aggregate = evaluate === 'last' ? p1 : evaluate === 'ave' ? state.sum[p] / state.count[p] : state.max[p];
    if (aggregate >= tau) {
      commits.push({ index: i, tokenId, rule: 'temporal', confidence: p1 });
      state.reset(p);
    }
  }
  return commits;
}
