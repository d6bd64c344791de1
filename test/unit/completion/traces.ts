// Hand-built engine results and step events for the editor tests.
import type { CompletionResult, RequestMetrics, StepEvent } from '../../../src/engine/protocol';

export function step(requestId: string, stepNo: number, stablePrefix: string, canvas: (string | null)[] = []): StepEvent {
  return { requestId, step: stepNo, commits: [], stablePrefix, canvas, maskedRemaining: canvas.filter((c) => c === null).length };
}

export function result(requestId: string, completion: string, over: Partial<CompletionResult['metrics']> = {}, cancelled = false): CompletionResult {
  const tokens = [...completion].length;
  return {
    requestId,
    completion,
    cancelled,
    stopReason: cancelled ? 'cancelled' : 'complete',
    tokenIds: [],
    trace: [...completion].map((text, index) => ({ index, text, step: 1 + (index >> 1), rule: index % 2 ? 'threshold' : 'temporal', confidence: 0.9 })),
    commitsPerStep: [2, 2, 1],
    metrics: {
      nfe: 5, tokens, tokensPerStep: tokens / 5, ms: 120, timeToFirstCommitMs: 30, lladaNfe: 20, fastDllmNfe: undefined,
      stepsSavedVsLladaPct: 75, stepsSavedVsFastDllmPct: undefined, policy: 'r2', cache: 'dual', executionProvider: 'cpu',
      canvasLength: 20, committedPositions: tokens, queryTokens: 100, prefixTokens: 10, suffixTokens: 0, ...over,
    } as RequestMetrics, // the fields the editor reads; the engine adds more
  };
}
