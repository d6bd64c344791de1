// A scripted engine for the editor-mechanics tests: replays a fixed answer piece by piece as step events (a growing
// stable prefix), so that those tests check the editor whatever the bundled model answers.
import type { EngineClientLike } from '../../src/editor/engineSession';
import type { CompletionRequest, CompletionResult, StepEvent } from '../../src/engine/protocol';

export const STEP_MS = 150;

/**
 * Replays `answer` token by token (`pieces`), one piece per step, then resolves like the engine would.
 * holdLastPiece: the decode waits before its last piece until `release()` or a cancel, so that a test can act while
 * it is surely still running (no race with a fixed decode time).
 */
export class ScriptedEngine implements EngineClientLike {
  requests: CompletionRequest[] = [];
  private readonly cancelled = new Set<string>();
  private wakeHeld: (() => void) | undefined;
  private released = false;

  constructor(private readonly pieces: string[], private readonly options: { holdLastPiece?: boolean } = {}) {}

  /** Lets a held decode finish. */
  release(): void {
    this.released = true;
    this.wakeHeld?.();
  }

  async complete(request: CompletionRequest, onStep?: (e: StepEvent) => void): Promise<CompletionResult> {
    this.requests.push(request);
    const canvasLength = request.maxNewTokens ?? 16;
    const canvas: (string | null)[] = new Array(canvasLength).fill(null);
    let step = 0;
    for (const [i, piece] of this.pieces.entries()) {
      await new Promise((r) => setTimeout(r, STEP_MS));
      if (this.options.holdLastPiece && i === this.pieces.length - 1 && !this.released && !this.cancelled.has(request.id)) {
        await new Promise<void>((resolve) => { this.wakeHeld = resolve; });
      }
      if (this.cancelled.has(request.id)) return this.result(request, '', step, true);
      canvas[step++] = piece;
      onStep?.({
        requestId: request.id, step, commits: [], canvas: [...canvas],
        stablePrefix: canvas.slice(0, step).join(''), maskedRemaining: canvasLength - step,
      });
    }
    return this.result(request, this.pieces.join(''), step, false);
  }

  private result(request: CompletionRequest, completion: string, steps: number, cancelled: boolean): CompletionResult {
    return {
      requestId: request.id, completion, cancelled, stopReason: cancelled ? 'cancelled' : 'answer-final', tokenIds: [],
      trace: this.pieces.slice(0, steps).map((text, index) => ({ index, text, step: index + 1, rule: 'threshold', confidence: 0.95 })),
      commitsPerStep: new Array(steps).fill(1),
      metrics: {
        nfe: steps, tokens: steps, tokensPerStep: 1, ms: steps * STEP_MS, timeToFirstCommitMs: STEP_MS, lladaNfe: request.maxNewTokens ?? 16,
        stepsSavedVsLladaPct: 0, policy: 'r2', cache: 'dual', executionProvider: 'scripted', canvasLength: request.maxNewTokens ?? 16,
        committedPositions: steps, queryTokens: 0, prefixTokens: 0, suffixTokens: 0, truncatedPrefixChars: 0, truncatedSuffixChars: 0, loadMs: 0,
      } as CompletionResult['metrics'],
    };
  }

  cancel(id: string): void {
    this.cancelled.add(id);
    this.wakeHeld?.();
  }

  cancelEditor(): void {}
  onStatus() { return { dispose() {} }; }
  reconfigure(): void {}
  async dispose(): Promise<void> {}
}
