// Every decoding default in one place. Values are the reference defaults (shared/research/decoding-methods.md §8.4).
import type { CacheMode, DecodeOptions, DecodeThresholds, PolicyName } from './protocol';

export const DEFAULT_THRESHOLDS: Readonly<DecodeThresholds> = Object.freeze({
  tau: 0.9, // Fast-dLLM τ
  clusterWindow: 3, // R² confidence-cluster w
  clusterTau: 0.8, // R² τs (both spatial rules)
  clusterMaxDecoded: 1, // R² u_max
  tokenClusterMinRun: 2,
  temporalK: 3,
  temporalTau: 0.8, // R² τt
  streamingSuffixWindow: 32, // Streaming-dLLM w, in tokens (reference range 32…256)
  streamingAlpha: 0.3, // Streaming-dLLM α (reference range 0.1…0.7; 0.3 is the most common tuned value)
  factor: 1, // Fast-dLLM factor f
} satisfies DecodeThresholds);

export const DEFAULT_BLOCK_SIZE = 32;
export const DEFAULT_MAX_NEW_TOKENS = 48;

/** Per-policy default cache: fast-dllm and r2 use the dual cache, streaming the prefix cache, llada none. */
export const DEFAULT_CACHE: Readonly<Record<PolicyName, CacheMode>> = Object.freeze({
  llada: 'none',
  'fast-dllm': 'dual',
  r2: 'dual',
  streaming: 'prefix',
  'r2+streaming': 'prefix',
});

export function defaultDecodeOptions(policy: PolicyName): DecodeOptions {
  return {
    blockSize: DEFAULT_BLOCK_SIZE,
    cache: DEFAULT_CACHE[policy],
    baseRule: 'threshold',
    tokenClusterPick: 'confidence',
    temporalEval: 'last',
    stopWhenAnswerFinal: false,
    endRule: 'reference',
    minAnswerTokens: 0,
  };
}

/** Share of the prompt budget kept for the suffix when the text is longer than the model window. */
export const SUFFIX_BUDGET_SHARE = 0.25;

/** onnxruntime CPU threads. */
export const DEFAULT_INTRA_OP_THREADS = 2;
