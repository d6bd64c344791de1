// The engine: loads a model directory lazily, then turns completion requests into completions with step events and
// metrics. No vscode, no threads: the worker (worker.ts) and the CLI both drive this class.
import { buildCanvas, trimForEncoding } from './canvas';
import { decode, type DecodeModel, type DecodeOutcome } from './decoder';
import { EngineError, toEngineError } from './errors';
import { fillCompletionResult, runFill } from './fill';
import { requestMetrics } from './metrics';
import { checkModelFitsMemory } from './memory';
import { isEndToken, type ModelConfig, modelPaths, readModelConfig } from './modelConfig';
import type {
  CommitInfo, CompletionRequest, CompletionResult, EngineConfig, EngineStatus, PolicyName, StepEvent, StopReason,
} from './protocol';
import { type DecodeSettings, resolveRequest } from './request';
import { ModelSession } from './session';
import { TextTokenizer } from './tokenizer';
import { closeLastLine } from './wholeLines';

export interface LoadedModel {
  config: ModelConfig;
  tokenizer: TextTokenizer;
  session: ModelSession;
  loadMs: number;
}

/** A decode's raw trajectory in token ids (training data for the redundancy-aware SFT). */
export interface DecodeTrace {
  /** Context before the canvas (BOS included when used) and after it, as fed to the model. */
  prefixIds: number[];
  suffixIds: number[];
  canvasLength: number;
  steps: { commits: [index: number, tokenId: number, confidence: number][]; predictions: [index: number, tokenId: number, p1: number][] }[];
}

export interface RequestHooks {
  onStep?: (event: StepEvent) => void;
  /** Receives the whole trajectory once decoding ends. */
  onTrace?: (trace: DecodeTrace) => void;
  /** Checked before every forward pass. */
  isCancelled?: () => boolean;
}

export interface EngineOptions {
  /** Fail instead of falling back to the CPU when the requested provider is unavailable. */
  strictProvider?: boolean;
  /** 'host' copies K/V through JavaScript even on a provider that can keep them on the device (bench-model). */
  kvPlacement?: 'auto' | 'host';
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const NEWLINE = /\r?\n/;

/** The answer's tokens: the canvas up to its first end token or mask. */
function answerTokens(config: ModelConfig, ids: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length && !isEndToken(config, ids[i]) && ids[i] !== config.maskId; i++) out.push(ids[i]);
  return out;
}

/** When a request's decode may stop early: a single-line request at its first newline, or the answer ended. */
function answerIsFinalRule(model: LoadedModel, settings: DecodeSettings, request: CompletionRequest) {
  const { config, tokenizer } = model;
  return (prefix: ArrayLike<number>): StopReason | undefined => {
    if (request.singleLine === true && NEWLINE.test(tokenizer.decode(answerTokens(config, prefix)))) return 'single-line';
    if (settings.options.stopWhenAnswerFinal && Array.prototype.some.call(prefix, (id: number) => isEndToken(config, id))) return 'answer-final';
    return undefined;
  };
}

export class Engine {
  private loading: Promise<LoadedModel> | undefined;
  private loaded: LoadedModel | undefined;
  private lastError: EngineError | undefined;
  private busy = false;
  /** The request being decoded; dispose() waits for it so the session is never released under a running pass. */
  private active: Promise<unknown> | undefined;

  constructor(readonly config: EngineConfig, private readonly engineOptions: EngineOptions = {}) {}

  status(): EngineStatus {
    const base = { modelDir: this.config.modelDir, requestedExecutionProvider: this.config.executionProvider };
    if (this.loaded) {
      return {
        ...base, state: this.busy ? 'busy' : 'ready', modelName: this.loaded.config.name,
        modelFamily: this.loaded.config.family, modelPrecision: this.loaded.config.precision, modelParams: this.loaded.config.nParams,
        executionProvider: this.loaded.session.executionProvider, fallbackReason: this.loaded.session.fallbackReason,
      };
    }
    if (this.loading) return { ...base, state: 'loading' };
    if (this.lastError) return { ...base, state: 'error', error: this.lastError.message, errorCode: this.lastError.code };
    return { ...base, state: 'idle' };
  }

  /** Loads the model once; a failed load is retried by the next call. */
  load(): Promise<LoadedModel> {
    if (this.loaded) return Promise.resolve(this.loaded);
    this.loading ??= this.loadNow().then(
      (m) => { this.loaded = m; this.loading = undefined; this.lastError = undefined; return m; },
      (err) => { this.loading = undefined; this.lastError = toEngineError(err); throw this.lastError; },
    );
    return this.loading;
  }

  private async loadNow(): Promise<LoadedModel> {
    const t0 = performance.now();
    const paths = modelPaths(this.config.modelDir);
    const config = readModelConfig(paths.config);
    const tokenizer = TextTokenizer.load(paths.tokenizer, config);
    checkModelFitsMemory(paths.dir);
    const session = await ModelSession.create(paths.model, config, {
      executionProvider: this.config.executionProvider,
      intraOpNumThreads: this.config.intraOpNumThreads,
      strictProvider: this.engineOptions.strictProvider,
      kvPlacement: this.engineOptions.kvPlacement,
    });
    const loadMs = performance.now() - t0;
    this.engineOptions.log?.('info', `Loaded ${config.name} from ${paths.dir} on ${session.executionProvider} ` +
      `(K/V on the ${session.kvPlacement}) in ${loadMs.toFixed(0)} ms.`);
    if (session.fallbackReason) this.engineOptions.log?.('warn', `Execution provider: ${session.fallbackReason}.`);
    if (session.kvHostReason) this.engineOptions.log?.('warn', `${session.kvHostReason}.`);
    return { config, tokenizer, session, loadMs };
  }

  async complete(request: CompletionRequest, hooks: RequestHooks = {}): Promise<CompletionResult> {
    const alreadyLoaded = this.loaded !== undefined;
    const model = await this.load();
    // A Fill All request is checked like a completion whose prefix and suffix are the code around the holes.
    const settings = resolveRequest(request.fill
      ? { ...request, prefix: request.fill.pieces?.[0] ?? '', suffix: request.fill.pieces?.slice(1).join('') ?? '' }
      : request, model.config.blockSize);
    this.busy = true;
    const running = request.fill
      ? this.fill(model, request, settings, hooks, alreadyLoaded ? 0 : model.loadMs)
      : this.run(model, request, settings, hooks, alreadyLoaded ? 0 : model.loadMs);
    this.active = running;
    try {
      return await running;
    } catch (err) {
      throw toEngineError(err);
    } finally {
      model.session.releaseDeviceKv(); // whatever a cancelled or failed decode still held on the device
      this.busy = false;
      if (this.active === running) this.active = undefined;
    }
  }

  private decodeModel(model: LoadedModel): DecodeModel {
    const { config, session, tokenizer } = model;
    return {
      forward: session.forward, maskId: config.maskId, endId: config.padId, endIds: config.endIds,
      logitShift: config.logitShift, attention: config.attention, blockSize: config.blockSize, kvDtype: session.kvDtype,
      kvCache: config.kvCache, nLayers: config.nLayers, nHeads: config.nKvHeads, headDim: config.headDim,
      checkId: (id) => tokenizer.checkId(id),
      isBlank: (id) => tokenizer.tokenText(id).trim() === '',
    };
  }

  private encodeContext(model: LoadedModel, request: CompletionRequest, canvasLength: number) {
    const { tokenizer, config } = model;
    const budget = config.maxLength - canvasLength;
    let chars = config.maxLength * 16;
    for (;;) {
      const window = trimForEncoding(request.prefix, request.suffix, chars);
      const prefixIds = tokenizer.encode(window.prefix);
      const suffixIds = tokenizer.encode(window.suffix);
      // A side cut by characters must still hold a whole budget of tokens; otherwise widen the window and retry.
      const prefixEnough = window.prefix.length === request.prefix.length || prefixIds.length >= budget;
      const suffixEnough = window.suffix.length === request.suffix.length || suffixIds.length >= budget;
      if (prefixEnough && suffixEnough) return { prefixIds, suffixIds };
      chars *= 2;
    }
  }

  private async run(model: LoadedModel, request: CompletionRequest, settings: DecodeSettings, hooks: RequestHooks,
    loadMs: number): Promise<CompletionResult> {
    const t0 = performance.now();
    const { config, tokenizer } = model;
    const { prefixIds, suffixIds } = this.encodeContext(model, request, settings.maxNewTokens);
    const layout = buildCanvas({
      prefixIds, suffixIds, canvasLength: settings.maxNewTokens, maxLength: config.maxLength,
      maskId: config.maskId, bosId: config.bosId, useBos: config.bosId >= 0 && request.prefixIsFileStart !== false,
    });
    const cleanLength = (s: string) => s.replace(/\uE000/g, '').length;
    const keptPrefixText = tokenizer.decode(prefixIds.slice(prefixIds.length - layout.prefixTokens));
    const keptSuffixText = tokenizer.decode(suffixIds.slice(0, layout.suffixTokens));
    const truncatedPrefixChars = Math.max(0, cleanLength(request.prefix) - keptPrefixText.length);
    const truncatedSuffixChars = Math.max(0, cleanLength(request.suffix) - keptSuffixText.length);

    const { maskId } = config;
    const singleLine = request.singleLine === true;
    const emit = request.emitSteps !== false && hooks.onStep !== undefined;
    let firstCommitMs = 0;
    const trace: DecodeTrace | undefined = hooks.onTrace && {
      prefixIds: Array.from(layout.sequence.subarray(0, layout.canvasStart)),
      suffixIds: Array.from(layout.sequence.subarray(layout.canvasEnd)),
      canvasLength: layout.canvasEnd - layout.canvasStart, steps: [],
    };
    const outcome = await decode(this.decodeModel(model), {
      sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd, hasBos: layout.hasBos,
      spec: settings.spec, thresholds: settings.thresholds, options: settings.options,
      isCancelled: hooks.isCancelled,
      onStep: (info) => {
        if (firstCommitMs === 0) firstCommitMs = performance.now() - t0;
        trace?.steps.push({
          commits: info.commits.map((c) => [c.index, c.tokenId, c.confidence]),
          predictions: info.stats.map((st, i) => [info.blockStart + i, st.tokenId, st.p1]),
        });
        if (!emit) return;
        const commits: CommitInfo[] = info.commits.map((c) => ({
          index: c.index, tokenId: c.tokenId, text: tokenizer.tokenText(c.tokenId), rule: c.rule, confidence: c.confidence,
        }));
        const canvas = Array.from(info.canvas, (t) => (t === maskId ? null : tokenizer.tokenText(t)));
        hooks.onStep!({
          requestId: request.id, step: info.step, commits,
          stablePrefix: tokenizer.decode(answerTokens(config, info.canvas)),
          canvas, maskedRemaining: canvas.filter((t) => t === null).length,
        });
      },
      answerIsFinal: answerIsFinalRule(model, settings, request),
    });

    if (trace) hooks.onTrace!(trace);
    const tokenIds = answerTokens(config, outcome.canvas);
    const text = tokenizer.decode(tokenIds);
    const completion = singleLine ? text.split(NEWLINE)[0] : closeLastLine(text, request.prefix, request.suffix);
    const ms = performance.now() - t0;
    const baselines = request.measureBaselines ? await this.baselines(model, layout, request) : {};
    const metrics = requestMetrics({
      outcome, policy: settings.policy, executionProvider: model.session.executionProvider,
      completionTokens: tokenIds.length, ms, timeToFirstCommitMs: firstCommitMs, canvasLength: settings.maxNewTokens,
      ...baselines,
      prefixTokens: layout.prefixTokens, suffixTokens: layout.suffixTokens,
      truncatedPrefixChars, truncatedSuffixChars, loadMs,
    });
    return {
      requestId: request.id, completion, cancelled: outcome.stopReason === 'cancelled', stopReason: outcome.stopReason,
      tokenIds, metrics,
      trace: outcome.commits.map((c) => ({
        index: c.index, text: tokenizer.tokenText(c.tokenId), step: c.step, rule: c.rule, confidence: c.confidence,
      })),
      commitsPerStep: outcome.commitsPerStep,
    };
  }

  /** Fill All: every hole of the request (fill.ts), and the other mode's cost when asked for. */
  private async fill(model: LoadedModel, request: CompletionRequest, settings: DecodeSettings, hooks: RequestHooks,
    loadMs: number): Promise<CompletionResult> {
    const result = await runFill(model, this.decodeModel(model), request, settings, hooks);
    const cancelled = hooks.isCancelled?.() === true || result.holes.some((h) => h.stopReason === 'cancelled');
    if (request.fill!.measureOtherMode && !cancelled) {
      const mode = result.mode === 'joint' ? 'sequential' : 'joint';
      const other = await runFill(model, this.decodeModel(model), { ...request, emitSteps: false }, settings,
        { isCancelled: hooks.isCancelled }, mode);
      result.other = { mode, nfe: other.nfe, ms: other.ms, queryTokens: other.queryTokens };
    }
    return fillCompletionResult(request, result, model.session.executionProvider, settings, loadMs, cancelled);
  }

  /**
   * NFE of the same request decoded under plain llada and fast-dllm: its canvas, thresholds, options and stopping rules,
   * only the policy (and that policy's default cache) changed (fresh copies; no events).
   */
  private async baselines(model: LoadedModel, layout: ReturnType<typeof buildCanvas>,
    request: CompletionRequest): Promise<{ lladaNfe: number; fastDllmNfe: number }> {
    const run = async (policy: PolicyName): Promise<DecodeOutcome> => {
      const settings = resolveRequest({ ...request, policy }, model.config.blockSize);
      const sequence = layout.sequence.slice();
      sequence.fill(model.config.maskId, layout.canvasStart, layout.canvasEnd);
      return decode(this.decodeModel(model), {
        sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd, hasBos: layout.hasBos,
        spec: settings.spec, thresholds: settings.thresholds, options: settings.options,
        answerIsFinal: answerIsFinalRule(model, settings, request),
      });
    };
    return { lladaNfe: (await run('llada')).nfe, fastDllmNfe: (await run('fast-dllm')).nfe };
  }

  /** Releases the model once the request in flight (if any) has finished; cancel it first to make that quick. */
  async dispose(): Promise<void> {
    await this.active?.catch(() => undefined);
    const loaded = this.loaded ?? (this.loading ? await this.loading.catch(() => undefined) : undefined);
    this.loaded = undefined;
    await loaded?.session.release().catch(() => undefined);
  }
}
