// The canvas: [BOS]? prefix ++ MASK × n ++ suffix, truncated around the cursor to fit the model window.
import { SUFFIX_BUDGET_SHARE } from './defaults';
import { EngineError } from './errors';

/** Fewest context tokens the window must leave next to the canvas. */
export const MIN_CONTEXT_TOKENS = 64;

export interface CanvasLayout {
  /** The whole sequence fed to the model (MASK on the canvas). */
  sequence: Int32Array;
  /** The canvas is sequence[canvasStart, canvasEnd). */
  canvasStart: number;
  canvasEnd: number;
  hasBos: boolean;
  prefixTokens: number;
  suffixTokens: number;
}

export interface CanvasInput {
  prefixIds: readonly number[];
  suffixIds: readonly number[];
  canvasLength: number;
  maxLength: number;
  maskId: number;
  bosId: number;
  /** Put BOS first (the prefix starts the file). Dropped when the prefix is truncated. */
  useBos: boolean;
  suffixShare?: number;
}

/** How many prefix and suffix tokens fit next to the canvas; the suffix gets `suffixShare` of the budget if needed. */
export function contextBudget(prefix: number, suffix: number, budget: number, suffixShare: number): [number, number] {
  if (prefix + suffix <= budget) return [prefix, suffix];
  let keepSuffix = Math.min(suffix, Math.max(Math.floor(budget * suffixShare), budget - prefix));
  const keepPrefix = Math.min(prefix, budget - keepSuffix);
  keepSuffix = Math.min(suffix, budget - keepPrefix);
  return [keepPrefix, keepSuffix];
}

export function maxCanvasLength(maxLength: number): number {
  return Math.max(1, maxLength - MIN_CONTEXT_TOKENS);
}

export function buildCanvas(input: CanvasInput): CanvasLayout {
  const { prefixIds, suffixIds, canvasLength, maxLength, maskId, bosId } = input;
  const share = input.suffixShare ?? SUFFIX_BUDGET_SHARE;
  if (!Number.isInteger(canvasLength) || canvasLength < 1 || canvasLength > maxCanvasLength(maxLength)) {
    throw new EngineError('BAD_INPUT', `maxNewTokens must be an integer from 1 to ${maxCanvasLength(maxLength)} for this ` +
      `model (its window is ${maxLength} tokens, ${MIN_CONTEXT_TOKENS} of them kept for context); got ${canvasLength}.`);
  }
  let hasBos = input.useBos && bosId >= 0; // format 2 allows a model without BOS (bos_token_id null → -1)
  let [keepPrefix, keepSuffix] = contextBudget(prefixIds.length, suffixIds.length,
    maxLength - canvasLength - (hasBos ? 1 : 0), share);
  if (hasBos && keepPrefix < prefixIds.length) {
    hasBos = false; // a truncated prefix no longer starts the file
    [keepPrefix, keepSuffix] = contextBudget(prefixIds.length, suffixIds.length, maxLength - canvasLength, share);
  }
  const prefix = prefixIds.slice(prefixIds.length - keepPrefix);
  const suffix = suffixIds.slice(0, keepSuffix);
  const head = hasBos ? [bosId, ...prefix] : prefix;
  const sequence = new Int32Array(head.length + canvasLength + suffix.length);
  sequence.set(head, 0);
  sequence.fill(maskId, head.length, head.length + canvasLength);
  sequence.set(suffix, head.length + canvasLength);
  return {
    sequence, canvasStart: head.length, canvasEnd: head.length + canvasLength, hasBos,
    prefixTokens: keepPrefix, suffixTokens: keepSuffix,
  };
}

/** Blocks [start, end) covering the canvas, `blockSize` each (the last may be shorter). */
export function canvasBlocks(canvasStart: number, canvasEnd: number, blockSize: number): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  for (let s = canvasStart; s < canvasEnd; s += blockSize) blocks.push([s, Math.min(s + blockSize, canvasEnd)]);
  return blocks;
}

/**
 * The end of `prefix` and the start of `suffix` that are worth encoding: enough characters for `tokens` tokens.
 * Cuts at a line boundary when one is near, so the first kept token is not a fragment of a word.
 */
export function trimForEncoding(prefix: string, suffix: string, chars: number): { prefix: string; suffix: string } {
  let p = prefix;
  if (p.length > chars) {
    p = p.slice(p.length - chars);
    const nl = p.indexOf('\n');
    if (nl >= 0 && nl < chars / 4) p = p.slice(nl + 1);
  }
  let s = suffix;
  if (s.length > chars) {
    s = s.slice(0, chars);
    const nl = s.lastIndexOf('\n');
    if (nl > (chars * 3) / 4) s = s.slice(0, nl + 1);
  }
  return { prefix: p, suffix: s };
}
