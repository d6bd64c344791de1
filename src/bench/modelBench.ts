// bench-model: what one forward pass of a model folder costs on an execution provider. Per-pass latency at canvas
// 32 / 64 / 128 with each cache mode over a fixed ~400-token code context, the bytes each pass copies into and out
// of onnxruntime (measured: the host tensors of each pass; K/V kept on the device are not copied), the share of a real
// decode step spent outside session.run, load time and peak memory.
// The passes go through the engine's own ModelSession.forward, fed as the decoder feeds the first block of a canvas.
import { DEFAULT_MAX_NEW_TOKENS } from '../engine/defaults';
import { Engine, type LoadedModel } from '../engine/engine';
import { type KvCache, KvRows } from '../engine/kvcache';
import type { CacheMode, ExecutionProviderName, PolicyName } from '../engine/protocol';
import { executionProviderLine, type ForwardRequest, type PassTiming } from '../engine/session';
import { percentile } from './textMetrics';

export const BENCH_CANVASES = [32, 64, 128] as const;
export const BENCH_CACHE_MODES: readonly CacheMode[] = ['none', 'prefix', 'dual'];
/** Context around the canvas: about 400 tokens, a quarter of them after it (fewer when the window is smaller). */
export const CONTEXT_TOKENS = 400;
const SUFFIX_SHARE = 0.25;
const STEP_POLICY: PolicyName = 'r2';

export interface ModelBenchOptions {
  modelDir: string;
  executionProvider: ExecutionProviderName;
  /** Source code the fixed context is cut from (tokenized with the model's tokenizer). */
  contextText: string;
  /** Where contextText came from, for the report. */
  contextSource?: string;
  /** Timed passes per canvas and cache mode (default 10), after warmUp untimed ones (default 2). */
  passes?: number;
  warmUp?: number;
  /** Timed decodes of one request for the outside-session.run share (default 3, after one warm-up; 0: none). */
  stepRequests?: number;
  /** 'host' copies K/V through JavaScript even where they could stay on the device (to compare the two). */
  kvPlacement?: 'auto' | 'host';
  log?: (line: string) => void;
  command?: string;
}

/** One forward pass shape and what it cost. */
export interface PassCost {
  canvas: number;
  cache: CacheMode;
  /** Tokens fed (the query) and cached rows fed as past K/V. */
  fedTokens: number;
  pastTokens: number;
  /** Wall time of ModelSession.forward (tensors built and read included), and of the session.run inside it. */
  medianMs: number;
  p95Ms: number;
  runMedianMs: number;
  /** Bytes of the host tensors fed to and read from session.run (K/V included unless they stay on the device). */
  bytesIn: number;
  bytesOut: number;
}

/** Where a real decode's time goes. */
export interface StepShare {
  canvas: number;
  policy: PolicyName;
  requests: number;
  nfe: number;
  decodeMs: number;
  forwardMs: number;
  runMs: number;
  /** Share of the decode spent outside session.run: building / reading tensors plus rules and bookkeeping. */
  outsideRunShare: number;
  /** Inside ModelSession.forward but outside session.run (feeds built, statistics and K/V read back). */
  tensorShare: number;
  /** Outside forward: the policy's rules, cache selection, canvas bookkeeping, tokenization. */
  rulesShare: number;
}

export interface ModelBenchReport {
  model: string;
  modelDir: string;
  requestedExecutionProvider: string;
  executionProvider: string;
  /** Why the provider asked for was not used; null when it ran. */
  fallbackReason: string | null;
  /** What the byte columns are on this provider. */
  bytesMeaning: string;
  kvDtype: string;
  /** Where K/V live between passes: 'device' (never copied) or 'host' (through JavaScript every pass). */
  kvPlacement: 'host' | 'device';
  shape: { nLayers: number; nKvHeads: number; headDim: number; topK: number; blockSize: number };
  context: { source?: string; prefixTokens: number; suffixTokens: number };
  passes: number;
  warmUp: number;
  loadMs: number;
  peakRssMb: number;
  rows: PassCost[];
  /** Absent when no decode was timed (stepRequests 0). */
  step?: StepShare;
  date: string;
  command?: string;
}

const INT64_BYTES = 8;
const FLOAT32_BYTES = 4;
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const median = (values: readonly number[]) => percentile(values, 50);

/** Tensor bytes of one pass in the graph contract of models/FORMAT.md (both K and V counted). */
export function passBytes(shape: ModelBenchReport['shape'], kvBytes: number, fed: number, past: number, outputRows: number) {
  const kv = (tokens: number) => 2 * shape.nLayers * shape.nKvHeads * tokens * shape.headDim * kvBytes;
  // input_ids, position_ids, output_positions; past_keys, past_values
  const bytesIn = INT64_BYTES * (2 * fed + outputRows) + kv(past);
  // top_ids, top_probs, neg_entropy; present_keys, present_values
  const bytesOut = outputRows * shape.topK * (INT64_BYTES + FLOAT32_BYTES) + outputRows * FLOAT32_BYTES + kv(fed);
  return { bytesIn, bytesOut };
}

/** The fixed context: BOS (when the model has one) and prefix tokens before the canvas, suffix tokens after it. */
function fixedContext(model: LoadedModel, text: string, maxCanvas: number) {
  const { config, tokenizer } = model;
  const ids = tokenizer.encode(text);
  const bos = config.bosId >= 0 ? [config.bosId] : [];
  const total = Math.min(CONTEXT_TOKENS, config.maxLength - maxCanvas, ids.length + bos.length);
  const suffixTokens = Math.round(total * SUFFIX_SHARE);
  const prefixIds = [...bos, ...ids.slice(0, total - suffixTokens - bos.length)];
  const suffixIds = ids.slice(total - suffixTokens - bos.length, total - bos.length);
  return { prefixIds, suffixIds, hasBos: bos.length > 0 };
}

/** The three feeds of a canvas's first block: everything (none), block to end (prefix), the block alone (dual). */
async function feedsFor(model: LoadedModel, sequence: number[], canvasStart: number, full: KvCache): Promise<Map<CacheMode, ForwardRequest>> {
  const { logitShift, blockSize } = model.config;
  const all = range(0, sequence.length);
  const blockEnd = Math.min(canvasStart + blockSize, sequence.length);
  const queryStart = Math.max(0, canvasStart - logitShift); // shifted models also feed the token before the block
  const request = async (query: number[]): Promise<ForwardRequest> => {
    const inQuery = new Set(query);
    const rowOf = new Map(query.map((p, i) => [p, i]));
    return {
      inputIds: query.map((p) => sequence[p]), positions: query,
      past: await full.pick(all.filter((p) => !inQuery.has(p))),
      outputRows: range(canvasStart, blockEnd).map((p) => rowOf.get(Math.max(0, p - logitShift)) ?? rowOf.get(p)!),
    };
  };
  return new Map<CacheMode, ForwardRequest>([
    ['none', await request(all)],
    ['prefix', await request(all.filter((p) => p >= queryStart))],
    ['dual', await request(range(queryStart, blockEnd))],
  ]);
}

async function timePasses(model: LoadedModel, feed: ForwardRequest, warmUp: number, passes: number) {
  const runMs: number[] = [];
  const forwardMs: number[] = [];
  let bytesIn = 0;
  let bytesOut = 0;
  for (let i = 0; i < warmUp; i++) await model.session.forward(feed);
  model.session.onPass = (t: PassTiming) => {
    runMs.push(t.runMs);
    forwardMs.push(t.forwardMs);
    ({ hostBytesIn: bytesIn, hostBytesOut: bytesOut } = t);
  };
  try {
    for (let i = 0; i < passes; i++) await model.session.forward(feed);
  } finally {
    model.session.onPass = undefined;
  }
  return { medianMs: median(forwardMs), p95Ms: percentile(forwardMs, 95), runMedianMs: median(runMs), bytesIn, bytesOut };
}

/** Decodes one request with the engine (as infill does) and splits its wall time around session.run. */
async function stepShare(engine: Engine, model: LoadedModel, prefix: string, suffix: string, requests: number): Promise<StepShare> {
  const request = (id: string) => ({ id, prefix, suffix, maxNewTokens: DEFAULT_MAX_NEW_TOKENS, policy: STEP_POLICY, emitSteps: false });
  await engine.complete(request('warm-up'));
  let forwardMs = 0;
  let runMs = 0;
  let decodeMs = 0;
  let nfe = 0;
  model.session.onPass = (t) => { forwardMs += t.forwardMs; runMs += t.runMs; };
  try {
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      const result = await engine.complete(request(`step-${i}`));
      decodeMs += performance.now() - t0;
      nfe += result.metrics.nfe;
    }
  } finally {
    model.session.onPass = undefined;
  }
  return {
    canvas: DEFAULT_MAX_NEW_TOKENS, policy: STEP_POLICY, requests, nfe, decodeMs, forwardMs, runMs,
    outsideRunShare: 1 - runMs / decodeMs, tensorShare: (forwardMs - runMs) / decodeMs, rulesShare: 1 - forwardMs / decodeMs,
  };
}

export async function runModelBench(o: ModelBenchOptions): Promise<ModelBenchReport> {
  const log = o.log ?? (() => undefined);
  const passes = o.passes ?? 10;
  const warmUp = o.warmUp ?? 2;
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: o.executionProvider }, { kvPlacement: o.kvPlacement });
  try {
    const model = await engine.load();
    log(`${executionProviderLine(o.executionProvider, model.session)}; K/V on the ${model.session.kvPlacement}` +
      `${model.session.kvHostReason ? ` (${model.session.kvHostReason})` : ''}`);
    const { config, session, tokenizer } = model;
    const shape = { nLayers: config.nLayers, nKvHeads: config.nKvHeads, headDim: config.headDim, topK: config.topK, blockSize: config.blockSize };
    const canvases = BENCH_CANVASES.filter((c) => c <= config.maxLength / 2);
    const context = fixedContext(model, o.contextText, Math.max(...canvases));
    const rows: PassCost[] = [];
    for (const canvas of canvases) {
      const sequence = [...context.prefixIds, ...Array<number>(canvas).fill(config.maskId), ...context.suffixIds];
      // The K/V the cached modes take as past: those of a full pass over the sequence, as the decoder keeps them.
      const full = await session.forward({
        inputIds: sequence, positions: range(0, sequence.length), past: emptyPast(model), outputRows: [0], keepPresent: true,
      });
      const feeds = await feedsFor(model, sequence, context.prefixIds.length, full.present);
      full.present.release();
      for (const [cache, feed] of feeds) {
        const timing = await timePasses(model, feed, warmUp, passes);
        feed.past.release();
        const row: PassCost = { canvas, cache, fedTokens: feed.inputIds.length, pastTokens: feed.past.length, ...timing };
        rows.push(row);
        log(`canvas ${canvas} ${cache.padEnd(6)} fed ${row.fedTokens} past ${row.pastTokens}: median ${row.medianMs.toFixed(1)} ms, p95 ${row.p95Ms.toFixed(1)} ms`);
      }
    }
    const prefixText = tokenizer.decode(context.prefixIds.slice(context.hasBos ? 1 : 0));
    const stepRequests = o.stepRequests ?? 3;
    const step = stepRequests > 0 ? await stepShare(engine, model, prefixText, tokenizer.decode(context.suffixIds), stepRequests) : undefined;
    const onCpu = session.executionProvider === 'cpu';
    const onDevice = session.kvPlacement === 'device';
    return {
      model: config.name, modelDir: o.modelDir, requestedExecutionProvider: o.executionProvider,
      executionProvider: session.executionProvider, fallbackReason: session.fallbackReason ?? null,
      bytesMeaning: onCpu
        ? 'host memory: on the CPU EP nothing crosses a bus; these are the bytes copied into and out of onnxruntime per pass'
        : onDevice
          ? `host → ${session.executionProvider} device (in) and back (out) per pass: ids, positions and the block's statistics; K/V stay on the device`
          : `host → ${session.executionProvider} device (in) and back (out) per pass: every K/V row goes through JavaScript`,
      kvDtype: session.kvDtype, kvPlacement: session.kvPlacement, shape,
      context: { source: o.contextSource, prefixTokens: context.prefixIds.length, suffixTokens: context.suffixIds.length },
      passes, warmUp, loadMs: model.loadMs, peakRssMb: process.resourceUsage().maxRSS / 1024, rows, step,
      date: new Date().toISOString().slice(0, 10), command: o.command,
    };
  } finally {
    await engine.dispose();
  }
}

function emptyPast({ config, session }: LoadedModel): KvRows {
  return KvRows.empty(config.nLayers, config.nKvHeads, config.headDim, session.kvDtype);
}

/** Bytes in a unit that keeps a K/V-free pass (hundreds of bytes) and a K/V copy (megabytes) both readable. */
export function byteSize(bytes: number): string {
  if (bytes < 10_000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${(bytes / 1e6).toFixed(2)} MB`;
}
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;

export function modelBenchMarkdown(r: ModelBenchReport): string {
  const where = r.fallbackReason ? `${r.executionProvider} (asked for ${r.requestedExecutionProvider}: ${r.fallbackReason})` : r.executionProvider;
  const s = r.step;
  return [
    `bench-model \`${r.model}\` on ${where}, ${r.date}${r.command ? ` (\`${r.command}\`)` : ''}. ` +
      `Context: ${r.context.prefixTokens} tokens before the canvas and ${r.context.suffixTokens} after it` +
      `${r.context.source ? ` (from \`${r.context.source}\`)` : ''}; block ${r.shape.blockSize}; K/V ${r.kvDtype} on the ${r.kvPlacement}; ` +
      `${r.passes} timed passes after ${r.warmUp} warm-up. Load ${r.loadMs.toFixed(0)} ms, peak RSS ${r.peakRssMb.toFixed(0)} MB. ` +
      `Bytes: ${r.bytesMeaning}.`,
    '',
    '| canvas | cache | fed tokens | past K/V tokens | median ms | p95 ms | session.run median ms | in | out |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.canvas} | ${x.cache} | ${x.fedTokens} | ${x.pastTokens} | ${x.medianMs.toFixed(1)} | ` +
      `${x.p95Ms.toFixed(1)} | ${x.runMedianMs.toFixed(1)} | ${byteSize(x.bytesIn)} | ${byteSize(x.bytesOut)} |`),
    '',
    s ? `Decode step (policy ${s.policy}, canvas ${s.canvas}, ${s.requests} requests, ${s.nfe} passes): ` +
      `${(s.decodeMs / s.nfe).toFixed(1)} ms per step, of which session.run ${(s.runMs / s.nfe).toFixed(1)} ms; ` +
      `outside session.run ${pct(s.outsideRunShare)} (feeding and reading tensors ${pct(s.tensorShare)}, ` +
      `rules and bookkeeping ${pct(s.rulesShare)}).`
      : 'No decode step timed (--step-requests 0).',
  ].join('\n');
}
