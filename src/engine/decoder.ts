// The step loop: semi-autoregressive blocks over the canvas, one forward pass per step (with the block KV cache when
// asked), the policy's rules on the block's statistics, step events, and the stop conditions.
import { canvasBlocks } from './canvas';
import { KvRows } from './kvcache';
import { type PolicySpec, policyStep } from './policies';
import type { CacheMode, CommitRule, DecodeOptions, DecodeThresholds, StopReason } from './protocol';
import { lladaSchedule, lladaStepsPerBlock } from './rules/lowConfidence';
import { blockEndsGeneration, keptSuffixPositions } from './rules/streaming';
import { TemporalState } from './rules/temporal';
import type { Commit } from './rules/types';
import type { ForwardFn, ForwardRequest } from './session';
import type { PositionStats } from './stats';

export interface DecodeModel {
  forward: ForwardFn;
  maskId: number;
  /** End of answer (PAD); also the EOS of the streaming early exit. */
  endId: number;
  logitShift: 0 | 1;
  kvCache: boolean;
  nLayers: number;
  nHeads: number;
  headDim: number;
  /** Called on every predicted id (e.g. to check it against the tokenizer). */
  checkId?: (id: number) => void;
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
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Positions of the sequence a block's passes may see, and the reference query of the dynamic threshold. */
function visibleLayout(params: DecodeParams, s: number, e: number) {
  const { sequence, canvasEnd, spec, thresholds } = params;
  const kept = spec.streaming ? keptSuffixPositions(e, canvasEnd, thresholds.streamingSuffixWindow) : range(e, canvasEnd);
  // The user's suffix (after the canvas) is real context, like the prefix: never pruned.
  const visible = [...range(0, e), ...kept, ...range(canvasEnd, sequence.length)];
  return { visible, kept };
}

export async function decode(model: DecodeModel, params: DecodeParams): Promise<DecodeOutcome> {
  const { sequence, canvasStart, canvasEnd, spec, thresholds, options } = params;
  const { maskId, endId, logitShift } = model;
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
  const emptyPast = KvRows.empty(model.nLayers, model.nHeads, model.headDim);

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
    let past = emptyPast;
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
      };
      const result = await model.forward(request);
      nfe++;
      queryTokens += query.length;
      if (firstPass && cache !== 'none') {
        // Keep the K/V of everything that later passes do not feed.
        cachedQuery = cache === 'prefix' ? visible.filter((p) => p >= queryStart) : range(queryStart, e);
        const inQuery = new Set(cachedQuery);
        past = result.present.select(visible.flatMap((p, row) => (inQuery.has(p) ? [] : [row])));
      }
      const stats: PositionStats[] = result.stats;
      if (model.checkId) for (const st of stats) model.checkId(st.tokenId);
      const masked = block.filter((t) => t === maskId).length;
      const stepCommits = policyStep(spec, thresholds, options, {
        tokens: block, maskId, stats, firstPass,
        quota: Math.max(1, schedule[pass] ?? masked),
        queryMasked: masked + kept.length,
        queryLength: block.length + kept.length,
        temporal, offset: s - canvasStart,
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
    if (spec.streaming && b < blocks.length - 1 && blockEndsGeneration(block, endId)) {
      sequence.fill(endId, e, canvasEnd);
      stopReason = 'early-exit';
      break;
    }
  }
  return {
    canvas: sequence.slice(canvasStart, canvasEnd), nfe, stopReason, commits, commitsPerStep, queryTokens, cache,
    firstCommitStep,
  };
}
