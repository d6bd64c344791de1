// Decoding policies: which rules run on each step, in the reference order
// base rule → confidence cluster → token cluster → temporal finalization. Each rule sees the state the previous left.
import { EngineError } from './errors';
import { type DecodeOptions, type DecodeThresholds, POLICY_NAMES, type PolicyName } from './protocol';
import { confidenceClusterRule } from './rules/confidenceCluster';
import { factorRule } from './rules/factor';
import { lowConfidenceRule } from './rules/lowConfidence';
import { dynamicThreshold } from './rules/streaming';
import { temporalRule, type TemporalState } from './rules/temporal';
import { thresholdRule } from './rules/threshold';
import { tokenClusterRule } from './rules/tokenCluster';
import { type EndGuard, endAllowedAt, guardedFallback, orderForEndGuard } from './rules/endGuard';
import type { Commit } from './rules/types';
import type { PositionStats } from './stats';

export type BaseRule = 'low-confidence' | 'threshold' | 'factor' | 'dynamic-threshold';

export interface PolicySpec {
  name: PolicyName;
  base: BaseRule;
  /** R² confidence cluster, token cluster and temporal finalization after the base rule. */
  r2: boolean;
  /** Streaming-dLLM suffix pruning and EOS early exit (the dynamic threshold is the base rule). */
  streaming: boolean;
}

export function isPolicyName(name: unknown): name is PolicyName {
  return typeof name === 'string' && (POLICY_NAMES as readonly string[]).includes(name);
}

export function policySpec(name: string, options: Pick<DecodeOptions, 'baseRule'>): PolicySpec {
  const fast: BaseRule = options.baseRule === 'factor' ? 'factor' : 'threshold';
  switch (name) {
    case 'llada': return { name, base: 'low-confidence', r2: false, streaming: false };
    case 'fast-dllm': return { name, base: fast, r2: false, streaming: false };
    case 'r2': return { name, base: fast, r2: true, streaming: false };
    case 'streaming': return { name, base: 'dynamic-threshold', r2: false, streaming: true };
    case 'r2+streaming': return { name, base: 'dynamic-threshold', r2: true, streaming: true };
    default:
      throw new EngineError('UNKNOWN_POLICY', `Unknown decoding policy "${name}". Known policies: ${POLICY_NAMES.join(', ')}.`);
  }
}

export interface StepContext {
  /** Block tokens, MASK where undecided. Commits are written into it. */
  tokens: Int32Array;
  maskId: number;
  /** Statistics per block position (already logit-shifted). */
  stats: readonly PositionStats[];
  /** The block's first (cache refresh) pass. */
  firstPass: boolean;
  /** Shifted models' reference first pass: the base rule commits only the first masked position (Dream, item 12). */
  firstOnly?: boolean;
  /** low-confidence base: tokens to commit this step. */
  quota: number;
  /** dynamic threshold: masks and length of the reference query (block + kept suffix window + tail). */
  queryMasked: number;
  queryLength: number;
  /** Temporal streaks per canvas position, and the block's offset into them. */
  temporal: TemporalState;
  offset: number;
  /** options.endRule 'behind-answer': end tokens commit only behind a decided answer (rules/endGuard.ts). */
  endGuard?: EndGuard;
}

function baseCommits(spec: PolicySpec, th: DecodeThresholds, ctx: StepContext, candidates: number[]): Commit[] {
  if (ctx.firstOnly) {
    const [i] = candidates;
    return i === undefined ? [] : [{ index: i, tokenId: ctx.stats[i].tokenId, rule: 'block-first', confidence: ctx.stats[i].p1 }];
  }
  switch (spec.base) {
    case 'low-confidence': return lowConfidenceRule(ctx.stats, candidates, ctx.quota);
    case 'threshold': return thresholdRule(ctx.stats, candidates, th.tau);
    case 'factor': return factorRule(ctx.stats, candidates, th.factor);
    case 'dynamic-threshold': {
      const tau = ctx.firstPass ? th.tau
        : dynamicThreshold(th.tau, th.streamingAlpha, ctx.queryMasked, ctx.queryLength);
      return thresholdRule(ctx.stats, candidates, tau, 'dynamic-threshold');
    }
  }
}

/** Runs one decoding step on a block: returns the commits in rule order and applies them to ctx.tokens. */
export function policyStep(spec: PolicySpec, th: DecodeThresholds, options: DecodeOptions, ctx: StepContext): Commit[] {
  const { tokens, maskId, stats } = ctx;
  const isCandidate = Array.from(tokens, (t) => t === maskId);
  const candidates: number[] = [];
  isCandidate.forEach((c, i) => c && candidates.push(i));
  const all: Commit[] = [];
  const guard = ctx.endGuard;
  const apply = (commits: Commit[]) => {
    for (const c of guard ? orderForEndGuard(commits, guard.isEnd) : commits) {
      if (tokens[c.index] !== maskId) continue;
      if (guard?.isEnd(c.tokenId) && !endAllowedAt(tokens, maskId, c.index, guard)) continue;
      tokens[c.index] = c.tokenId;
      all.push(c);
    }
  };
  apply(baseCommits(spec, th, ctx, candidates));
  if (spec.r2) {
    apply(confidenceClusterRule(tokens, maskId, isCandidate, stats,
      { window: th.clusterWindow, tau: th.clusterTau, maxDecoded: th.clusterMaxDecoded }));
    apply(tokenClusterRule(tokens, maskId, stats,
      { minRun: th.tokenClusterMinRun, tau: th.clusterTau, pick: options.tokenClusterPick }));
    apply(temporalRule(ctx.temporal, ctx.offset, tokens, maskId, candidates, stats,
      { steps: th.temporalK, tau: th.temporalTau, evaluate: options.temporalEval }));
  }
  if (guard && all.length === 0) {
    // Every commit was a held-back end: commit the most confident allowed token instead, or (no content token in
    // the top-k anywhere) the first masked position's end token, so that decoding still progresses.
    const first = candidates.find((i) => tokens[i] === maskId);
    const fallback = guardedFallback(tokens, maskId, stats, guard)
      ?? (first === undefined ? undefined : { index: first, tokenId: stats[first].tokenId, rule: 'end-guard' as const, confidence: stats[first].p1 });
    if (fallback) {
      tokens[fallback.index] = fallback.tokenId;
      all.push(fallback);
    }
  }
  return all;
}
