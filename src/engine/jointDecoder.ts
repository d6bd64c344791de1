// The joint decode: several masked regions of ONE sequence, each at its true positions, decoded together. Every step is
// one forward pass that reads every unfinished region's current block; the policy's rules then commit in each of those
// blocks on their own (per-region R² rules, temporal state, llada schedule). Each region's answer ends on its own: its
// text is the tokens before its first end token.
//
// K/V cache (a generalization of Fast-dLLM's dual cache, see README.md "Joint decode"): a full pass whenever any
// region enters a new block (the first step too); the passes in between feed only the active blocks (plus the token
// before each block when the model reads logits shifted by one) and take everything else as past.
import { canvasBlocks } from './canvas';
import { type CanvasCommit, type DecodeModel, endGuardFor, endTest, firstPassCommitsFirstOnly } from './decoder';
import { type KvCache, KvRows } from './kvcache';
import { type PolicySpec, policyStep } from './policies';
import type { CacheMode, DecodeOptions, DecodeThresholds, StopReason } from './protocol';
import { lladaSchedule, lladaStepsPerBlock } from './rules/lowConfidence';
import { blockEndsGeneration, keptSuffixPositions } from './rules/streaming';
import { TemporalState } from './rules/temporal';
import type { ForwardRequest } from './session';
import type { PositionStats } from './stats';

/** A masked segment of the sequence: sequence[start, end). */
export interface JointRegion {
  start: number;
  end: number;
}

/** A commit in one region (index 0 = the region's first position). */
export interface RegionCommit extends CanvasCommit {
  region: number;
}

export interface JointStepInfo {
  /** 1-based step number = NFE so far. */
  step: number;
  commits: RegionCommit[];
  /** Every region's tokens after the step (MASK where undecided). */
  regions: Int32Array[];
  /** Regions decoded in this step. */
  active: number[];
  /** This pass fed the whole sequence (cache refresh). */
  fullPass: boolean;
}

export interface JointDecodeParams {
  sequence: Int32Array;
  regions: readonly JointRegion[];
  spec: PolicySpec;
  thresholds: DecodeThresholds;
  options: DecodeOptions;
  isCancelled?: () => boolean;
  onStep?: (info: JointStepInfo) => void;
}

export interface RegionOutcome {
  tokens: Int32Array;
  /** Steps in which this region committed. */
  steps: number;
  /** The step after which the region was done. */
  doneAtStep: number;
  stopReason: StopReason;
}

export interface JointDecodeOutcome {
  regions: RegionOutcome[];
  nfe: number;
  stopReason: StopReason;
  commits: RegionCommit[];
  commitsPerStep: number[];
  queryTokens: number;
  /** Passes that fed the whole sequence. */
  fullPasses: number;
  cache: CacheMode;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Per-region decoding state. */
class RegionState {
  readonly blocks: Array<[number, number]>;
  readonly temporal: TemporalState;
  readonly lladaBlockSteps: number[];
  readonly blockMasks: number[];
  block = 0;
  pass = 0;
  schedule: number[] = [];
  done = false;
  steps = 0;
  doneAtStep = 0;
  stopReason: StopReason = 'complete';

  constructor(readonly index: number, readonly region: JointRegion, sequence: Int32Array, maskId: number, options: DecodeOptions) {
    this.blocks = canvasBlocks(region.start, region.end, options.blockSize);
    this.temporal = new TemporalState(region.end - region.start);
    this.blockMasks = this.blocks.map(([s, e]) => sequence.subarray(s, e).filter((t) => t === maskId).length);
    this.lladaBlockSteps = lladaStepsPerBlock(this.blockMasks, options.lladaSteps ?? region.end - region.start);
    this.done = this.blocks.length === 0;
  }

  get current(): [number, number] {
    return this.blocks[this.block];
  }
}

/** Bidirectional models only: a block-causal model fills its regions one after another (fill.ts, README). */
export async function decodeJoint(model: DecodeModel, params: JointDecodeParams): Promise<JointDecodeOutcome> {
  if (model.attention === 'block-causal') throw new Error('joint decode needs a bidirectional model; block-causal models fill regions in order');
  const { sequence, regions, spec, thresholds, options } = params;
  const { maskId, endId, logitShift } = model;
  const isEnd = endTest(model);
  const cache: CacheMode = model.kvCache ? options.cache : 'none';
  checkRegions(sequence.length, regions);
  const states = regions.map((r, i) => new RegionState(i, r, sequence, maskId, options));
  const emptyPast = KvRows.empty(model.nLayers, model.nHeads, model.headDim, model.kvDtype);
  const commits: RegionCommit[] = [];
  const commitsPerStep: number[] = [];
  let nfe = 0;
  let queryTokens = 0;
  let fullPasses = 0;
  let stopReason: StopReason = 'complete';
  let refresh = true; // a region entered a new block: the next pass feeds everything
  let past: KvCache = emptyPast;
  let cachedQuery: number[] = [];

  const startBlock = (st: RegionState) => {
    const [s, e] = st.current;
    st.pass = 0;
    st.schedule = spec.base === 'low-confidence'
      ? lladaSchedule(st.blockMasks[st.block], Math.max(1, st.lladaBlockSteps[st.block])) : [];
    // A block with nothing masked (e.g. the caller pre-filled it) is already decoded.
    if (!sequence.subarray(s, e).includes(maskId)) advance(st);
  };
  const advance = (st: RegionState) => {
    const block = sequence.subarray(...st.current);
    const last = st.block === st.blocks.length - 1;
    if (spec.streaming && !last && blockEndsGeneration(block, isEnd)) {
      sequence.fill(endId, st.current[1], st.region.end);
      return finish(st, 'early-exit');
    }
    if (last) return finish(st, 'complete');
    st.block++;
    refresh = true;
    startBlock(st);
  };
  const finish = (st: RegionState, why: StopReason) => {
    st.done = true;
    st.stopReason = why;
    st.doneAtStep = nfe;
  };
  const answerIsFinal = (st: RegionState) => {
    if (!options.stopWhenAnswerFinal) return false;
    for (let p = st.region.start; p < st.region.end && sequence[p] !== maskId; p++) if (isEnd(sequence[p])) return true;
    return false;
  };
  for (const st of states) if (!st.done) startBlock(st);

  /** Positions the model sees: all, minus (streaming) the masked tail of each region beyond its kept window. */
  const visiblePositions = (active: RegionState[]) => {
    if (!spec.streaming) return range(0, sequence.length);
    const hidden = new Set<number>();
    for (const st of active) {
      const e = st.current[1];
      const kept = new Set(keptSuffixPositions(e, st.region.end, thresholds.streamingSuffixWindow));
      for (let p = e; p < st.region.end; p++) if (!kept.has(p)) hidden.add(p);
    }
    return range(0, sequence.length).filter((p) => !hidden.has(p));
  };

  for (;;) {
    const active = states.filter((st) => !st.done);
    if (active.length === 0) break;
    if (params.isCancelled) {
      await new Promise((resolve) => setImmediate(resolve)); // let a pending cancel message arrive first
      if (params.isCancelled()) { stopReason = 'cancelled'; break; }
    }
    const fullPass = refresh || cache === 'none';
    const visible = visiblePositions(active);
    const query = fullPass ? visible : cachedQuery;
    const rowOf = new Map(query.map((p, i) => [p, i]));
    const wanted = active.flatMap((st) => range(...st.current));
    const request: ForwardRequest = {
      inputIds: query.map((p) => sequence[p]),
      positions: query,
      past: fullPass ? emptyPast : past,
      outputRows: wanted.map((p) => rowOf.get(Math.max(0, p - logitShift)) ?? rowOf.get(p)!),
      keepPresent: fullPass && cache !== 'none',
    };
    const result = await model.forward(request);
    nfe++;
    queryTokens += query.length;
    if (fullPass) {
      fullPasses++;
      refresh = false;
      if (cache !== 'none') {
        // Feed from now on: the active blocks (and the token before each, for shifted logits); dual keeps the rest as
        // past, prefix keeps only what lies before the first active block (everything after it is fed again).
        const firstStart = Math.max(0, Math.min(...active.map((st) => st.current[0])) - logitShift);
        const fed = new Set(cache === 'prefix'
          ? visible.filter((p) => p >= firstStart)
          : active.flatMap((st) => range(Math.max(0, st.current[0] - logitShift), st.current[1])));
        cachedQuery = visible.filter((p) => fed.has(p));
        const picked = await result.present.pick(visible.flatMap((p, row) => (fed.has(p) ? [] : [row])));
        result.present.release();
        past.release();
        past = picked;
      }
    }
    if (model.checkId) for (const s of result.stats) model.checkId(s.tokenId);
    const stepCommits: RegionCommit[] = [];
    let offset = 0;
    for (const st of active) {
      const [s, e] = st.current;
      const stats: PositionStats[] = result.stats.slice(offset, offset + (e - s));
      offset += e - s;
      const block = sequence.subarray(s, e);
      const masked = block.filter((t) => t === maskId).length;
      const kept = spec.streaming ? keptSuffixPositions(e, st.region.end, thresholds.streamingSuffixWindow) : range(e, st.region.end);
      const made = policyStep(spec, thresholds, options, {
        tokens: block, maskId, stats, firstPass: st.pass === 0,
        firstOnly: firstPassCommitsFirstOnly(model, spec, st.pass === 0),
        quota: Math.max(1, st.schedule[st.pass] ?? masked),
        queryMasked: masked + kept.length,
        queryLength: block.length + kept.length,
        temporal: st.temporal, offset: s - st.region.start,
        endGuard: endGuardFor(options, model, isEnd, sequence.subarray(st.region.start, s)),
      });
      if (made.length === 0) throw new Error(`joint decoder made no progress in region ${st.index} at step ${nfe} (policy ${spec.name})`);
      st.pass++;
      st.steps++;
      stepCommits.push(...made.map((c) => ({ ...c, index: c.index + s - st.region.start, step: nfe, region: st.index })));
    }
    commits.push(...stepCommits);
    commitsPerStep.push(stepCommits.length);
    // Regions whose block is decoded move on (or end); a region whose answer is fixed stops.
    for (const st of active) {
      if (answerIsFinal(st)) finish(st, 'answer-final');
      else if (!sequence.subarray(...st.current).includes(maskId)) advance(st);
    }
    params.onStep?.({
      step: nfe, commits: stepCommits, regions: regions.map((r) => sequence.subarray(r.start, r.end)),
      active: active.map((st) => st.index), fullPass,
    });
  }
  past.release();
  return {
    regions: states.map((st) => ({
      tokens: sequence.slice(st.region.start, st.region.end), steps: st.steps,
      doneAtStep: st.done ? st.doneAtStep : nfe, stopReason: st.done ? st.stopReason : stopReason,
    })),
    nfe, stopReason, commits, commitsPerStep, queryTokens, fullPasses, cache,
  };
}

function checkRegions(length: number, regions: readonly JointRegion[]): void {
  let last = 0;
  for (const r of regions) {
    if (!(Number.isInteger(r.start) && Number.isInteger(r.end) && r.start >= last && r.end > r.start && r.end <= length)) {
      throw new RangeError(`joint decode: regions must be non-empty, in order, disjoint and inside the sequence; got ${JSON.stringify(regions)}`);
    }
    last = r.end;
  }
}

/** A region's answer ids: its tokens before the first end token (or an undecided position). */
export function answerIds(tokens: ArrayLike<number>, isEnd: (id: number) => boolean, maskId: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < tokens.length && !isEnd(tokens[i]) && tokens[i] !== maskId; i++) out.push(tokens[i]);
  return out;
}
