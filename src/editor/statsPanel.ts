// "dLLM: Show Decoding Stats": one webview panel with the last request, the session totals and the history.
// Local media only (media/stats.js, media/stats.css), a strict CSP with a nonce, and whitelisted messages.
import * as vscode from 'vscode';
import type { EngineSession } from './engineSession';
import type { Logger } from './logger';
import type { StatsSnapshot } from '../completion/sessionStats';
import { type FromWebviewMessage, buildStatsHtml, makeNonce, parseWebviewMessage } from '../completion/statsHtml';

export const STATS_VIEW_TYPE = 'dllm.stats';

export class StatsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private panelDisposables: vscode.Disposable[] = [];
  /** Internal, for tests: the last 'rendered' report from the page. */
  lastRendered: Extract<FromWebviewMessage, { type: 'rendered' }> | undefined;
  private readonly renderedEmitter = new vscode.EventEmitter<Extract<FromWebviewMessage, { type: 'rendered' }>>();
  readonly onDidRender = this.renderedEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: EngineSession,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      engine.stats.onDidChange(() => this.post()),
      engine.onDidChangeStatus(() => this.post()),
      this.renderedEmitter,
    );
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(STATS_VIEW_TYPE, 'dLLM Decoding Stats',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [media], retainContextWhenHidden: false, enableFindWidget: true });
    const webview = panel.webview;
    webview.html = buildStatsHtml({
      nonce: makeNonce(),
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'stats.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'stats.css')).toString(),
    });
    this.panel = panel;
    this.updateBaselineMeasuring();
    this.panelDisposables = [
      webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      panel.onDidChangeViewState(() => this.updateBaselineMeasuring()),
      panel.onDidDispose(() => {
        this.panel = undefined;
        for (const d of this.panelDisposables) d.dispose();
        this.panelDisposables = [];
        this.updateBaselineMeasuring();
      }),
    ];
  }

  snapshot(): StatsSnapshot {
    const stats = this.engine.stats;
    return {
      last: stats.last,
      session: stats.session,
      history: stats.history,
      engine: this.engine.started ? this.engine.status : undefined,
      measuringBaselines: this.engine.measureBaselines,
    };
  }

  private onMessage(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      this.log.warn(`stats panel: ignored an unexpected message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.post();
        return;
      case 'clear':
        this.engine.stats.clear();
        return;
      case 'openSettings':
        void vscode.commands.executeCommand('workbench.action.openSettings', 'dllm.');
        return;
      case 'rendered':
        this.lastRendered = message;
        this.renderedEmitter.fire(message);
        return;
    }
  }

  private post(): void {
    if (!this.panel) return;
    void this.panel.webview.postMessage({ type: 'state', snapshot: this.snapshot() });
  }

  /** Baselines cost extra decodes, so they run only while someone can see them. */
  private updateBaselineMeasuring(): void {
    this.engine.measureBaselines = Boolean(this.panel?.visible);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of [...this.disposables, ...this.panelDisposables]) d.dispose();
  }
}
