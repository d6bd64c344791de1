// The editor's handle on the engine: starts the worker on first use (never at activation), turns settings into
// requests, follows the engine status, records every result in the session stats, and measures the llada and
// fast-dllm baselines in the background while the stats panel is open.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../engine/client';
import { EngineError } from '../engine/errors';
import { modelBytes } from '../engine/memory';
import type { CompletionRequest, CompletionResult, EngineStatus, StepEvent } from '../engine/protocol';
import type { Settings } from '../config';
import { type ErrorNotifier, type Logger, errorMessage, isCancellation } from './logger';
import { type RequestKind, type SessionStats, summarize } from '../completion/sessionStats';
import type { Activity } from '../completion/statusView';
import { endOptions } from '../completion/pipeline';

export const BUNDLED_MODEL_DIR = path.join('models', 'dllm-code-small');
/** Models from this size on show a cancellable progress notification while they load. */
export const LARGE_MODEL_BYTES = 256 * 1024 ** 2;
const BASELINE_EDITOR_KEY = 'dllm:baselines';

/** Where a request comes from, for stats and logs. */
export interface RequestOrigin {
  kind: RequestKind;
  document: vscode.TextDocument;
}

/** The parts of a request the caller decides; the rest comes from the settings. */
export type RequestInput = Pick<CompletionRequest, 'prefix' | 'suffix' | 'prefixIsFileStart' | 'maxNewTokens' | 'singleLine' | 'editorKey'>;


/** The parts of EngineClient the session uses (tests may substitute a scripted one). */
export type EngineClientLike = Pick<EngineClient, 'complete' | 'cancel' | 'cancelEditor' | 'onStatus' | 'reconfigure' | 'dispose'>;

let requestCounter = 0;
export const newRequestId = (kind: RequestKind): string => `${kind}-${Date.now().toString(36)}-${++requestCounter}`;

export function resolveModelDir(settings: Settings, extensionPath: string): string {
  const configured = settings.modelPath.trim();
  if (!configured) return path.join(extensionPath, BUNDLED_MODEL_DIR);
  if (configured === '~' || configured.startsWith('~/')) return path.join(os.homedir(), configured.slice(1));
  return path.resolve(configured);
}

export class EngineSession implements vscode.Disposable {
  private client: EngineClientLike | undefined;
  private testClient: EngineClientLike | undefined;
  private clientConfig: { modelDir: string; executionProvider: Settings['executionProvider'] } | undefined;
  private engineStatus: EngineStatus = { state: 'idle' };
  private readonly running = new Map<string, RequestKind>();
  /** Execution-provider fallbacks already shown to the user. */
  private readonly fallbackNotified = new Set<string>();
  private lastStep: number | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<EngineStatus>();
  private readonly activityEmitter = new vscode.EventEmitter<Activity>();
  private readonly resultEmitter = new vscode.EventEmitter<{ request: CompletionRequest; result: CompletionResult }>();
  private readonly disposables: vscode.Disposable[] = [this.statusEmitter, this.activityEmitter, this.resultEmitter];
  /** Requests behind recent results, by id (to measure their baselines later). */
  private readonly finishedRequests = new Map<string, CompletionRequest>();
  private measuring = false;
  /** Settles when the load shown in the progress notification ends. */
  private loadingNotice: Promise<void> | undefined;

  /** Set while the stats panel is visible: new results get their baselines measured. */
  get measureBaselines(): boolean {
    return this.measuring;
  }

  set measureBaselines(on: boolean) {
    if (on && !this.measuring) {
      // The panel just became visible: measure the last request too, if it has no baselines yet.
      const last = this.stats.last;
      const measured = last && (last.fillAll ? last.fillAll.sequentialSteps !== undefined : last.fastDllmSteps !== undefined);
      const request = last && !measured ? this.finishedRequests.get(last.id) : undefined;
      if (request) this.measureBaselinesFor(request, last!.id);
    }
    this.measuring = on;
  }

  readonly onDidChangeStatus = this.statusEmitter.event;
  readonly onDidChangeActivity = this.activityEmitter.event;
  /** Every finished request (cancelled ones included), with the request that produced it. */
  readonly onDidFinish = this.resultEmitter.event;

  constructor(
    private readonly extensionPath: string,
    private readonly settings: () => Settings,
    private readonly log: Logger,
    private readonly errors: ErrorNotifier,
    readonly stats: SessionStats,
  ) {}

  get started(): boolean {
    return this.client !== undefined;
  }

  get status(): EngineStatus {
    return this.engineStatus;
  }

  get activity(): Activity {
    const kinds = [...this.running.values()];
    return { running: kinds.length, step: this.lastStep, kind: kinds[kinds.length - 1] };
  }

  /** Builds the full request from the caller's part and the current settings. */
  buildRequest(id: string, origin: RequestOrigin, input: RequestInput): CompletionRequest {
    const s = this.settings();
    return {
      id,
      ...input,
      languageId: origin.document.languageId,
      maxNewTokens: input.maxNewTokens ?? s.maxNewTokens,
      policy: s.policy,
      thresholds: { tau: s.threshold, clusterTau: s.clusterThreshold, temporalK: s.temporalSteps, temporalTau: s.temporalThreshold },
      options: { stopWhenAnswerFinal: true, ...endOptions() },
      emitSteps: true,
    };
  }

  /**
   * Runs a request. Resolves with the result (cancelled: true when cancelled); rejects with an EngineError on
   * failure, after reporting it to the user.
   */
  async complete(origin: RequestOrigin, request: CompletionRequest, onStep?: (e: StepEvent) => void): Promise<CompletionResult> {
    const client = this.ensureClient();
    client.cancelEditor(BASELINE_EDITOR_KEY); // user requests go first
    this.running.set(request.id, origin.kind);
    this.lastStep = undefined;
    this.fireActivity();
    const t0 = Date.now();
    try {
      const result = await client.complete(request, (e) => {
        this.lastStep = e.step;
        this.fireActivity();
        onStep?.(e);
      });
      const m = result.metrics;
      this.log.info(`${request.id} [${this.engineStatus.modelName ?? 'model'}]: ${result.cancelled ? 'cancelled' : 'done'} in ${Date.now() - t0} ms, ${m.tokens} tokens in ` +
        `${m.nfe} steps (${m.policy}, −${m.stepsSavedVsLladaPct}% vs llada), stop: ${result.stopReason}`);
      this.log.trace(`${request.id}: completion ${JSON.stringify(result.completion)}`);
      const summary = summarize(result, origin.kind, origin.document.languageId, path.basename(origin.document.uri.path));
      this.stats.add(summary);
      this.resultEmitter.fire({ request, result });
      if (!result.cancelled) {
        this.finishedRequests.set(summary.id, request);
        if (this.finishedRequests.size > 25) this.finishedRequests.delete(this.finishedRequests.keys().next().value!);
        if (this.measureBaselines) this.measureBaselinesFor(request, summary.id);
      }
      return result;
    } catch (err) {
      if (isCancellation(err)) {
        this.log.debug(`${request.id}: cancelled (${errorMessage(err)})`);
      } else if (err instanceof EngineError && err.code === 'WORKER_CRASHED') {
        this.log.warn(`${request.id}: ${errorMessage(err)}`); // the engine status reports the crash once
      } else {
        this.errors.report(origin.kind === 'fill' ? 'Fill Block failed' : 'Completion failed', err);
      }
      throw err instanceof EngineError ? err : new EngineError('INTERNAL', errorMessage(err));
    } finally {
      this.running.delete(request.id);
      this.fireActivity();
    }
  }

  cancel(requestId: string): void {
    (this.testClient ?? this.client)?.cancel(requestId);
  }

  /** Cancels every request in flight (before a model switch: nothing keeps decoding on the old model). */
  cancelAll(): void {
    for (const id of this.running.keys()) this.cancel(id);
  }

  /** The model folder the settings point at. */
  get modelDir(): string {
    return this.engineConfig().modelDir;
  }

  /**
   * Loads the configured model now, with a cancellable progress notification (onnxruntime reports no progress, so it
   * shows the elapsed time). Cancel stops the worker, which abandons the load. Resolves true when the model is ready.
   */
  async loadModel(label: string): Promise<boolean> {
    this.cancelAll();
    this.onSettingsChanged(); // the worker switches model: queued and running decodes of the old one are cancelled
    const client = this.ensureClient();
    const id = newRequestId('inline').replace('inline', 'load');
    const t0 = Date.now();
    // A one-token request: the worker loads the model for it; nothing is recorded in the session stats.
    const load = client.complete({ id, prefix: '// load\n', suffix: '', maxNewTokens: 1, policy: 'llada', emitSteps: false, editorKey: 'dllm:load' });
    let cancelled = false;
    this.showLoading(label, load, () => { cancelled = true; });
    try {
      await load;
      this.log.info(`${label} loaded in ${Date.now() - t0} ms (${this.engineStatus.executionProvider ?? '?'})`);
      return true;
    } catch (err) {
      if (cancelled || isCancellation(err)) return false;
      this.errors.report(`Loading ${label} failed`, err);
      return false;
    }
  }

  /**
   * A cancellable progress notification until `until` settles (onnxruntime reports no progress, so it shows the
   * elapsed time). Cancel stops the worker, which abandons the load; the next request starts a fresh one.
   */
  private showLoading(label: string, until: Promise<unknown>, onCancel?: () => void): void {
    if (this.loadingNotice) return;
    const ended = until.then(() => undefined, () => undefined);
    this.loadingNotice = ended;
    void vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification, title: `dLLM: loading ${label}`, cancellable: true,
    }, async (progress, token) => {
      const t0 = Date.now();
      const timer = setInterval(() => progress.report({ message: `${Math.round((Date.now() - t0) / 1000)} s` }), 1000);
      const cancel = token.onCancellationRequested(() => {
        this.log.info(`loading ${label} cancelled after ${Date.now() - t0} ms`);
        onCancel?.();
        void this.restart();
      });
      try {
        await ended;
      } finally {
        clearInterval(timer);
        cancel.dispose();
        if (this.loadingNotice === ended) this.loadingNotice = undefined;
      }
    });
  }

  /** The first load of a large model (on a first request) gets the same cancellable notification as Select Model. */
  private noticeLargeLoad(): void {
    const dir = this.modelDir;
    let bytes = 0;
    try { bytes = modelBytes(dir); } catch { return; }
    if (bytes < LARGE_MODEL_BYTES) return;
    const done = new Promise<void>((resolve) => {
      const sub = this.statusEmitter.event((s) => {
        if (s.state !== 'loading') { sub.dispose(); resolve(); }
      });
    });
    this.showLoading(`${path.basename(dir)} (${(bytes / 1024 ** 3).toFixed(1)} GiB)`, done);
  }

  /** Stops the worker; the next request starts a fresh one (after a settings fix, or a stuck model). */
  async restart(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.clientConfig = undefined;
    this.setStatus({ state: 'idle' });
    await old?.dispose();
    this.log.info('engine stopped; it restarts on the next request');
  }

  /** Applies model or provider changes to a running engine (it reloads on next use). */
  onSettingsChanged(): void {
    if (!this.client || !this.clientConfig) return;
    const next = this.engineConfig();
    if (next.modelDir !== this.clientConfig.modelDir || next.executionProvider !== this.clientConfig.executionProvider) {
      this.log.info(`engine reconfigured: model ${next.modelDir}, execution provider ${next.executionProvider}`);
      this.clientConfig = next;
      this.client.reconfigure(next);
    }
  }

  /** Internal, for tests: the engine client (started if needed). */
  get engineClient(): EngineClientLike {
    return this.ensureClient();
  }

  /** Internal, for tests: route requests to a scripted client (undefined: back to the real engine). */
  useClientForTests(client: EngineClientLike | undefined): void {
    this.testClient = client;
  }

  private engineConfig() {
    const s = this.settings();
    return { modelDir: resolveModelDir(s, this.extensionPath), executionProvider: s.executionProvider };
  }

  private ensureClient(): EngineClientLike {
    if (this.testClient) return this.testClient;
    if (this.client) return this.client;
    this.clientConfig = this.engineConfig();
    this.log.info(`starting the engine: model ${this.clientConfig.modelDir}, execution provider ${this.clientConfig.executionProvider}`);
    const client = new EngineClient({
      workerPath: path.join(this.extensionPath, 'dist', 'worker.js'),
      ...this.clientConfig,
      log: (level, message) => this.log[level](message),
    });
    client.onStatus((status) => {
      if (this.client === client) this.setStatus(status);
    });
    this.client = client;
    return client;
  }

  private setStatus(status: EngineStatus): void {
    const previous = this.engineStatus;
    this.engineStatus = status;
    if (status.state === 'loading' && previous.state !== 'loading') this.noticeLargeLoad();
    // Only crashes: a model that fails to load fails the request that loads it, and that request reports it.
    if (status.state === 'error' && status.error && status.error !== previous.error && status.errorCode === 'WORKER_CRASHED') {
      this.errors.report('Engine error', new EngineError(status.errorCode ?? 'INTERNAL', status.error));
    }
    if (status.fallbackReason && status.fallbackReason !== previous.fallbackReason) {
      this.log.warn(`execution provider: ${status.fallbackReason}`);
      // A provider the user chose explicitly did not start: say so once (the status bar item also turns yellow).
      const asked = status.requestedExecutionProvider;
      if (asked && asked !== 'auto' && !this.fallbackNotified.has(status.fallbackReason)) {
        this.fallbackNotified.add(status.fallbackReason);
        void vscode.window.showWarningMessage(`dLLM: the ${asked} execution provider is not available, so the model runs on the CPU: ` +
          `${status.fallbackReason}.`);
      }
    }
    this.statusEmitter.fire(status);
  }

  private fireActivity(): void {
    this.activityEmitter.fire(this.activity);
  }

  /** Re-runs a finished request with baselines in the background; the next user request cancels it. */
  private measureBaselinesFor(request: CompletionRequest, summaryId: string): void {
    const client = this.testClient ?? this.client;
    if (!client) return;
    // Fill All: the baseline is filling the same regions one after another.
    const baseline: CompletionRequest = request.fill
      ? { ...request, id: `${request.id}:sequential`, editorKey: BASELINE_EDITOR_KEY, emitSteps: false, fill: { ...request.fill, mode: 'sequential' } }
      : { ...request, id: `${request.id}:baselines`, editorKey: BASELINE_EDITOR_KEY, measureBaselines: true, emitSteps: false };
    client.complete(baseline).then((result) => {
      if (result.cancelled) return;
      if (result.fill) {
        this.stats.updateSequential(summaryId, result.fill.nfe, result.fill.ms);
        this.log.debug(`${request.id}: sequential filling takes ${result.fill.nfe} steps, ${result.fill.ms.toFixed(0)} ms`);
        return;
      }
      const m = result.metrics;
      this.stats.updateBaselines(summaryId, m.lladaNfe, m.fastDllmNfe);
      this.log.debug(`${request.id}: baselines llada ${m.lladaNfe}, fast-dllm ${m.fastDllmNfe ?? '—'} steps`);
    }, (err) => {
      if (!isCancellation(err)) this.log.warn(`baseline measurement for ${request.id} failed: ${errorMessage(err)}`);
    });
  }

  dispose(): void {
    void this.client?.dispose();
    this.client = undefined;
    for (const d of this.disposables) d.dispose();
  }
}
