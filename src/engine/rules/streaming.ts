// Streaming-dLLM pieces (§6): attenuation-guided suffix pruning, the dynamic threshold and the early exit.

/**
 * Canvas positions after the block that the forward pass keeps: the first `window` ones, plus the last canvas position
 * when the rest does not fit. Everything else after the block is dropped from the pass (neither query nor key).
 */
export function keptSuffixPositions(blockEnd: number, canvasEnd: number, window: number): number[] {
  const rest = canvasEnd - blockEnd;
  if (rest <= 0) return [];
  if (rest <= window) return Array.from({ length: rest }, (_, i) => blockEnd + i);
  const kept = Array.from({ length: Math.max(0, window) }, (_, i) => blockEnd + i);
  kept.push(canvasEnd - 1);
  return kept;
}

/**
 * τ = τ0·(1 − α·(1 − r_mask)), r_mask = masked / length over the whole query (block + kept window + tail), as in the
 * reference code. The block's refresh pass uses τ0 (pass masked = length).
 */
export function dynamicThreshold(tau0: number, alpha: number, maskedInQuery: number, queryLength: number): number {
  if (queryLength <= 0) return tau0;
  const rMask = maskedInQuery / queryLength;
  return tau0 * (1 - alpha * (1 - rMask));
}

/** Early exit: a finished block that contains an end token ends the whole generation. */
export function blockEndsGeneration(blockTokens: ArrayLike<number>, isEnd: (id: number) => boolean): boolean {
  for (let i = 0; i < blockTokens.length; i++) if (isEnd(blockTokens[i])) return true;
  return false;
}
