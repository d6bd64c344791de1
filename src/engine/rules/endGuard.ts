// End-token guard ("behind a decided answer"): an end token (PAD, EOS) may be committed at a position only when every
// position before it in the canvas is decided and at least `minAnswerTokens` of them hold more than whitespace. Content
// tokens are committed exactly as the reference rules decide; only end commits wait. Without it, a model with a strong
// padding prior commits the canvas tail as PAD first and then eats the answer from the right (issue 17).
import type { PositionStats } from '../stats';
import type { Commit } from './types';

export interface EndGuard {
  isEnd: (id: number) => boolean;
  /** Tokens that are only whitespace (or nothing): they do not count as answer. Default: none. */
  isBlank?: (id: number) => boolean;
  /** Tokens, not blank, that must come before any end token (1 = never an empty or whitespace-only answer). */
  minAnswerTokens: number;
  /** Answer tokens (not blank) in the canvas before this block (earlier blocks are decided: blocks run in order). */
  answerBefore: number;
}

/** Answer tokens (neither blank nor end) in `tokens` before the first end token. */
export function countAnswerTokens(tokens: ArrayLike<number>, isEnd: (id: number) => boolean, isBlank?: (id: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < tokens.length && !isEnd(tokens[i]); i++) if (!isBlank?.(tokens[i])) n++;
  return n;
}

/** May an end token be committed at block position `index` given the block's current tokens? */
export function endAllowedAt(tokens: ArrayLike<number>, maskId: number, index: number, guard: EndGuard): boolean {
  let answer = guard.answerBefore;
  for (let i = 0; i < index; i++) {
    const t = tokens[i];
    if (t === maskId) return false;
    if (guard.isEnd(t)) return true; // the answer has already ended here
    if (!guard.isBlank?.(t)) answer++;
  }
  return answer >= guard.minAnswerTokens;
}

/** Content commits first (in rule order), then end commits left to right, so an end right behind a content token
 * committed in the same rule still counts as behind the answer. */
export function orderForEndGuard(commits: readonly Commit[], isEnd: (id: number) => boolean): Commit[] {
  const ends = commits.filter((c) => isEnd(c.tokenId)).sort((a, b) => a.index - b.index);
  return [...commits.filter((c) => !isEnd(c.tokenId)), ...ends];
}

/**
 * When every commit of a step was held back: the most confident commit the guard allows, so decoding always
 * progresses (as the reference rules always commit at least their most confident position). At a position where an
 * end token may not go, its best content token (`content`) stands in. Undefined only if no position has any option.
 */
export function guardedFallback(tokens: ArrayLike<number>, maskId: number, stats: readonly PositionStats[], guard: EndGuard): Commit | undefined {
  let best: Commit | undefined;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== maskId) continue;
    const st = stats[i];
    const option = !guard.isEnd(st.tokenId) || endAllowedAt(tokens, maskId, i, guard)
      ? { tokenId: st.tokenId, confidence: st.p1 }
      : st.content && { tokenId: st.content.tokenId, confidence: st.content.p1 };
    if (option && (!best || option.confidence > best.confidence)) best = { index: i, ...option, rule: 'end-guard' };
  }
  return best;
}
