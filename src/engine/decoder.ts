// The step loop: semi-autoregressive blocks over the canvas, one forward pass per step (with the block KV cache when
// asked), the policy's rules on the block's statistics, step events, and the stop conditions.
import { canvasBlocks } from './canvas';
import { type KvCache, type KvDtype, KvRows } from './kvcache';
import { isEndToken } from './modelConfig';
import { type PolicySpec, policyStep } from './policies';
import type { CacheMode, CommitRule, DecodeOptions, DecodeThresholds, StopReason } from './protocol';
import { lladaSchedule, lladaStepsPerBlock } from './rules/lowConfidence';
import { countAnswerTokens, type EndGuard } from './rules/endGuard';
import { blockEndsGeneration, keptSuffixPositions } from './rules/streaming';
import { TemporalState } from './rules/temporal';
import type { Commit } from './rules/types';
import type { ForwardFn, ForwardRequest } from './session';
import type { PositionStats } from './stats';

export interface DecodeModel {
  forward: ForwardFn;
  maskId: number;
  /** PAD: fills the canvas after an early exit; always an end id. */
  endId: number;
  /** Every id that ends the answer (EOS, EoT, PAD); default [endId]. Checked only through isEndToken. */
  endIds?: readonly number[];
  /** block-causal: a block attends to itself and what came before (decodeBlockCausal). Default bidirectional. */
  attention?: 'bidirectional' | 'block-causal';
  /** block-causal: the model's block size; its blocks are fixed by training, not by the request. */
  blockSize?: number;
  /** K/V element type the graph declares (float16 rows are kept as raw bit patterns). */
  kvDtype?: KvDtype;
  logitShift: 0 | 1;
  kvCache: boolean;
  nLayers: number;
  nHeads: number;
  headDim: number;
  /** Called on every predicted id (e.g. to check it against the tokenizer). */
  checkId?: (id: number) => void;
  /** Tokens whose text is only whitespace: the end guard does not count them as answer. */
  isBlank?: (id: number) => boolean;
}

/** A commit placed on the canvas (index 0 = first canvas position). */
export interface CanvasCommit extends Commit {
  step: number;
}

export interface DecodeStepInfo {
  /** 1-based step number = NFE so far. */
  step: number;
  commits: CanvasCommit[];
  /** The canvas after the step (MASK where undecided). */
  canvas: Int32Array;
  /** Canvas index of the first position of the block decoded in this step. */
  blockStart: number;
  /** This step's statistics, one per block position (before the step's commits). */
  stats: readonly PositionStats[];
}

export interface DecodeParams {
  sequence: Int32Array;
  canvasStart: number;
  canvasEnd: number;
  spec: PolicySpec;
  thresholds: DecodeThresholds;
  options: DecodeOptions;
  /** Checked before every forward pass; true stops decoding with stopReason 'cancelled'. */
  isCancelled?: () => boolean;
  onStep?: (info: DecodeStepInfo) => void;
  /** block-causal layout: BOS stays first, before the suffix (see decodeBlockCausal). */
  hasBos?: boolean;
  /**
   * Called after each step with the contiguous committed start of the canvas; a reason stops decoding because the
   * answer can no longer change (e.g. it already holds a newline in single-line mode).
   */
  answerIsFinal?: (committedPrefix: Int32Array) => StopReason | undefined;
}

export interface DecodeOutcome {
  /** The canvas tokens at the end (MASK left only when stopped early). */
  canvas: Int32Array;
  nfe: number;
  stopReason: StopReason;
  /** Every rule commit, in order. */
  commits: CanvasCommit[];
  commitsPerStep: number[];
  /** Tokens fed over all passes. */
  queryTokens: number;
  /** The cache mode actually used (none when the model has no KV cache inputs). */
  cache: CacheMode;
  firstCommitStep: number;
  /** block-causal: passes that only fill the cache (prompt prefill, finished blocks); not counted in nfe. */
  contextPasses: number;
  /**
   * The model's probability, on the first pass, that the answer ends at once (an end token first on the canvas);
   * 0 when an end token was not its top prediction there. The end guard may not commit it, so it is reported.
   */
  endAtStartProbability: number;
}

/** The first pass's belief that the answer is empty: the top probability at the canvas start when it is an end token. */
export const endAtStart = (stats: PositionStats | undefined, isEnd: (id: number) => boolean): number =>
  (stats && isEnd(stats.tokenId) ? stats.p1 : 0);

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Positions of the sequence a block's passes may see, and the reference query of the dynamic threshold. */
function visibleLayout(params: DecodeParams, s: number, e: number) {
  const { sequence, canvasEnd, spec, thresholds } = params;
  const kept = spec.streaming ? keptSuffixPositions(e, canvasEnd, thresholds.streamingSuffixWindow) : range(e, canvasEnd);
  // The user's suffix (after the canvas) is real context, like the prefix: never pruned.
  const visible = [...range(0, e), ...kept, ...range(canvasEnd, sequence.length)];
  return { visible, kept };
}

/** The end test every decoding rule uses. */
export const endTest = (model: DecodeModel) => {
  const ends = { endIds: model.endIds ?? [model.endId] };
  return (id: number) => isEndToken(ends, id);
};

/** The end guard a block's steps run under, when options.endRule asks for one; `before` = the canvas before the block. */
export function endGuardFor(options: Pick<DecodeOptions, 'endRule' | 'minAnswerTokens'>, model: Pick<DecodeModel, 'isBlank'>,
  isEnd: (id: number) => boolean, before: ArrayLike<number>): EndGuard | undefined {
  if (options.endRule !== 'behind-answer') return undefined;
  const { isBlank } = model;
  return { isEnd, isBlank, minAnswerTokens: options.minAnswerTokens, answerBefore: countAnswerTokens(before, isEnd, isBlank) };
}

/**
 * Reference Dream / Fast-dLLM behaviour for logit-shifted models (reference-parity item 12): the first pass of a block
 * commits only the block's first masked position, unconditionally; the threshold starts on the next pass. LLaDA's
 * low-confidence schedule is unchanged.
 */
export function firstPassCommitsFirstOnly(model: Pick<DecodeModel, 'logitShift'>, spec: PolicySpec, firstPass: boolean): boolean {
  return firstPass && model.logitShift === 1 && spec.base !== 'low-confidence';
}

export async function decode(model: DecodeModel, params: DecodeParams): Promise<DecodeOutcome> {
  if (model.attention === 'block-causal') return decodeBlockCausal(model, params);
  const { sequence, canvasStart, canvasEnd, spec, thresholds, options } = params;
  const { maskId, endId, logitShift } = model;
  const isEnd = endTest(model);
  const cache: CacheMode = model.kvCache ? options.cache : 'none';
  const canvasLength = canvasEnd - canvasStart;
  const temporal = new TemporalState(canvasLength);
  const blocks = canvasBlocks(canvasStart, canvasEnd, options.blockSize);
  const blockMasks = blocks.map(([s, e]) => sequence.subarray(s, e).filter((t) => t === maskId).length);
  const lladaBlockSteps = lladaStepsPerBlock(blockMasks, options.lladaSteps ?? canvasLength);
  const commits: CanvasCommit[] = [];
  const commitsPerStep: number[] = [];
  let nfe = 0;
  let queryTokens = 0;
  let firstCommitStep = 0;
  let stopReason: StopReason = 'complete';
  let endAtStartProbability = 0;
  const emptyPast = KvRows.empty(model.nLayers, model.nHeads, model.headDim, model.kvDtype);

  const committedPrefix = () => {
    let n = canvasStart;
    while (n < canvasEnd && sequence[n] !== maskId) n++;
    return sequence.subarray(canvasStart, n);
  };

  decoding: for (const [b, [s, e]] of blocks.entries()) {
    const block = sequence.subarray(s, e);
    const { visible, kept } = visibleLayout(params, s, e);
    // With a logit shift, position p reads row p − 1, so cached passes also feed the token before the block.
    const queryStart = Math.max(0, s - logitShift);
    const schedule = spec.base === 'low-confidence' ? lladaSchedule(blockMasks[b], Math.max(1, lladaBlockSteps[b])) : [];
    let past: KvCache = emptyPast;
    let cachedQuery: number[] = visible;
    let pass = 0;
    while (block.includes(maskId)) {
      if (params.isCancelled) {
        await new Promise((resolve) => setImmediate(resolve)); // let a pending cancel message arrive first
        if (params.isCancelled()) { stopReason = 'cancelled'; break decoding; }
      }
      const firstPass = pass === 0;
      const query = firstPass || cache === 'none' ? visible : cachedQuery;
      const rowOf = new Map(query.map((p, i) => [p, i]));
      const request: ForwardRequest = {
        inputIds: query.map((p) => sequence[p]),
        positions: query,
        past: firstPass ? emptyPast : past,
        outputRows: range(s, e).map((p) => rowOf.get(Math.max(0, p - logitShift)) ?? rowOf.get(p)!),
        keepPresent: firstPass && cache !== 'none',
      };
      const result = await model.forward(request);
      nfe++;
      queryTokens += query.length;
      if (firstPass && cache !== 'none') {
        // Keep the K/V of everything that later passes do not feed.
        cachedQuery = cache === 'prefix' ? visible.filter((p) => p >= queryStart) : range(queryStart, e);
        const inQuery = new Set(cachedQuery);
        past = await result.present.pick(visible.flatMap((p, row) => (inQuery.has(p) ? [] : [row])));
        result.present.release();
      }
      const stats: PositionStats[] = result.stats;
      if (model.checkId) for (const st of stats) model.checkId(st.tokenId);
      if (nfe === 1) endAtStartProbability = endAtStart(stats[0], isEnd);
      const masked = block.filter((t) => t === maskId).length;
      const stepCommits = policyStep(spec, thresholds, options, {
        tokens: block, maskId, stats, firstPass,
        firstOnly: firstPassCommitsFirstOnly(model, spec, firstPass),
        quota: Math.max(1, schedule[pass] ?? masked),
        queryMasked: masked + kept.length,
        queryLength: block.length + kept.length,
        temporal, offset: s - canvasStart,
        endGuard: endGuardFor(options, model, isEnd, sequence.subarray(canvasStart, s)),
      }).map((c) => ({ ...c, index: c.index + s - canvasStart, step: nfe }));
      if (stepCommits.length === 0) throw new Error(`decoder made no progress at step ${nfe} (policy ${spec.name})`);
      if (firstCommitStep === 0) firstCommitStep = nfe;
      commits.push(...stepCommits);
      commitsPerStep.push(stepCommits.length);
      params.onStep?.({ step: nfe, commits: stepCommits, canvas: sequence.subarray(canvasStart, canvasEnd), blockStart: s - canvasStart, stats });
      pass++;
      const final = params.answerIsFinal?.(committedPrefix());
      if (final) { stopReason = final; break decoding; }
    }
    past.release(); // the next block's first pass feeds everything again
    if (spec.streaming && b < blocks.length - 1 && blockEndsGeneration(block, isEnd)) {
      sequence.fill(endId, e, canvasEnd);
      stopReason = 'early-exit';
      break;
    }
  }
  return {
    canvas: sequence.slice(canvasStart, canvasEnd), nfe, stopReason, commits, commitsPerStep, queryTokens, cache,
    firstCommitStep, contextPasses: 0, endAtStartProbability,
  };
}

/**
 * Feed order of a block-causal model: [BOS]? ++ suffix ++ prefix ++ canvas, each token with its true position id.
 * The suffix goes before the prefix so that the canvas, which must come last (a block sees only what came before),
 * still sees both sides; because keys are post-RoPE, the model reads the suffix at its real distance after the canvas.
 */
export function blockCausalOrder(length: number, canvasStart: number, canvasEnd: number, hasBos: boolean): number[] {
  const bos = hasBos && canvasStart > 0 ? [0] : [];
  return [...bos, ...range(canvasEnd, length), ...range(bos.length, canvasStart), ...range(canvasStart, canvasEnd)];
}

/**
 * Block-causal decoding (SDAR, Fast-dLLM v2, BD3-LM): the feed order is cut into chunks of the model's block size.
 * Chunks of context only are prefilled one at a time (so attention is exactly block-causal); each chunk holding canvas
 * positions is a decode block: every pass feeds just that chunk with everything before it as past, the policy's rules
 * act inside it, and once it has no mask left it is fed once more with its final tokens and its K/V are appended to
 * the cache (never recomputed). Shifted models read position i from the row before it in feed order; for a block's
 * first position that row belongs to the previous chunk, whose last-row statistics are carried over.
 */
export async function decodeBlockCausal(model: DecodeModel, params: DecodeParams): Promise<DecodeOutcome> {
  const { sequence, canvasStart, canvasEnd, spec, thresholds, options } = params;
  const { maskId, endId, logitShift } = model;
  const isEnd = endTest(model);
  const blockSize = model.blockSize ?? options.blockSize;
  const canvasLength = canvasEnd - canvasStart;
  const temporal = new TemporalState(canvasLength);
  const order = blockCausalOrder(sequence.length, canvasStart, canvasEnd, params.hasBos === true);
  const chunks: number[][] = [];
  for (let i = 0; i < order.length; i += blockSize) chunks.push(order.slice(i, i + blockSize));
  const isCanvas = (p: number) => p >= canvasStart && p < canvasEnd;
  const decodeChunks = chunks.filter((c) => c.some(isCanvas));
  const blockMasks = decodeChunks.map((c) => c.filter((p) => isCanvas(p) && sequence[p] === maskId).length);
  const lladaBlockSteps = lladaStepsPerBlock(blockMasks, options.lladaSteps ?? canvasLength);
  const commits: CanvasCommit[] = [];
  const commitsPerStep: number[] = [];
  let nfe = 0;
  let contextPasses = 0;
  let queryTokens = 0;
  let firstCommitStep = 0;
  let stopReason: StopReason = 'complete';
  let endAtStartProbability = 0;
  let cache: KvCache = KvRows.empty(model.nLayers, model.nHeads, model.headDim, model.kvDtype);
  /** Statistics of the last row fed so far: what a shifted model predicts for the next position in feed order. */
  let carried: PositionStats | undefined;

  const committedPrefix = () => {
    let n = canvasStart;
    while (n < canvasEnd && sequence[n] !== maskId) n++;
    return sequence.subarray(canvasStart, n);
  };
  /** Feeds a finished chunk: its K/V join the cache, its last row's statistics are carried to the next chunk. */
  const appendToCache = async (chunk: number[]) => {
    const result = await model.forward({
      inputIds: chunk.map((p) => sequence[p]), positions: chunk, past: cache, outputRows: [chunk.length - 1], keepPresent: true,
    });
    contextPasses++;
    queryTokens += chunk.length;
    const grown = await cache.append(result.present);
    if (grown !== cache) cache.release();
    if (grown !== result.present) result.present.release();
    cache = grown;
    carried = result.stats[0];
  };

  let b = 0;
  decoding: for (const [c, chunk] of chunks.entries()) {
    if (!chunk.some(isCanvas)) { await appendToCache(chunk); continue; }
    const blockPositions = chunk.filter(isCanvas); // contiguous: the canvas is last in feed order
    const s = blockPositions[0];
    const e = s + blockPositions.length;
    const block = sequence.subarray(s, e);
    const firstRow = chunk.indexOf(s);
    const schedule = spec.base === 'low-confidence' ? lladaSchedule(blockMasks[b], Math.max(1, lladaBlockSteps[b])) : [];
    // Row read for block position i: its own, or the one before it in feed order when shifted. With nothing at all
    // before the canvas (an empty file and no BOS), the first position reads its own row, as decode() does.
    const readRow = (i: number) => (firstRow + i - logitShift < 0 && !carried ? firstRow + i : firstRow + i - logitShift);
    const outputRows = blockPositions.map((_, i) => readRow(i)).filter((row) => row >= 0);
    let pass = 0;
    while (block.includes(maskId)) {
      if (params.isCancelled) {
        await new Promise((resolve) => setImmediate(resolve));
        if (params.isCancelled()) { stopReason = 'cancelled'; break decoding; }
      }
      const result = await model.forward({
        inputIds: chunk.map((p) => sequence[p]), positions: chunk, past: cache, outputRows,
      });
      nfe++;
      queryTokens += chunk.length;
      const stats: PositionStats[] = blockPositions.map((_, i) => {
        const row = readRow(i);
        return row >= 0 ? result.stats[outputRows.indexOf(row)] : carried!;
      });
      if (model.checkId) for (const st of stats) model.checkId(st.tokenId);
      if (nfe === 1 && s === canvasStart) endAtStartProbability = endAtStart(stats[0], isEnd);
      const firstPass = pass === 0;
      const masked = block.filter((t) => t === maskId).length;
      const stepCommits = policyStep(spec, thresholds, options, {
        tokens: block, maskId, stats, firstPass,
        firstOnly: firstPassCommitsFirstOnly(model, spec, firstPass),
        quota: Math.max(1, schedule[pass] ?? masked),
        queryMasked: masked, queryLength: block.length,
        temporal, offset: s - canvasStart,
        endGuard: endGuardFor(options, model, isEnd, sequence.subarray(canvasStart, s)),
      }).map((cm) => ({ ...cm, index: cm.index + s - canvasStart, step: nfe }));
      if (stepCommits.length === 0) throw new Error(`decoder made no progress at step ${nfe} (policy ${spec.name})`);
      if (firstCommitStep === 0) firstCommitStep = nfe;
      commits.push(...stepCommits);
      commitsPerStep.push(stepCommits.length);
      params.onStep?.({ step: nfe, commits: stepCommits, canvas: sequence.subarray(canvasStart, canvasEnd), blockStart: s - canvasStart, stats });
      pass++;
      const final = params.answerIsFinal?.(committedPrefix());
      if (final) { stopReason = final; break decoding; }
    }
    b++;
    const last = c === chunks.length - 1;
    // Later blocks cannot change this one, so an end token here settles the answer under every policy.
    if (!last && blockEndsGeneration(block, isEnd)) {
      sequence.fill(endId, e, canvasEnd);
      stopReason = 'early-exit';
      break;
    }
    if (!last) await appendToCache(chunk);
  }
  cache.release();
  return {
    canvas: sequence.slice(canvasStart, canvasEnd), nfe, stopReason, commits, commitsPerStep, queryTokens,
    cache: 'prefix', firstCommitStep, contextPasses, endAtStartProbability,
  };
}
