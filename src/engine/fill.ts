// Fill All in the engine: several holes of one file. `joint` lays every hole of a group out as masked segments of one
// sequence at their true positions and decodes them together (jointDecoder.ts); groups (holes that fit the model
// window together, merged by proximity) run one after another, each seeing the earlier groups' answers. `sequential`
// fills one hole after another with the single-region decoder, each seeing the earlier answers.
import { buildCanvas, contextBudget, maxCanvasLength, MIN_CONTEXT_TOKENS, trimForEncoding } from './canvas';
import { decode, type DecodeModel } from './decoder';
import { isEndToken } from './modelConfig';
import { SUFFIX_BUDGET_SHARE } from './defaults';
import { EngineError } from './errors';
import type { LoadedModel, RequestHooks } from './engine';
import { answerIds, decodeJoint, type JointRegion } from './jointDecoder';
import {
  type CompletionRequest, type CompletionResult, FILL_MODES, type FillHoleResult, type FillMode, type FillResult,
  type FillSpec, type StopReason, type TokenTrace,
} from './protocol';
import type { DecodeSettings } from './request';
import { closeLastLine } from './wholeLines';

const bad = (message: string) => new EngineError('BAD_INPUT', message);

/** Checks a fill spec; returns the masked positions per hole. */
export function checkFillSpec(spec: FillSpec, defaultHoleTokens: number, maxLength: number): number[] {
  const { pieces, holeTokens, mode } = spec;
  if (!Array.isArray(pieces) || pieces.length < 2 || !pieces.every((p) => typeof p === 'string')) {
    throw bad('fill.pieces must be an array of at least two strings (the code before, between and after the holes).');
  }
  if (mode !== undefined && !(FILL_MODES as readonly string[]).includes(mode)) {
    throw bad(`fill.mode must be one of ${FILL_MODES.join(', ')}, got ${JSON.stringify(mode)}.`);
  }
  const holes = pieces.length - 1;
  const sizes = holeTokens ?? new Array<number>(holes).fill(defaultHoleTokens);
  if (!Array.isArray(sizes) || sizes.length !== holes) {
    throw bad(`fill.holeTokens must give one size per hole (${holes}), got ${JSON.stringify(holeTokens)}.`);
  }
  const most = maxCanvasLength(maxLength);
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 1 || n > most) throw bad(`fill.holeTokens entries must be integers from 1 to ${most} for this model; got ${JSON.stringify(n)}.`);
  }
  return sizes;
}

/**
 * Groups of consecutive holes that fit the window together: start with one hole per group and merge the two
 * neighbouring groups with the fewest tokens between them while the merged span (holes and code between them) still
 * leaves MIN_CONTEXT_TOKENS of the window for context. `between[j]` = tokens between hole j and hole j + 1.
 */
export function groupHoles(holeTokens: readonly number[], between: readonly number[], maxLength: number): number[][] {
  const groups = holeTokens.map((_, i) => [i]);
  const span = (g: number[]) => g.reduce((a, h, k) => a + holeTokens[h] + (k > 0 ? between[h - 1] : 0), 0);
  for (;;) {
    let best = -1;
    for (let g = 0; g + 1 < groups.length; g++) {
      const gap = between[groups[g].at(-1)!];
      const fits = span([...groups[g], ...groups[g + 1]]) + MIN_CONTEXT_TOKENS <= maxLength;
      if (fits && (best < 0 || gap < between[groups[best].at(-1)!])) best = g;
    }
    if (best < 0) return groups;
    groups.splice(best, 2, [...groups[best], ...groups[best + 1]]);
  }
}

interface Decoded {
  ids: number[];
  canvas: Int32Array;
  steps: number;
  doneAtStep: number;
  trace: TokenTrace[];
  stopReason: StopReason;
}

/** Runs a fill request: the holes' answers, the step events (one canvas per hole) and the cost. */
export async function runFill(model: LoadedModel, decodeModel: DecodeModel, request: CompletionRequest,
  settings: DecodeSettings, hooks: RequestHooks, requested: FillMode = request.fill?.mode ?? 'joint'): Promise<FillResult> {
  // A block-causal model cannot let a region see a later one: its regions go one after another, in document order.
  const mode: FillMode = model.config.attention === 'block-causal' ? 'sequential' : requested;
  const spec = request.fill!;
  const { config, tokenizer } = model;
  const { maskId } = config;
  const isEnd = (id: number) => isEndToken(config, id);
  const sizes = checkFillSpec(spec, settings.maxNewTokens, config.maxLength);
  const pieces = spec.pieces;
  const holes = sizes.length;
  const t0 = performance.now();
  const answers: (string | undefined)[] = new Array(holes).fill(undefined);
  const results: FillHoleResult[] = new Array(holes);
  const canvases: (string | null)[][] = sizes.map((n) => new Array(n).fill(null));
  const emit = request.emitSteps !== false && hooks.onStep !== undefined;
  const commitsPerStep: number[] = [];
  let nfe = 0;
  let queryTokens = 0;
  let fullPasses = 0;
  let step = 0;

  const textBefore = (hole: number) => pieces.slice(0, hole + 1).map((p, i) => p + (i < hole ? answers[i] ?? '' : '')).join('');
  const textAfter = (hole: number) => pieces.slice(hole + 1).map((p, i) => p + (hole + 1 + i < holes ? answers[hole + 1 + i] ?? '' : '')).join('');
  const encodeContext = (prefix: string, suffix: string, budget: number) => {
    for (let chars = config.maxLength * 16; ; chars *= 2) {
      const window = trimForEncoding(prefix, suffix, chars);
      const prefixIds = tokenizer.encode(window.prefix);
      const suffixIds = tokenizer.encode(window.suffix);
      const prefixEnough = window.prefix.length === prefix.length || prefixIds.length >= budget;
      const suffixEnough = window.suffix.length === suffix.length || suffixIds.length >= budget;
      if (prefixEnough && suffixEnough) return { prefixIds, suffixIds, prefixCut: window.prefix.length < prefix.length };
    }
  };
  // Token ids per hole as decoded so far (for the stable prefix of step events).
  const holeIdBuffers = sizes.map((n) => new Int32Array(n).fill(maskId));
  const text = (t: number) => (t === maskId ? null : tokenizer.tokenText(t));
  const sendStep = (commits: { hole: number; index: number; tokenId: number; rule: TokenTrace['rule']; confidence: number }[]) => {
    step++;
    if (!emit) return;
    hooks.onStep!({
      requestId: request.id, step, stablePrefix: '', canvas: [],
      commits: commits.map((c) => ({ index: c.index, tokenId: c.tokenId, text: tokenizer.tokenText(c.tokenId), rule: c.rule, confidence: c.confidence })),
      maskedRemaining: canvases.reduce((a, c) => a + c.filter((x) => x === null).length, 0),
      holes: canvases.map((canvas, h) => ({
        canvas, stablePrefix: tokenizer.decode(answerIds(holeIdBuffers[h], isEnd, maskId)),
      })),
    });
  };

  const finishHole = (hole: number, group: number, d: Decoded) => {
    const raw = tokenizer.decode(d.ids);
    const answer = closeLastLine(raw, textBefore(hole), textAfter(hole));
    answers[hole] = answer;
    results[hole] = {
      text: answer, tokenIds: d.ids, canvasLength: sizes[hole], steps: d.steps, doneAtStep: d.doneAtStep, group,
      trace: d.trace, stopReason: d.stopReason,
    };
  };

  if (mode === 'joint') {
    const innerIds = pieces.map((p, i) => (i > 0 && i < holes ? tokenizer.encode(p) : []));
    const groups = groupHoles(sizes, innerIds.slice(1, holes).map((ids) => ids.length), config.maxLength);
    for (const [g, group] of groups.entries()) {
      const first = group[0];
      const last = group.at(-1)!;
      const inner = group.slice(1).reduce((a, h) => a + innerIds[h].length, 0) + group.reduce((a, h) => a + sizes[h], 0);
      const useBos = config.bosId >= 0 && request.prefixIsFileStart !== false; // format 2: a model may have no BOS
      const prefixText = textBefore(first);
      const suffixText = textAfter(last);
      const budget = config.maxLength - inner;
      const { prefixIds, suffixIds, prefixCut } = encodeContext(prefixText, suffixText, budget);
      let hasBos = useBos && !prefixCut;
      let [keepPrefix, keepSuffix] = contextBudget(prefixIds.length, suffixIds.length, budget - (hasBos ? 1 : 0), SUFFIX_BUDGET_SHARE);
      if (hasBos && keepPrefix < prefixIds.length) {
        hasBos = false; // a truncated prefix no longer starts the file
        [keepPrefix, keepSuffix] = contextBudget(prefixIds.length, suffixIds.length, budget, SUFFIX_BUDGET_SHARE);
      }
      const ids: number[] = hasBos ? [config.bosId] : [];
      ids.push(...prefixIds.slice(prefixIds.length - keepPrefix));
      const regions: JointRegion[] = [];
      for (const [k, h] of group.entries()) {
        if (k > 0) ids.push(...innerIds[h]);
        regions.push({ start: ids.length, end: ids.length + sizes[h] });
        for (let i = 0; i < sizes[h]; i++) ids.push(maskId);
      }
      ids.push(...suffixIds.slice(0, keepSuffix));
      const outcome = await decodeJoint(decodeModel, {
        sequence: Int32Array.from(ids), regions, spec: settings.spec, thresholds: settings.thresholds, options: settings.options,
        isCancelled: hooks.isCancelled,
        onStep: (info) => {
          for (const [k, h] of group.entries()) {
            holeIdBuffers[h].set(info.regions[k]);
            canvases[h] = Array.from(info.regions[k], text);
          }
          sendStep(info.commits.map((c) => ({ ...c, hole: group[c.region] })));
        },
      });
      nfe += outcome.nfe;
      queryTokens += outcome.queryTokens;
      fullPasses += outcome.fullPasses;
      commitsPerStep.push(...outcome.commitsPerStep);
      for (const [k, h] of group.entries()) {
        const r = outcome.regions[k];
        finishHole(h, g, {
          ids: answerIds(r.tokens, isEnd, maskId), canvas: r.tokens, steps: r.steps, doneAtStep: r.doneAtStep, stopReason: r.stopReason,
          trace: outcome.commits.filter((c) => c.region === k).map((c) => ({
            index: c.index, text: tokenizer.tokenText(c.tokenId), step: c.step, rule: c.rule, confidence: c.confidence,
          })),
        });
      }
      if (outcome.stopReason === 'cancelled') break;
    }
  } else {
    for (let h = 0; h < holes; h++) {
      if (hooks.isCancelled?.()) break;
      const prefix = textBefore(h);
      const suffix = textAfter(h);
      const { prefixIds, suffixIds } = encodeContext(prefix, suffix, config.maxLength - sizes[h]);
      const layout = buildCanvas({
        prefixIds, suffixIds, canvasLength: sizes[h], maxLength: config.maxLength, maskId, bosId: config.bosId,
        useBos: request.prefixIsFileStart !== false,
      });
      const outcome = await decode(decodeModel, {
        sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
        spec: settings.spec, thresholds: settings.thresholds, options: settings.options, isCancelled: hooks.isCancelled,
        hasBos: layout.hasBos,
        onStep: (info) => {
          holeIdBuffers[h].set(info.canvas);
          canvases[h] = Array.from(info.canvas, text);
          sendStep(info.commits.map((c) => ({ ...c, hole: h })));
        },
        answerIsFinal: (prefixTokens) => (settings.options.stopWhenAnswerFinal && Array.prototype.some.call(prefixTokens, isEnd) ? 'answer-final' : undefined),
      });
      nfe += outcome.nfe;
      queryTokens += outcome.queryTokens;
      commitsPerStep.push(...outcome.commitsPerStep);
      finishHole(h, h, {
        ids: answerIds(outcome.canvas, isEnd, maskId), canvas: outcome.canvas, steps: outcome.nfe, doneAtStep: outcome.nfe,
        stopReason: outcome.stopReason,
        trace: outcome.commits.map((c) => ({ index: c.index, text: tokenizer.tokenText(c.tokenId), step: c.step, rule: c.rule, confidence: c.confidence })),
      });
      if (outcome.stopReason === 'cancelled') break;
    }
  }
  for (let h = 0; h < holes; h++) {
    results[h] ??= {
      text: '', tokenIds: [], canvasLength: sizes[h], steps: 0, doneAtStep: 0, group: -1, trace: [], stopReason: 'cancelled',
    };
  }
  return {
    mode, holes: results, groups: new Set(results.map((r) => r.group).filter((g) => g >= 0)).size,
    nfe, ms: performance.now() - t0, fullPasses, queryTokens, commitsPerStep,
  };
}

/** A fill request's result in the completion result shape (completion is empty; `fill` holds the holes). */
export function fillCompletionResult(request: CompletionRequest, fill: FillResult, executionProvider: string,
  settings: DecodeSettings, loadMs: number, cancelled: boolean): CompletionResult {
  const tokens = fill.holes.reduce((a, h) => a + h.tokenIds.length, 0);
  const committed = fill.commitsPerStep.reduce((a, b) => a + b, 0);
  const canvasLength = fill.holes.reduce((a, h) => a + h.canvasLength, 0);
  return {
    requestId: request.id, completion: '', cancelled, stopReason: cancelled ? 'cancelled' : 'complete', tokenIds: [],
    trace: [], commitsPerStep: fill.commitsPerStep, fill,
    metrics: {
      nfe: fill.nfe, tokens, tokensPerStep: fill.nfe > 0 ? committed / fill.nfe : 0, ms: fill.ms, timeToFirstCommitMs: 0,
      lladaNfe: canvasLength, stepsSavedVsLladaPct: canvasLength > 0 ? 100 * (1 - fill.nfe / canvasLength) : 0,
      policy: settings.policy, cache: settings.options.cache, executionProvider, canvasLength, committedPositions: committed,
      queryTokens: fill.queryTokens, prefixTokens: 0, suffixTokens: 0, truncatedPrefixChars: 0, truncatedSuffixChars: 0, loadMs,
    },
  };
}
