// onnxruntime session: execution-provider choice with CPU fallback (and the reason), the load-time self-check against
// config.json, and one forward pass in the graph contract of models/FORMAT.md.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DEFAULT_INTRA_OP_THREADS } from './defaults';
import { EngineError } from './errors';
import { DEVICE_KV_PROVIDERS, DEVICE_LOCATION, DeviceKv, DeviceKvOps } from './deviceKv';
import { type KvCache, type KvDtype, KvRows } from './kvcache';
import type { ModelConfig } from './modelConfig';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from './protocol';
import { type PositionStats, statsFromTopK } from './stats';

export const GRAPH_INPUTS = ['input_ids', 'position_ids', 'past_keys', 'past_values', 'output_positions'] as const;
export const GRAPH_OUTPUTS = ['top_ids', 'top_probs', 'neg_entropy', 'present_keys', 'present_values'] as const;

/** One forward pass: the query tokens with their absolute positions, cached rows of the other tokens, wanted rows. */
export interface ForwardRequest {
  inputIds: readonly number[];
  positions: readonly number[];
  past: KvCache;
  /** Query rows whose statistics are returned, in this order. */
  outputRows: readonly number[];
  /** The caller keeps `present` (a cache to pick from or append to); otherwise device K/V are freed at once. */
  keepPresent?: boolean;
}

export interface ForwardResult {
  stats: PositionStats[];
  /** K/V rows of the query tokens (on the device when K/V live there; empty there unless keepPresent). */
  present: KvCache;
}

export type ForwardFn = (request: ForwardRequest) => Promise<ForwardResult>;

export interface ProviderChoice {
  /** Providers to try, in order (CPU is always the last resort). */
  candidates: string[];
  /** Why the requested provider cannot be used at all, known before trying. */
  unavailable?: string;
}

const PLATFORM_ONLY: Record<string, NodeJS.Platform> = { dml: 'win32', coreml: 'darwin' };

export function isExecutionProvider(name: unknown): name is ExecutionProviderName {
  return typeof name === 'string' && (EXECUTION_PROVIDERS as readonly string[]).includes(name);
}

/**
 * `auto` sends a model this large (its graph files) to a hardware GPU: the bundled 11 MB model's CPU pass takes
 * 4-48 ms, about what a GPU pass costs in kernel launches and transfers alone, while a 0.5B model's CPU pass takes
 * 0.2-1.5 s (README, bench-model). Smaller models stay on the CPU.
 */
export const AUTO_GPU_MIN_MODEL_BYTES = 64 * 1024 * 1024;

/** What `auto` looks at besides the platform. */
export interface AutoFacts {
  modelBytes: number;
  /** A hardware GPU is visible (a software Vulkan device such as lavapipe is not one: it is ~40× slower than the CPU). */
  hardwareGpu: boolean;
}

/** Linux: a DRM render node or an NVIDIA device; Windows and macOS always have a GPU driver to ask. */
export function hardwareGpuVisible(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux') return true;
  const dri = fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || fs.existsSync('/dev/nvidia0');
}

/** Bytes of a model's graph and its external weights (`model.onnx.data` and the like). */
export function modelBytesOf(modelFile: string): number {
  const dir = path.dirname(modelFile);
  const base = path.basename(modelFile);
  return fs.readdirSync(dir).filter((f) => f === base || f.startsWith(`${base}.`) || f.startsWith(`${base}_`))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * Which providers to try for a setting. `auto`: a large model (AUTO_GPU_MIN_MODEL_BYTES) on a machine with a hardware
 * GPU tries CUDA when its build is installed, else DirectML on Windows, CoreML on macOS or WebGPU, then the CPU; a
 * small model, or no hardware GPU, runs on the CPU.
 */
export function chooseProviders(requested: ExecutionProviderName, platform: NodeJS.Platform = process.platform,
  facts?: AutoFacts): ProviderChoice {
  if (!isExecutionProvider(requested)) {
    throw new EngineError('UNKNOWN_EP',
      `Unknown execution provider "${String(requested)}". Known: ${EXECUTION_PROVIDERS.join(', ')}.`);
  }
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  const usable = (ep: string): string | undefined => {
    if (ep === 'cpu') return undefined;
    const only = PLATFORM_ONLY[ep];
    if (only && only !== platform) return `${ep} is only available on ${only === 'win32' ? 'Windows' : 'macOS'}`;
    if (!backends.has(ep)) return `${ep} is not part of this onnxruntime-node build for ${platform}/${process.arch}`;
    return undefined;
  };
  if (requested === 'auto') {
    if (!facts || facts.modelBytes < AUTO_GPU_MIN_MODEL_BYTES || !facts.hardwareGpu) return { candidates: ['cpu'] };
    const gpu = backends.get('cuda') === true ? ['cuda'] : platform === 'win32' ? ['dml'] : platform === 'darwin' ? ['coreml'] : ['webgpu'];
    return { candidates: [...gpu.filter((ep) => !usable(ep)), 'cpu'] };
  }
  const reason = usable(requested);
  return reason ? { candidates: ['cpu'], unavailable: reason } : { candidates: requested === 'cpu' ? ['cpu'] : [requested, 'cpu'] };
}

/** A readable one-line reason from an onnxruntime error. */
export function providerFailureReason(ep: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/WebGPU adapter/i.test(message)) {
    return `no WebGPU adapter on this machine (${message.match(/Failed to get a WebGPU adapter[^\n]*/)?.[0] ?? message.trim()})`;
  }
  if (ep === 'cuda' && /shared library|libcudart|libcublas|libonnxruntime_providers/i.test(message)) {
    return 'the CUDA provider libraries are not installed (onnxruntime-node ships without them; install the CUDA build and CUDA 12)';
  }
  const line = message.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? message;
  return `${ep} failed to start: ${line.replace(/^.*\] : \d+ : \w+ : /, '')}`;
}

/**
 * The line every CLI command prints once a model is loaded: the provider that runs it and, when it is not the one
 * asked for, why (e.g. `execution provider: cpu (asked for webgpu: no WebGPU adapter on this machine ...)`).
 */
export function executionProviderLine(requested: string, running: { executionProvider: string; fallbackReason?: string | null }): string {
  const reason = running.fallbackReason?.replace(/; using the CPU$/, '');
  if (reason) return `execution provider: ${running.executionProvider} (asked for ${requested}: ${reason})`;
  if (requested !== running.executionProvider) return `execution provider: ${running.executionProvider} (asked for ${requested})`;
  return `execution provider: ${running.executionProvider}`;
}

/** Wall time of one forward pass and of the session.run inside it (bench-model's hook). */
export interface PassTiming {
  forwardMs: number;
  runMs: number;
  /** Bytes of the host tensors fed to and read from session.run (device-resident K/V excluded). */
  hostBytesIn: number;
  hostBytesOut: number;
}

export interface SessionOptions {
  executionProvider: ExecutionProviderName;
  intraOpNumThreads?: number;
  /** Do not fall back to CPU when the requested provider fails (tests that need a specific provider). */
  strictProvider?: boolean;
  /**
   * Where K/V live between passes: 'auto' keeps them on the device on a provider that can (WebGPU), else on the
   * host; 'host' always copies them through JavaScript (bench-model compares the two).
   */
  kvPlacement?: 'auto' | 'host';
}

export type KvPlacement = 'host' | 'device';

/** Bytes of the tensors that live in host memory (a device tensor is not copied by session.run). */
function hostBytes(tensors: Iterable<ort.Tensor>): number {
  let n = 0;
  for (const t of tensors) if (t.location === 'cpu' || t.location === 'cpu-pinned') n += (t.data as ArrayBufferView).byteLength;
  return n;
}

/**
 * Test-only fault injection (test/stress): DLLM_TEST_FAULT=ort-oom:N makes the first N forward passes after the
 * load-time self-check throw onnxruntime's allocation error, as a real out-of-memory would. Unset in normal use.
 */
function injectedOomPasses(): number {
  return Number(/^ort-oom:(\d+)$/.exec(process.env.DLLM_TEST_FAULT ?? '')?.[1] ?? 0);
}

/** The pick/append graphs on a provider, or why K/V must go through the host there. */
async function deviceKvOpsFor(ep: string, dtype: KvDtype): Promise<{ ops?: DeviceKvOps; reason?: string }> {
  try {
    return { ops: await DeviceKvOps.create(ep, dtype) };
  } catch (err) {
    return { reason: `K/V go through the host: the device K/V graphs failed on ${ep} (${err instanceof Error ? err.message.trim().split('\n')[0] : String(err)})` };
  }
}

/** The K/V element type a graph declares for past_keys (float32 when it does not say). */
export function declaredKvDtype(session: Pick<ort.InferenceSession, 'inputMetadata'>): KvDtype {
  const meta = session.inputMetadata?.find((m) => m.name === 'past_keys');
  return meta && meta.isTensor && meta.type === 'float16' ? 'float16' : 'float32';
}

/**
 * A float32 or float16 K/V tensor. float16 data are raw bit patterns (Uint16Array). Where the runtime has Float16Array
 * (Node 24, recent Electron), onnxruntime-common wraps such data in a Float16Array, which onnxruntime-node's native
 * binding reads as 0 bytes ("not enough space: expected N, got 0"); the tensor keeps the Uint16Array instead.
 */
export function kvTensor(data: Float32Array | Uint16Array, dims: readonly number[]): ort.Tensor {
  if (data instanceof Float32Array) return new ort.Tensor('float32', data, dims);
  const tensor = new ort.Tensor('float16', data, dims);
  if (!(tensor.data instanceof Uint16Array)) (tensor as unknown as { cpuData: Uint16Array }).cpuData = data;
  return tensor;
}

/** A K/V output tensor's data as kept in KvRows (float16 as raw bit patterns). */
function kvData(tensor: ort.Tensor): Float32Array | Uint16Array {
  const data = tensor.data as unknown;
  if (data instanceof Float32Array || data instanceof Uint16Array) return data;
  // Newer runtimes may hand float16 out as a Float16Array: keep its bits.
  const view = data as ArrayBufferView;
  return new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
}

export class ModelSession {
  private oomPasses = 0;
  /** Told the timing of every forward pass while set (bench-model); unset in normal use, costing one test per pass. */
  onPass: ((timing: PassTiming) => void) | undefined = undefined;
  private readonly endIds: ReadonlySet<number>;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: ModelConfig,
    readonly executionProvider: string,
    readonly fallbackReason: string | undefined,
    private readonly forbidden: ReadonlySet<number>,
    /** K/V element type, as the graph declares past_keys (config.json's kv_dtype must agree). */
    readonly kvDtype: KvDtype,
    /** Set when K/V stay on the device between passes (deviceKv.ts). */
    private readonly deviceKv: DeviceKvOps | undefined,
    /** Why K/V go through the host on a GPU provider (the device cache could not be set up); undefined otherwise. */
    readonly kvHostReason: string | undefined,
  ) {
    this.endIds = new Set(config.endIds);
  }

  /** Where K/V live between passes. */
  get kvPlacement(): KvPlacement {
    return this.deviceKv ? 'device' : 'host';
  }

  /** Device caches still held (0 after every request; tests check it). */
  get liveDeviceCaches(): number {
    return this.deviceKv?.liveCaches ?? 0;
  }

  /** Frees whatever device K/V a finished or failed decode still holds. */
  releaseDeviceKv(): void {
    this.deviceKv?.releaseAll();
  }

  static async create(modelFile: string, config: ModelConfig, options: SessionOptions): Promise<ModelSession> {
    const choice = chooseProviders(options.executionProvider, process.platform,
      options.executionProvider === 'auto' ? { modelBytes: modelBytesOf(modelFile), hardwareGpu: hardwareGpuVisible() } : undefined);
    if (options.strictProvider && choice.unavailable) {
      throw new EngineError('UNKNOWN_EP', `Execution provider ${options.executionProvider} unavailable: ${choice.unavailable}.`);
    }
    const reasons: string[] = choice.unavailable ? [choice.unavailable] : [];
    let lastError: unknown;
    for (const ep of choice.candidates) {
      let session: ort.InferenceSession;
      // The pick/append graphs first: when they fail, the model's session must not return device K/V.
      const { ops: deviceKv, reason: kvHostReason } = options.kvPlacement !== 'host' && DEVICE_KV_PROVIDERS.includes(ep)
        ? await deviceKvOpsFor(ep, config.kvDtype) : { ops: undefined, reason: undefined };
      const kvOnDevice = deviceKv !== undefined;
      try {
        session = await ort.InferenceSession.create(modelFile, {
          ...(kvOnDevice ? { preferredOutputLocation: { present_keys: DEVICE_LOCATION, present_values: DEVICE_LOCATION } } : {}),
          executionProviders: [ep],
          intraOpNumThreads: options.intraOpNumThreads ?? DEFAULT_INTRA_OP_THREADS,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          logSeverityLevel: 3,
          // ORT's pool threads spin after each pass by default, burning CPU while the user types (3-4× the CPU of a
          // decode on 2 cores, and slower passes when the cores are shared); let them sleep instead.
          extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        });
      } catch (err) {
        lastError = err;
        await deviceKv?.dispose().catch(() => undefined);
        if (ep === 'cpu') break;
        reasons.push(providerFailureReason(ep, err));
        if (options.strictProvider) throw new EngineError('UNKNOWN_EP', `Execution provider ${ep} unavailable: ${reasons.at(-1)}.`);
        continue;
      }
      const forbidden = new Set([config.maskId, config.bosId].filter((id) => id >= 0));
      const kvDtype = declaredKvDtype(session);
      const model = new ModelSession(session, config, ep, reasons.length ? reasons.join('; ') + '; using the CPU' : undefined,
        forbidden, kvDtype, deviceKv, kvHostReason);
      try {
        await model.selfCheck();
      } catch (err) {
        await deviceKv?.dispose().catch(() => undefined);
        await session.release().catch(() => undefined);
        throw err;
      }
      model.oomPasses = injectedOomPasses();
      return model;
    }
    throw new EngineError('MODEL_CORRUPT',
      `${modelFile} could not be loaded by onnxruntime: ${lastError instanceof Error ? lastError.message.trim() : String(lastError)}`);
  }

  /** A tiny pass that checks the graph's names and shapes against config.json. */
  private async selfCheck(): Promise<void> {
    const { session, config } = this;
    const missingIn = GRAPH_INPUTS.filter((n) => !session.inputNames.includes(n));
    const missingOut = GRAPH_OUTPUTS.filter((n) => !session.outputNames.includes(n));
    if (missingIn.length || missingOut.length) {
      throw new EngineError('MODEL_CORRUPT', `model.onnx does not follow the model format: missing ` +
        `${[...missingIn.map((n) => `input ${n}`), ...missingOut.map((n) => `output ${n}`)].join(', ')}.`);
    }
    const { nLayers, nKvHeads, headDim } = config;
    if (this.kvDtype !== config.kvDtype) {
      throw new EngineError('MODEL_CORRUPT', `model.onnx declares ${this.kvDtype} past_keys, config.json says kv_dtype ${config.kvDtype}.`);
    }
    let result: ForwardResult;
    try {
      result = await this.forward({
        inputIds: [config.bosId >= 0 ? config.bosId : config.padId, config.maskId], positions: [0, 1],
        past: KvRows.empty(nLayers, nKvHeads, headDim, this.kvDtype), outputRows: [1],
      });
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('MODEL_CORRUPT',
        `model.onnx does not match config.json (n_layers ${nLayers}, n_kv_heads ${nKvHeads}, head_dim ${headDim}, ` +
        `top_k ${config.topK}): ${err instanceof Error ? err.message.trim().split('\n').pop() : String(err)}`);
    }
    if (!(result.stats[0].tokenId >= 0 && result.stats[0].tokenId < config.vocabSize)) {
      throw new EngineError('VOCAB_MISMATCH',
        `model.onnx produced token id ${result.stats[0].tokenId}, outside config.json's vocab_size ${config.vocabSize}.`);
    }
  }

  readonly forward: ForwardFn = async ({ inputIds, positions, past, outputRows, keepPresent }) => {
    const started = this.onPass ? performance.now() : 0;
    const { nLayers, nKvHeads, headDim, topK } = this.config;
    const q = inputIds.length;
    if (past.dtype !== this.kvDtype) throw new EngineError('INTERNAL', `past K/V are ${past.dtype}, the graph wants ${this.kvDtype}.`);
    let pastKeys: ort.Tensor;
    let pastValues: ort.Tensor;
    if (past instanceof DeviceKv) {
      past.assertLive();
      ({ keys: pastKeys, values: pastValues } = past);
    } else if (past instanceof KvRows) {
      pastKeys = kvTensor(past.keys, past.dims);
      pastValues = kvTensor(past.values, past.dims);
    } else {
      throw new EngineError('INTERNAL', 'past K/V are neither host rows nor device tensors.');
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(inputIds, BigInt), [1, q]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(positions, BigInt), [1, q]),
      past_keys: pastKeys,
      past_values: pastValues,
      output_positions: new ort.Tensor('int64', BigInt64Array.from(outputRows, BigInt), [1, outputRows.length]),
    };
    if (this.oomPasses > 0) {
      this.oomPasses--;
      throw new Error('Non-zero status code returned while running MatMul node. Status Message: bfc_arena.cc:376 ' +
        'AllocateRawInternal Failed to allocate memory for requested buffer of size 4294967296 (injected by DLLM_TEST_FAULT)');
    }
    const runStarted = this.onPass ? performance.now() : 0;
    const out = await this.session.run(feeds);
    const runMs = this.onPass ? performance.now() - runStarted : 0;
    const topIds = out.top_ids;
    const k = topIds.dims[2];
    if (topIds.dims[1] !== outputRows.length || k !== topK) {
      throw new EngineError('MODEL_CORRUPT',
        `model.onnx returned top_ids of shape [${topIds.dims.join(', ')}], expected [1, ${outputRows.length}, ${topK}].`);
    }
    const presentDims = out.present_keys.dims;
    if (presentDims[0] !== nLayers || presentDims[2] !== nKvHeads || presentDims[3] !== q || presentDims[4] !== headDim) {
      if (this.deviceKv) { out.present_keys.dispose(); out.present_values.dispose(); }
      throw new EngineError('MODEL_CORRUPT', `model.onnx returned present_keys of shape [${presentDims.join(', ')}], ` +
        `expected [${nLayers}, 1, ${nKvHeads}, ${q}, ${headDim}] (n_kv_heads ${nKvHeads}).`);
    }
    const ids = topIds.data as BigInt64Array;
    const probs = out.top_probs.data as Float32Array;
    const negEntropy = out.neg_entropy.data as Float32Array;
    const stats = outputRows.map((_, j) => statsFromTopK(ids, probs, negEntropy, k, j, this.forbidden, this.config.padId, this.endIds));
    let present: KvCache;
    if (!this.deviceKv) {
      present = new KvRows(nLayers, nKvHeads, headDim, q, kvData(out.present_keys), kvData(out.present_values));
    } else if (keepPresent) {
      present = this.deviceKv.wrap(out.present_keys, out.present_values);
    } else {
      out.present_keys.dispose();
      out.present_values.dispose();
      present = KvRows.empty(nLayers, nKvHeads, headDim, this.kvDtype);
    }
    this.onPass?.({
      forwardMs: performance.now() - started, runMs,
      hostBytesIn: hostBytes(Object.values(feeds)), hostBytesOut: hostBytes(Object.values(out) as ort.Tensor[]),
    });
    return { stats, present };
  };

  /** Runs the graph on raw feeds (check-model replays the converter's self-check inputs); host outputs only. */
  async run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    const host: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(await this.session.run(feeds))) {
      if (tensor.location === 'cpu') host[name] = tensor;
      else tensor.dispose(); // device K/V nobody reads
    }
    return host;
  }

  async release(): Promise<void> {
    await this.deviceKv?.dispose().catch(() => undefined);
    await this.session.release();
  }
}
