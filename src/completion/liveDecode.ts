// One inline decode in flight: its growing stable prefix, what the editor was last shown, and how it ended.
// Re-triggered provider calls at the same place (or after the user typed along the ghost text) are served from
// here instead of starting a new decode. No vscode import: the provider and the ghost-text refresher drive it.
import type { CompletionResult, StepEvent } from '../engine/protocol';
import { type ContextAnchor, typedAlong } from './completionCache';
import type { FittedContext } from './contextWindow';
import { type FilterContext, applyPostFilters } from './postFilters';
import { unhealAnswer } from './prefixHealing';

export type LiveDecodeState = 'running' | 'done' | 'failed' | 'cancelled';

export interface LiveOffer {
  /** What the user typed since the decode started (a prefix of the display text). */
  typed: string;
  /** The part of the display text still to show. */
  remainder: string;
}

type Listener = () => void;

export class LiveDecode {
  readonly startedAt = Date.now();
  state: LiveDecodeState = 'running';
  lastStep: StepEvent | undefined;
  result: CompletionResult | undefined;
  error: unknown;
  /** The full display text the editor was last given (typed part included). */
  servedText = '';
  private rawText = '';
  private displayCache: { raw: string; final: boolean; text: string } | undefined;
  private readonly listeners = new Set<Listener>();

  constructor(
    readonly requestId: string,
    readonly anchor: ContextAnchor,
    /** Cursor context at the start (the filters judge the completion against it). */
    readonly filterContext: Omit<FilterContext, 'final'>,
    private readonly cancelEngine: () => void,
    /** The text the request's prefix gave back to the model (prefixHealing.ts): the engine's answer starts with it. */
    readonly healed = '',
  ) {}

  get docKey(): string {
    return this.anchor.docKey;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The post-filtered text to show: the stable prefix while running, the completion once done. */
  get displayText(): string {
    const final = this.state === 'done';
    if (this.displayCache?.raw !== this.rawText || this.displayCache.final !== final) {
      const text = applyPostFilters(unhealAnswer(this.rawText, this.healed), { ...this.filterContext, final });
      this.displayCache = { raw: this.rawText, final, text };
    }
    return this.displayCache.text;
  }

  /** Steps committed so far. */
  get step(): number {
    return this.lastStep?.step ?? 0;
  }

  onStep(event: StepEvent): void {
    if (!this.running || event.requestId !== this.requestId) return;
    this.lastStep = event;
    if (event.stablePrefix !== this.rawText) {
      this.rawText = event.stablePrefix;
    }
    this.emit();
  }

  finish(result: CompletionResult): void {
    if (!this.running) return;
    this.result = result;
    if (result.cancelled) {
      this.state = 'cancelled';
    } else {
      this.rawText = result.completion;
      this.state = 'done';
    }
    this.emit();
  }

  fail(error: unknown): void {
    if (!this.running) return;
    this.error = error;
    this.state = 'failed';
    this.emit();
  }

  /** Stops the engine request; the state becomes cancelled at once. */
  cancel(): void {
    if (!this.running) return;
    this.state = 'cancelled';
    this.cancelEngine();
    this.emit();
  }

  /** What to show at a cursor context, if it is this decode's context plus text typed along the display text. */
  offerFor(docKey: string, variant: string, ctx: FittedContext): LiveOffer | undefined {
    const display = this.displayText;
    const typed = typedAlong(this.anchor, docKey, variant, ctx, display);
    return typed === undefined ? undefined : { typed, remainder: display.slice(typed.length) };
  }

  onDidChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Resolves once `ready()` holds or the decode has ended. */
  until(ready: () => boolean): Promise<void> {
    if (!this.running || ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.onDidChange(() => {
        if (!this.running || ready()) {
          sub.dispose();
          resolve();
        }
      });
    });
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}
