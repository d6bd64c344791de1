// Shared types between the engine (worker thread / CLI) and its clients (VS Code adapter, CLI, benchmarks).
// No `vscode` import may ever appear under src/engine.

export const POLICY_NAMES = ['llada', 'fast-dllm', 'r2', 'streaming', 'r2+streaming'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** Which rule committed a token. */
export type CommitRule =
  | 'llada-topk'
  | 'threshold'
  | 'factor'
  | 'dynamic-threshold'
  | 'confidence-cluster'
  | 'token-cluster'
  | 'temporal'
  | 'fallback-best'
  | 'early-exit';

export interface DecodeThresholds {
  /** Fast-dLLM base threshold τ (commit if p1 ≥ τ). */
  tau: number;
  /** R² confidence-cluster window w, mean-confidence τs, max already-decoded tokens in window. */
  clusterWindow: number;
  clusterTau: number;
  clusterMaxDecoded: number;
  /** R² token cluster: minimum run length. */
  tokenClusterMinRun: number;
  /** R² temporal finalization: K stable steps, τt on the last confidence. */
  temporalK: number;
  temporalTau: number;
  /** Streaming-dLLM: suffix window (tokens) and α of the dynamic threshold. */
  streamingSuffixWindow: number;
  streamingAlpha: number;
}

export interface CompletionRequest {
  /** Unique per request; used for cancel and for step events. */
  id: string;
  prefix: string;
  suffix: string;
  languageId?: string;
  /** Number of MASK positions in the canvas (answer + end padding). */
  maxNewTokens?: number;
  policy?: PolicyName;
  thresholds?: Partial<DecodeThresholds>;
  /** Stop the completion at the first newline (single-line inline mode). */
  singleLine?: boolean;
  /** Also report the steps a plain llada / fast-dllm decode of the same canvas would use. */
  measureBaselines?: boolean;
}

export interface CommitInfo {
  /** Index inside the generated canvas (0 = first MASK position). */
  index: number;
  tokenId: number;
  text: string;
  rule: CommitRule;
  confidence: number;
}

export interface StepEvent {
  requestId: string;
  step: number;
  commits: CommitInfo[];
  /** Text of the contiguous committed prefix of the canvas, padding removed; what ghost text may show. */
  stablePrefix: string;
  /** Per canvas position: committed text, or null while still masked. */
  canvas: (string | null)[];
  maskedRemaining: number;
}

export interface RequestMetrics {
  nfe: number;
  tokens: number;
  tokensPerStep: number;
  ms: number;
  timeToFirstCommitMs: number;
  /** NFE the llada baseline (1 token/step) uses on the same canvas. */
  lladaNfe: number;
  /** NFE fast-dllm uses on the same canvas, when measured. */
  fastDllmNfe?: number;
  stepsSavedVsLladaPct: number;
  stepsSavedVsFastDllmPct?: number;
  policy: PolicyName;
  executionProvider: string;
}

export interface TokenTrace {
  index: number;
  text: string;
  step: number;
  rule: CommitRule;
  confidence: number;
}

export interface CompletionResult {
  requestId: string;
  /** The text that goes between prefix and suffix, padding removed. */
  completion: string;
  cancelled: boolean;
  metrics: RequestMetrics;
  trace: TokenTrace[];
  commitsPerStep: number[];
}

export interface EngineStatus {
  state: 'idle' | 'loading' | 'ready' | 'busy' | 'error';
  modelName?: string;
  executionProvider?: string;
  /** Why a requested execution provider was not used, if it was not. */
  fallbackReason?: string;
  error?: string;
}

/** A clear, user-facing engine error. `code` is stable for tests. */
export interface EngineErrorInfo {
  code:
    | 'MODEL_MISSING'
    | 'MODEL_CORRUPT'
    | 'VOCAB_MISMATCH'
    | 'UNKNOWN_POLICY'
    | 'UNKNOWN_EP'
    | 'BAD_INPUT'
    | 'OUT_OF_MEMORY'
    | 'WORKER_CRASHED'
    | 'CANCELLED'
    | 'INTERNAL';
  message: string;
}
