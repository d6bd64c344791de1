// Per-position statistics: what every decoding rule looks at.

/** Statistics of one canvas position's predicted distribution. */
export interface PositionStats {
  /** Most probable token (lowest id on ties). */
  tokenId: number;
  /** Its probability: the "confidence". */
  p1: number;
  /** Probability of the second most probable token. */
  p2: number;
  /** Σ p log p over the vocabulary (≤ 0; higher = more certain). */
  negEntropy: number;
  /** When the top token ends the answer: the best token that does not (from the graph's top-k), for the end guard. */
  content?: { tokenId: number; p1: number };
}

/**
 * Statistics of one logits row, in float64 accumulation: stable argmax (lowest index on ties), softmax top-2
 * probabilities and negative entropy. -Infinity logits are allowed (probability 0).
 */
export function statsFromLogits(row: ArrayLike<number>): PositionStats {
  const n = row.length;
  if (n === 0) throw new RangeError('statsFromLogits: empty logits row');
  let v1 = -1;
  let m = -Infinity;
  for (let v = 0; v < n; v++) {
    const z = row[v];
    if (Number.isNaN(z)) throw new RangeError(`statsFromLogits: NaN logit at index ${v}`);
    if (v1 < 0 || z > m) { m = z; v1 = v; }
  }
  if (m === -Infinity) throw new RangeError('statsFromLogits: every logit is -Infinity');
  let v2 = -1;
  let m2 = -Infinity;
  let sum = 0;
  let weighted = 0;
  for (let v = 0; v < n; v++) {
    const d = row[v] - m;
    if (v !== v1 && (v2 < 0 || row[v] > m2)) { m2 = row[v]; v2 = v; }
    if (d === -Infinity) continue;
    const e = Math.exp(d);
    sum += e;
    weighted += e * d;
  }
  const p1 = 1 / sum;
  const p2 = v2 < 0 || m2 === -Infinity ? 0 : Math.exp(m2 - m) / sum;
  return { tokenId: v1, p1, p2, negEntropy: weighted / sum - Math.log(sum) };
}

/**
 * Statistics for row `j` of the graph's top-k outputs (top_ids / top_probs [n_out, K], neg_entropy [n_out]).
 * Tokens in `forbidden` (MASK, BOS: never a valid answer token) are skipped, so p1 is the best allowed token's
 * probability; if all K are forbidden, `fallbackId` is returned with p1 = 0.
 */
export function statsFromTopK(
  topIds: ArrayLike<number | bigint>,
  topProbs: ArrayLike<number>,
  negEntropy: ArrayLike<number>,
  k: number,
  j: number,
  forbidden?: ReadonlySet<number>,
  fallbackId = 0,
  endIds?: ReadonlySet<number>,
): PositionStats {
  const o = j * k;
  let first = -1;
  let second = -1;
  for (let r = 0; r < k && second < 0; r++) {
    if (forbidden?.has(Number(topIds[o + r]))) continue;
    if (first < 0) first = r; else second = r;
  }
  const stats: PositionStats = {
    tokenId: first < 0 ? fallbackId : Number(topIds[o + first]),
    p1: first < 0 ? 0 : topProbs[o + first],
    p2: second < 0 ? 0 : topProbs[o + second],
    negEntropy: negEntropy[j],
  };
  if (endIds?.has(stats.tokenId)) {
    for (let r = 0; r < k; r++) {
      const id = Number(topIds[o + r]);
      if (forbidden?.has(id) || endIds.has(id)) continue;
      stats.content = { tokenId: id, p1: topProbs[o + r] };
      break;
    }
  }
  return stats;
}
