// Adaptive debounce for inline requests: waits longer for fast typists and mid-word, shorter at natural pauses
// (after punctuation or at the end of a line). The base is `dllm.debounceMs`; 0 turns debouncing off.

export interface DebounceContext {
  /** The character left of the cursor ('' at the start of the document). */
  charBefore: string;
  /** Nothing but whitespace right of the cursor on its line. */
  atLineEnd: boolean;
}

export const MAX_DEBOUNCE_MS = 1000;
/** Gaps longer than this are pauses, not typing rhythm. */
const TYPING_GAP_LIMIT_MS = 2000;
const GAP_SMOOTHING = 0.3;

export class AdaptiveDebouncer {
  private lastRequestAt: number | undefined;
  private typingGapMs: number | undefined;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Records a request at this moment and returns how long to wait before starting it. */
  delayFor(baseMs: number, context: DebounceContext): number {
    const now = this.now();
    if (this.lastRequestAt !== undefined) {
      const gap = now - this.lastRequestAt;
      if (gap < TYPING_GAP_LIMIT_MS) {
        this.typingGapMs = this.typingGapMs === undefined ? gap : (1 - GAP_SMOOTHING) * this.typingGapMs + GAP_SMOOTHING * gap;
      }
    }
    this.lastRequestAt = now;
    if (baseMs <= 0) return 0;
    // A typist whose keys come every g ms is still typing after g ms: wait a little longer than that.
    const rhythm = this.typingGapMs === undefined ? baseMs : clamp(this.typingGapMs * 1.3, baseMs, baseMs * 3);
    const atPause = context.atLineEnd && /^[\s.,;:(){}[\]=>]$|^$/.test(context.charBefore);
    const midWord = !context.atLineEnd && /^[\p{L}\p{N}_]$/u.test(context.charBefore);
    const factor = atPause ? 0.6 : midWord ? 1.3 : 1;
    return Math.round(clamp(rhythm * factor, Math.min(baseMs, 50), MAX_DEBOUNCE_MS));
  }

  /** Smoothed gap between recent requests, if the user has been typing. */
  get typingGap(): number | undefined {
    return this.typingGapMs;
  }
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/** Minimal cancellation token shape (vscode.CancellationToken fits). */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** Resolves true after `ms`, or false as soon as the token is cancelled. */
export function sleepUnlessCancelled(ms: number, token?: CancellationLike): Promise<boolean> {
  if (token?.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const sub = token?.onCancellationRequested(() => {
      clearTimeout(timer);
      sub?.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      sub?.dispose();
      resolve(true);
    }, ms);
  });
}
