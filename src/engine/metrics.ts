// Per-request metrics from a decode outcome.
import type { DecodeOutcome } from './decoder';
import type { CompletionResult, PolicyName, RequestMetrics } from './protocol';

export const savedPct = (nfe: number, baseline: number) => (baseline > 0 ? 100 * (1 - nfe / baseline) : 0);

export interface MetricsInput {
  outcome: DecodeOutcome;
  policy: PolicyName;
  executionProvider: string;
  completionTokens: number;
  ms: number;
  timeToFirstCommitMs: number;
  canvasLength: number;
  /** Measured baselines on the same canvas, when asked for. */
  lladaNfe?: number;
  fastDllmNfe?: number;
  prefixTokens: number;
  suffixTokens: number;
  truncatedPrefixChars: number;
  truncatedSuffixChars: number;
  loadMs: number;
}

export function requestMetrics(m: MetricsInput): RequestMetrics {
  const { outcome } = m;
  const committedPositions = outcome.commits.length;
  // llada commits one token per step, so on the same canvas it needs one pass per canvas position.
  const lladaNfe = m.lladaNfe ?? m.canvasLength;
  return {
    nfe: outcome.nfe,
    tokens: m.completionTokens,
    tokensPerStep: outcome.nfe > 0 ? committedPositions / outcome.nfe : 0,
    ms: m.ms,
    timeToFirstCommitMs: m.timeToFirstCommitMs,
    lladaNfe,
    ...(m.fastDllmNfe !== undefined ? { fastDllmNfe: m.fastDllmNfe, stepsSavedVsFastDllmPct: savedPct(outcome.nfe, m.fastDllmNfe) } : {}),
    stepsSavedVsLladaPct: savedPct(outcome.nfe, lladaNfe),
    policy: m.policy,
    cache: outcome.cache,
    executionProvider: m.executionProvider,
    canvasLength: m.canvasLength,
    committedPositions,
    queryTokens: outcome.queryTokens,
    ...(outcome.contextPasses ? { contextPasses: outcome.contextPasses } : {}),
    ...(outcome.endAtStartProbability ? { endAtStartProbability: outcome.endAtStartProbability } : {}),
    prefixTokens: m.prefixTokens,
    suffixTokens: m.suffixTokens,
    truncatedPrefixChars: m.truncatedPrefixChars,
    truncatedSuffixChars: m.truncatedSuffixChars,
    loadMs: m.loadMs,
  };
}

/** The result of a request cancelled before it started decoding. */
export function cancelledBeforeStart(requestId: string, policy: PolicyName, executionProvider: string): CompletionResult {
  return {
    requestId, completion: '', cancelled: true, stopReason: 'cancelled', tokenIds: [], trace: [], commitsPerStep: [],
    metrics: {
      nfe: 0, tokens: 0, tokensPerStep: 0, ms: 0, timeToFirstCommitMs: 0, lladaNfe: 0, stepsSavedVsLladaPct: 0,
      policy, cache: 'none', executionProvider, canvasLength: 0, committedPositions: 0, queryTokens: 0,
      prefixTokens: 0, suffixTokens: 0, truncatedPrefixChars: 0, truncatedSuffixChars: 0, loadMs: 0,
    },
  };
}
