// One inline completion request, end to end, the same for the editor and the command line:
//   context window → single/multi-line choice → decode (any engine) → post-filters → confidence gate.
// The inline provider uses the steps one by one (it streams, caches and cancels around the decode);
// `runCompletion` chains them for `node dist/cli.js complete` and the replay benchmark.
import type { Settings } from '../config';
import type { CompletionRequest, CompletionResult, DecodeOptions, EndRule, StepEvent } from '../engine/protocol';
import { chooseCompletionShape } from './completionShape';
import { type ContextBudget, type FittedContext, MODEL_WINDOW_TOKENS, fitContext, readWindowChars } from './contextWindow';
import { type CompletionShape, type FilterContext, applyPostFilters } from './postFilters';
import { healPrefix, unhealAnswer } from './prefixHealing';

/** The settings a completion depends on. */
export type PipelineSettings = Pick<Settings,
  'policy' | 'threshold' | 'clusterThreshold' | 'temporalSteps' | 'temporalThreshold' | 'maxNewTokens' | 'completionMode' | 'minConfidence'>;

/** The text around a cursor. The ends say whether prefix / suffix reach the document's start / end (default: yes). */
export interface CursorText {
  prefix: string;
  suffix: string;
  languageId?: string;
  prefixIsFileStart?: boolean;
  suffixIsFileEnd?: boolean;
}

export interface PreparedCompletion {
  fitted: FittedContext;
  shape: CompletionShape;
  /** Taken off the end of the prefix for the engine; the engine's answer starts with it (prefixHealing.ts). */
  healed: string;
  /** What the post-filters judge the answer against. */
  filterContext: Omit<FilterContext, 'final'>;
}

/** A finished completion: what the editor shows, and why not when it does not. */
export interface CompletionOutcome {
  /** The suggestion appears (non-empty, and at or above the gate unless the request was explicit). */
  shown: boolean;
  /** The best answer after the post-filters ('' = nothing to suggest); an explicit trigger shows it even when held back. */
  text: string;
  /** Aggregate of the committed probabilities of the answer tokens behind the text's first line (0 when empty). */
  confidence: number;
  nfe: number;
  ms: number;
  /** Set when a non-empty answer was held back by the gate. */
  heldBackReason?: string;
}

/** The engine as the pipeline needs it: the CLI's in-process Engine or the editor's worker client. */
export interface CompletionEngine {
  complete(request: CompletionRequest, onStep?: (e: StepEvent) => void): Promise<CompletionResult>;
}

export function contextBudget(settings: Pick<PipelineSettings, 'maxNewTokens'>): ContextBudget {
  return { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: settings.maxNewTokens };
}

/** How many characters each side of the cursor an editor needs to read (never the whole document). */
export function cursorWindowChars(settings: Pick<PipelineSettings, 'maxNewTokens'>): number {
  return readWindowChars(contextBudget(settings));
}

/** Context window and single/multi-line choice. */
export function prepareCompletion(cursor: CursorText, settings: Pick<PipelineSettings, 'maxNewTokens' | 'completionMode'>): PreparedCompletion {
  const fitted = fitContext(cursor.prefix, cursor.suffix, contextBudget(settings), {
    prefixIsFileStart: cursor.prefixIsFileStart ?? true, suffixIsFileEnd: cursor.suffixIsFileEnd ?? true,
  });
  const shape = chooseCompletionShape(settings.completionMode, fitted.prefix, fitted.suffix);
  return {
    fitted, shape, healed: healPrefix(fitted.prefix, shape === 'multiLine').healed,
    filterContext: {
      prefix: fitted.prefix, suffix: fitted.suffix, shape, languageId: cursor.languageId,
      prefixIsFileStart: fitted.prefixIsFileStart, suffixIsFileEnd: fitted.suffixIsFileEnd, cutInsideLines: true,
    },
  };
}

/** True when the context gives the model nothing to go on (the engine would refuse it). */
export const isBlankContext = (p: PreparedCompletion): boolean => !/\S/.test(p.fitted.prefix) && !/\S/.test(p.fitted.suffix);

/**
 * How a suggestion's end is decided. An end token commits only behind a decided answer, and never first: an inline
 * request wants the model's best non-empty answer (the confidence gate decides whether it is shown). `reference`
 * is the published samplers' behaviour, kept for comparison (bench --replay --end-rule reference).
 */
export function endOptions(endRule: EndRule = 'behind-answer'): Pick<DecodeOptions, 'endRule' | 'minAnswerTokens'> {
  return endRule === 'behind-answer' ? { endRule, minAnswerTokens: 1 } : { endRule, minAnswerTokens: 0 };
}

/** The engine request for a prepared completion, with the decoding settings. */
export function completionRequest(
  id: string, prepared: PreparedCompletion, settings: PipelineSettings,
  extra: { editorKey?: string; emitSteps?: boolean; endRule?: EndRule } = {},
): CompletionRequest {
  return {
    id,
    prefix: prepared.fitted.prefix.slice(0, prepared.fitted.prefix.length - prepared.healed.length),
    suffix: prepared.fitted.suffix,
    prefixIsFileStart: prepared.fitted.prefixIsFileStart,
    languageId: prepared.filterContext.languageId,
    maxNewTokens: settings.maxNewTokens,
    singleLine: prepared.shape === 'singleLine',
    policy: settings.policy,
    thresholds: { tau: settings.threshold, clusterTau: settings.clusterThreshold, temporalK: settings.temporalSteps, temporalTau: settings.temporalThreshold },
    options: { stopWhenAnswerFinal: true, ...endOptions(extra.endRule) },
    emitSteps: extra.emitSteps ?? true,
    ...(extra.editorKey ? { editorKey: extra.editorKey } : {}),
  };
}

/**
 * The geometric mean of the committed probabilities, exp(mean log p): the per-token likelihood of the line, so a
 * single doubtful token pulls it down (unlike the arithmetic mean) without one token deciding alone (as the minimum
 * does), and its value does not shrink with the line's length (unlike the product). BENCHMARKS.md compares it with
 * the minimum on the replay set.
 */
export function geometricMean(probabilities: readonly number[]): number {
  if (probabilities.length === 0) return 0;
  const meanLog = probabilities.reduce((s, p) => s + Math.log(Math.max(p, 1e-9)), 0) / probabilities.length;
  return Math.exp(meanLog);
}

/**
 * Committed probabilities of the answer tokens (canvas positions before the first end token) that make up the first
 * non-blank line of `text` (the shown answer, a prefix of the engine's completion in all but rare cases), in canvas order. Leading newline and indentation
 * tokens count: they are part of what Tab inserts.
 */
export function firstLineProbabilities(result: CompletionResult, text: string): number[] {
  const firstContent = text.search(/\S/);
  if (firstContent < 0) return [];
  const lineEnd = text.indexOf('\n', firstContent);
  const end = lineEnd < 0 ? text.length : lineEnd;
  const canvasOrder = [...result.trace].sort((a, b) => a.index - b.index);
  const probabilities: number[] = [];
  let offset = 0;
  for (const token of canvasOrder) {
    if (offset >= end || token.text === '') break; // '' = an end token (padding): the answer is over
    probabilities.push(token.confidence);
    offset += token.text.length;
  }
  return probabilities;
}

/**
 * The suggestion's confidence: the geometric mean of its first line's committed probabilities (geometricMean,
 * firstLineProbabilities), times the probability that there is an answer at all, 1 − the model's first-pass belief
 * that the answer is empty. The end guard never lets that belief end the answer, so it counts here instead: the
 * model's best non-empty answer at a place where it expects nothing is shown only when asked for.
 */
export function answerConfidence(result: CompletionResult, text: string): number {
  return geometricMean(firstLineProbabilities(result, text)) * (1 - (result.metrics.endAtStartProbability ?? 0));
}

/** Shown or held back. Explicit requests (dLLM: Trigger Completion) show any non-empty answer. */
export function applyGate(text: string, confidence: number, minConfidence: number, explicit: boolean): Pick<CompletionOutcome, 'shown' | 'heldBackReason'> {
  if (text === '') return { shown: false };
  if (explicit || confidence >= minConfidence) return { shown: true };
  return { shown: false, heldBackReason: `confidence ${confidence.toFixed(2)} is below dllm.minConfidence ${minConfidence}` };
}

/** Post-filters and the gate on a finished decode. */
export function finishCompletion(
  result: CompletionResult, prepared: PreparedCompletion, settings: Pick<PipelineSettings, 'minConfidence'>, explicit: boolean, ms = result.metrics.ms,
): CompletionOutcome {
  const answer = result.cancelled ? '' : unhealAnswer(result.completion, prepared.healed);
  const text = applyPostFilters(answer, { ...prepared.filterContext, final: true });
  // the trace covers the engine's whole text: count what healing cut off in front of the answer
  const cutOff = text === '' ? '' : result.completion.slice(0, result.completion.length - answer.length);
  const confidence = answerConfidence(result, cutOff + text);
  const gate = applyGate(text, confidence, settings.minConfidence, explicit);
  return {
    shown: gate.shown, text, confidence: Math.round(confidence * 1e4) / 1e4, nfe: result.metrics.nfe,
    ms: Math.round(ms * 10) / 10, ...(gate.heldBackReason ? { heldBackReason: gate.heldBackReason } : {}),
  };
}

/** One completion request end to end. `explicit`: asked for by the user (no gate). */
export async function runCompletion(
  engine: CompletionEngine, cursor: CursorText, settings: PipelineSettings,
  o: { id: string; explicit?: boolean; onStep?: (e: StepEvent) => void; endRule?: EndRule },
): Promise<CompletionOutcome & { result?: CompletionResult; prepared: PreparedCompletion }> {
  const t0 = performance.now();
  const prepared = prepareCompletion(cursor, settings);
  if (isBlankContext(prepared)) return { shown: false, text: '', confidence: 0, nfe: 0, ms: 0, prepared };
  const result = await engine.complete(completionRequest(o.id, prepared, settings, { emitSteps: o.onStep !== undefined, endRule: o.endRule }), o.onStep);
  const ms = performance.now() - t0 - result.metrics.loadMs;
  return { ...finishCompletion(result, prepared, settings, o.explicit ?? false, ms), result, prepared };
}
