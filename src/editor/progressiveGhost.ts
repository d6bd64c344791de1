// Progressive ghost text: while a decode commits tokens, the editor is asked again for the inline completion, and the
// provider answers with the grown stable prefix. VS Code has no stable "update" event, so, in order of preference:
//   proposed     the provider's onDidChange (inlineCompletionsAdditions proposal, only where the extension may use
//                it): VS Code re-queries this provider without hiding anything;
//   hideTrigger  editor.action.inlineSuggest.hide, then .trigger: always re-queries, but the ghost text may flicker
//                for a frame. (A plain trigger, with or without a providerId, is answered from VS Code's cache of the
//                last request and never reaches the provider: checked in VS Code 1.139.)
// A strategy that does not lead to a provider call within PROBE_MS is dropped for the next one, for the session.
// Refreshes are throttled and happen only when the text to show grew (or the decode finished with a different text).
import * as vscode from 'vscode';
import type { Logger } from './logger';

export type RefreshStrategy = 'proposed' | 'hideTrigger';

/** Minimum time between two refreshes. */
export const REFRESH_THROTTLE_MS = 120;
/** How long a refresh may take to reach the provider before its strategy counts as not working. */
const PROBE_MS = 900;

export interface RefreshTarget {
  /** Identifies the decode (for logs). */
  readonly requestId: string;
  readonly docKey: string;
  /** The full text (typed part included) the editor should show now, or undefined if it should not show anything. */
  wanted(): string | undefined;
  /** The full text the provider last handed out. */
  readonly servedText: string;
  readonly running: boolean;
}

export class GhostTextRefresher implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private strategies: RefreshStrategy[];
  private lastRefreshAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pendingTarget: RefreshTarget | undefined;
  /** A refresh was sent and VS Code has not called the provider yet: the next one waits (no pile-up, less flicker). */
  private awaiting: { strategy: RefreshStrategy; target: RefreshTarget; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Refreshes sent (for tests and logs). */
  refreshes = 0;

  /** Give this to the provider as `onDidChange` (VS Code reads it only when the proposal is enabled). */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly log: Logger, proposedApiEnabled: boolean) {
    this.strategies = proposedApiEnabled ? ['proposed', 'hideTrigger'] : ['hideTrigger'];
  }

  get strategy(): RefreshStrategy {
    return this.strategies[0];
  }

  /** The provider was called: the refresh in flight (if any) arrived; a pending one may go. */
  noteProviderCall(): void {
    if (!this.awaiting) return;
    clearTimeout(this.awaiting.timer);
    this.awaiting = undefined;
    if (this.pendingTarget) this.arm();
  }

  /** A decode's display text changed: refresh soon (throttled, one at a time). */
  schedule(target: RefreshTarget): void {
    this.pendingTarget = target;
    if (!this.timer && !this.awaiting) this.arm();
  }

  /** Forgets a pending refresh for a decode that ended without anything new to show. */
  drop(target: RefreshTarget): void {
    if (this.pendingTarget === target) this.pendingTarget = undefined;
  }

  private arm(): void {
    const wait = Math.max(0, this.lastRefreshAt + REFRESH_THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const t = this.pendingTarget;
      this.pendingTarget = undefined;
      if (t) void this.flush(t);
    }, wait);
  }

  private async flush(target: RefreshTarget): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.toString() !== target.docKey || !editor.selection.isEmpty) return;
    const wanted = target.wanted() ?? '';
    if (wanted === target.servedText) return;
    // While decoding, only growth is worth a refresh; the final text may also be shorter (post-filters).
    if (target.running && wanted.length <= target.servedText.length) return;
    this.lastRefreshAt = Date.now();
    if (wanted === '') {
      // The decode ended with nothing to show (e.g. the post-filters dropped it): take back the partial ghost text.
      if (!target.running && target.servedText !== '') await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
      return;
    }
    this.refreshes++;
    const strategy = this.strategy;
    this.log.trace(`refresh ghost text (${strategy}) for ${target.requestId}: ${wanted.length} chars`);
    this.awaiting = { strategy, target, timer: setTimeout(() => this.noCall(strategy, target), PROBE_MS) };
    try {
      if (strategy === 'proposed') {
        this.changeEmitter.fire();
      } else {
        await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
        await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      }
    } catch (err) {
      this.log.warn(`ghost text refresh (${strategy}) failed: ${(err as Error).message}`);
      this.noCall(strategy, target);
    }
  }

  /** A refresh never reached the provider: drop its strategy if there is another one, and try again with that. */
  private noCall(strategy: RefreshStrategy, target: RefreshTarget): void {
    if (this.awaiting) clearTimeout(this.awaiting.timer);
    this.awaiting = undefined;
    if (this.strategy === strategy && this.strategies.length > 1) {
      this.strategies = this.strategies.slice(1);
      this.log.info(`ghost text refresh: "${strategy}" did not reach the provider; using "${this.strategy}" from now on`);
      this.pendingTarget ??= target;
    }
    if (this.pendingTarget && !this.timer) this.arm();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.awaiting) clearTimeout(this.awaiting.timer);
    this.changeEmitter.dispose();
  }
}
