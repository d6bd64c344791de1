// Progressive ghost text: while a decode commits tokens, the editor is asked again for the inline completion, and the
// provider answers with the grown stable prefix. VS Code has no stable "update" event, so, in order of preference:
//   proposed  the provider's onDidChange (inlineCompletionsAdditions proposal, only where the extension may use it);
//   trigger   editor.action.inlineSuggest.trigger alone (no flicker, if this VS Code re-queries on it);
//   hide+trigger  hide, then trigger: always re-queries, may flicker for a frame.
// A strategy that does not lead to a provider call within PROBE_MS is dropped for the next one, for the session.
// Refreshes are throttled and happen only when the text to show grew (or the decode finished with a different text).
import * as vscode from 'vscode';
import type { Logger } from './logger';

export type RefreshStrategy = 'proposed' | 'trigger' | 'hideTrigger';

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
  private probe: { strategy: RefreshStrategy; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Refreshes sent (for tests and logs). */
  refreshes = 0;

  /** Give this to the provider as `onDidChange` (VS Code reads it only when the proposal is enabled). */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly log: Logger, proposedApiEnabled: boolean) {
    this.strategies = proposedApiEnabled ? ['proposed', 'trigger', 'hideTrigger'] : ['trigger', 'hideTrigger'];
  }

  get strategy(): RefreshStrategy {
    return this.strategies[0];
  }

  /** The provider was called: the last refresh (if any) worked. */
  noteProviderCall(): void {
    if (this.probe) {
      clearTimeout(this.probe.timer);
      this.probe = undefined;
    }
  }

  /** A decode's display text changed: refresh soon (throttled). */
  schedule(target: RefreshTarget): void {
    this.pendingTarget = target;
    if (this.timer) return;
    const wait = Math.max(0, this.lastRefreshAt + REFRESH_THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const t = this.pendingTarget;
      this.pendingTarget = undefined;
      if (t) void this.flush(t);
    }, wait);
  }

  /** Forgets a pending refresh for a decode that ended without anything new to show. */
  drop(target: RefreshTarget): void {
    if (this.pendingTarget === target) this.pendingTarget = undefined;
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
    this.startProbe(strategy, target);
    try {
      if (strategy === 'proposed') {
        this.changeEmitter.fire();
      } else {
        if (strategy === 'hideTrigger') await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
        await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      }
    } catch (err) {
      this.log.warn(`ghost text refresh failed: ${(err as Error).message}`);
    }
  }

  private startProbe(strategy: RefreshStrategy, target: RefreshTarget): void {
    if (this.probe || this.strategies.length < 2) return;
    const timer = setTimeout(() => {
      this.probe = undefined;
      if (this.strategy !== strategy || this.strategies.length < 2) return;
      this.strategies = this.strategies.slice(1);
      this.log.info(`ghost text refresh: "${strategy}" did not reach the provider; using "${this.strategy}" from now on`);
      this.schedule(target);
    }, PROBE_MS);
    this.probe = { strategy, timer };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.probe) clearTimeout(this.probe.timer);
    this.changeEmitter.dispose();
  }
}
