// Request validation and the decode settings it resolves to. Bad input becomes a clear EngineError, never a crash.
import { DEFAULT_MAX_NEW_TOKENS, DEFAULT_THRESHOLDS, defaultDecodeOptions } from './defaults';
import { EngineError } from './errors';
import { isPolicyName, policySpec, type PolicySpec } from './policies';
import {
  CACHE_MODES, type CompletionRequest, END_RULES, type DecodeOptions, type DecodeThresholds, POLICY_NAMES, type PolicyName,
} from './protocol';

export interface DecodeSettings {
  policy: PolicyName;
  spec: PolicySpec;
  thresholds: DecodeThresholds;
  options: DecodeOptions;
  maxNewTokens: number;
}

const bad = (message: string) => new EngineError('BAD_INPUT', message);

const PROBABILITIES: Array<keyof DecodeThresholds> = ['tau', 'clusterTau', 'temporalTau', 'streamingAlpha'];
const COUNTS: Array<[keyof DecodeThresholds, number]> = [
  ['clusterWindow', 0], ['clusterMaxDecoded', 0], ['tokenClusterMinRun', 1], ['temporalK', 1], ['streamingSuffixWindow', 0],
];

function checkThresholds(t: DecodeThresholds): void {
  for (const key of PROBABILITIES) {
    const v = t[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(`thresholds.${key} must be a number in [0, 1], got ${JSON.stringify(v)}.`);
  }
  for (const [key, min] of COUNTS) {
    const v = t[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`thresholds.${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}.`);
  }
  if (typeof t.factor !== 'number' || !(t.factor > 0 && t.factor < 2)) throw bad(`thresholds.factor must be in (0, 2), got ${JSON.stringify(t.factor)}.`);
}

function checkOptions(o: DecodeOptions): void {
  if (!Number.isInteger(o.blockSize) || o.blockSize < 1) throw bad(`options.blockSize must be an integer ≥ 1, got ${JSON.stringify(o.blockSize)}.`);
  if (!(CACHE_MODES as readonly string[]).includes(o.cache)) throw bad(`options.cache must be one of ${CACHE_MODES.join(', ')}, got ${JSON.stringify(o.cache)}.`);
  if (o.lladaSteps !== undefined && (!Number.isInteger(o.lladaSteps) || o.lladaSteps < 1)) throw bad(`options.lladaSteps must be an integer ≥ 1, got ${JSON.stringify(o.lladaSteps)}.`);
  if (o.baseRule !== 'threshold' && o.baseRule !== 'factor') throw bad(`options.baseRule must be "threshold" or "factor", got ${JSON.stringify(o.baseRule)}.`);
  if (o.tokenClusterPick !== 'confidence' && o.tokenClusterPick !== 'mid') throw bad(`options.tokenClusterPick must be "confidence" or "mid", got ${JSON.stringify(o.tokenClusterPick)}.`);
  if (!['last', 'ave', 'max'].includes(o.temporalEval)) throw bad(`options.temporalEval must be last, ave or max, got ${JSON.stringify(o.temporalEval)}.`);
  if (typeof o.stopWhenAnswerFinal !== 'boolean') throw bad('options.stopWhenAnswerFinal must be a boolean.');
  if (!(END_RULES as readonly string[]).includes(o.endRule)) throw bad(`options.endRule must be one of ${END_RULES.join(', ')}, got ${JSON.stringify(o.endRule)}.`);
  if (!Number.isInteger(o.minAnswerTokens) || o.minAnswerTokens < 0) throw bad(`options.minAnswerTokens must be an integer ≥ 0, got ${JSON.stringify(o.minAnswerTokens)}.`);
}

/** Checks a request's shape and resolves its decode settings; `defaultBlockSize` comes from the model config. */
export function resolveRequest(request: CompletionRequest, defaultBlockSize: number): DecodeSettings {
  if (typeof request !== 'object' || request === null) throw bad('A completion request must be an object.');
  if (typeof request.id !== 'string' || request.id.length === 0) throw bad('A completion request needs a non-empty string id.');
  if (typeof request.prefix !== 'string') throw bad('prefix must be a string (use "" at the start of a file).');
  if (typeof request.suffix !== 'string') throw bad('suffix must be a string (use "" at the end of a file).');
  if (request.prefix.trim().length === 0 && request.suffix.trim().length === 0) {
    throw bad('Nothing to complete from: prefix and suffix are both empty (or whitespace only).');
  }
  const policy = request.policy ?? 'r2';
  if (!isPolicyName(policy)) {
    throw new EngineError('UNKNOWN_POLICY', `Unknown decoding policy "${String(policy)}". Known policies: ${POLICY_NAMES.join(', ')}.`);
  }
  const maxNewTokens = request.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw bad(`maxNewTokens must be a positive integer, got ${JSON.stringify(maxNewTokens)}.`);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...(request.thresholds ?? {}) };
  checkThresholds(thresholds);
  const options: DecodeOptions = { ...defaultDecodeOptions(policy), blockSize: defaultBlockSize, ...(request.options ?? {}) };
  checkOptions(options);
  return { policy, spec: policySpec(policy, options), thresholds, options, maxNewTokens };
}
