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
  | 'early-exit'
  /** End-token guard: the step's commits were all held back ends; its most confident allowed commit. */
  | 'end-guard'
  /** Shifted models: the unconditional first commit of a block's first pass (reference Dream samplers). */
  | 'block-first';

/** Block KV cache mode (Fast-dLLM): none, prefix (K/V before the block), dual (prefix and suffix). */
export const CACHE_MODES = ['none', 'prefix', 'dual'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

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
  /** Fast-dLLM factor variant: the k-th most confident token needs p1 ≥ 1 − factor/(k+1). */
  factor: number;
}

/** Decoding knobs besides thresholds. Unset fields take the policy's defaults (src/engine/defaults.ts). */
export interface DecodeOptions {
  /** Semi-autoregressive block length B. */
  blockSize: number;
  cache: CacheMode;
  /** llada only: total denoising steps over the canvas; default = canvas length (one token per step). */
  lladaSteps?: number;
  /** fast-dllm base rule: fixed threshold τ, or the factor rule. */
  baseRule: 'threshold' | 'factor';
  /** R² token cluster: which position of a run to commit. */
  tokenClusterPick: 'confidence' | 'mid';
  /** R² temporal finalization: aggregate over the streak compared with τt. */
  temporalEval: 'last' | 'ave' | 'max';
  /**
   * Stop as soon as the answer cannot change: the canvas start is committed up to and including an end token (PAD).
   * Lossless (commits are write-once and the completion ends at the first PAD), but not part of the reference
   * samplers, so it is off by default and the benchmark reports it separately. Editors should turn it on.
   */
  stopWhenAnswerFinal: boolean;
  /**
   * reference: end tokens commit like any token (the samplers as published). behind-answer: an end token commits only
   * where every canvas position before it is decided (rules/endGuard.ts), so the canvas tail cannot eat the answer.
   */
  endRule: EndRule;
  /** behind-answer: canvas positions that must hold content before an end token (1 = no empty answers). */
  minAnswerTokens: number;
}

export const END_RULES = ['reference', 'behind-answer'] as const;
export type EndRule = (typeof END_RULES)[number];

export interface CompletionRequest {
  /** Unique per request; used for cancel and for step events. */
  id: string;
  /** One request in flight per key (e.g. an editor's URI): a new request on the same key cancels the previous one. */
  editorKey?: string;
  prefix: string;
  suffix: string;
  languageId?: string;
  /** Number of MASK positions in the canvas (answer + end padding). */
  maxNewTokens?: number;
  policy?: PolicyName;
  thresholds?: Partial<DecodeThresholds>;
  /** Stop the completion at the first newline (single-line inline mode). */
  singleLine?: boolean;
  /** Also report the steps a plain llada / fast-dllm decode of the same canvas would use (runs them). */
  measureBaselines?: boolean;
  options?: Partial<DecodeOptions>;
  /** The prefix starts at offset 0 of the file, so BOS goes before it (dropped anyway if the prefix is truncated). Default true. */
  prefixIsFileStart?: boolean;
  /** Send step events (default true). The CLI and benchmarks turn them off. */
  emitSteps?: boolean;
  /** Fill several holes instead of one canvas (Fill All); prefix/suffix are then ignored. */
  fill?: FillSpec;
}

/** Fill All: `pieces` are the code around the holes (piece0 hole1 piece1 … holeK pieceK). */
export interface FillSpec {
  pieces: string[];
  /** Masked positions per hole (default: maxNewTokens for each). */
  holeTokens?: number[];
  /** joint: one decode over all holes (grouped when they do not fit the window); sequential: one hole after another. */
  mode?: FillMode;
  /** Also measure what the other mode costs (NFE, ms), for the stats panel. */
  measureOtherMode?: boolean;
}

export const FILL_MODES = ['joint', 'sequential'] as const;
export type FillMode = (typeof FILL_MODES)[number];

/** One hole's answer and how it was decoded. */
export interface FillHoleResult {
  text: string;
  tokenIds: number[];
  /** Masked positions of the hole. */
  canvasLength: number;
  /** Steps in which this hole committed, and the step (of its group's decode) after which it was done. */
  steps: number;
  doneAtStep: number;
  /** Which decode it belonged to (groups run one after another). */
  group: number;
  trace: TokenTrace[];
  stopReason: StopReason;
}

export interface FillResult {
  mode: FillMode;
  holes: FillHoleResult[];
  /** Decodes run (joint: one per group; sequential: one per hole). */
  groups: number;
  nfe: number;
  ms: number;
  /** Forward passes that fed the whole sequence (joint cache refreshes; 0 in sequential mode). */
  fullPasses: number;
  queryTokens: number;
  /** Commits per step over all decodes. */
  commitsPerStep: number[];
  /** The other mode's cost, when measured. */
  other?: { mode: FillMode; nfe: number; ms: number; queryTokens: number };
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
  /** Fill All: per hole, committed text or null per position (canvas/stablePrefix are then empty). */
  holes?: { canvas: (string | null)[]; stablePrefix: string }[];
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
  cache: CacheMode;
  executionProvider: string;
  /** MASK positions in the canvas (= maxNewTokens). */
  canvasLength: number;
  /** Canvas positions committed by a decoding rule (not by the early-exit fill). */
  committedPositions: number;
  /** Tokens fed to the model over all passes (a cost measure next to NFE). */
  queryTokens: number;
  /** Block-causal models: passes that only fill the cache (prompt prefill, finished blocks), not counted in NFE. */
  contextPasses?: number;
  /** First pass: the model's probability that the answer is empty (an end token first); 0 when not its top guess. */
  endAtStartProbability?: number;
  /** Prompt tokens kept, and characters dropped by truncation around the cursor (0 = nothing dropped). */
  prefixTokens: number;
  suffixTokens: number;
  truncatedPrefixChars: number;
  truncatedSuffixChars: number;
  /** Model load time paid by this request (0 when the model was already loaded); not part of `ms`. */
  loadMs: number;
}

/**
 * Why decoding stopped: every block decoded; the Streaming-dLLM early exit (a finished block held the end token);
 * the answer became final early (single-line mode saw a newline, or `stopWhenAnswerFinal` saw the end token right
 * after a fully committed answer); or a cancel.
 */
export type StopReason = 'complete' | 'early-exit' | 'single-line' | 'answer-final' | 'cancelled';

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
  stopReason: StopReason;
  /** Token ids of the completion (before the first PAD). */
  tokenIds: number[];
  metrics: RequestMetrics;
  trace: TokenTrace[];
  commitsPerStep: number[];
  /** Fill All requests: every hole's answer (completion is then ""). */
  fill?: FillResult;
}

export interface EngineStatus {
  state: 'idle' | 'loading' | 'ready' | 'busy' | 'error';
  modelName?: string;
  /** The loaded model's family, precision and parameter count (format 2 config; the bundled model: dllm-code). */
  modelFamily?: string;
  modelPrecision?: string;
  modelParams?: number;
  modelDir?: string;
  /** The provider asked for (settings), next to the one in use. */
  requestedExecutionProvider?: ExecutionProviderName;
  executionProvider?: string;
  /** Why a requested execution provider was not used, if it was not. */
  fallbackReason?: string;
  error?: string;
  /** Error code of the last failure, when state is 'error'. */
  errorCode?: EngineErrorInfo['code'];
  /** Requests waiting or running in the engine. */
  pending?: number;
  /** Worker restarts after crashes since the client started. */
  restarts?: number;
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
    | 'MODEL_TOO_LARGE'
    | 'WORKER_CRASHED'
    | 'CANCELLED'
    | 'INTERNAL';
  message: string;
}

/** What the engine needs to load a model. */
export interface EngineConfig {
  /** Folder with model.onnx, tokenizer.json, config.json. */
  modelDir: string;
  executionProvider: ExecutionProviderName;
  /** CPU threads for onnxruntime (default 2). */
  intraOpNumThreads?: number;
}

/** Messages from the client to the worker. */
export type ToWorkerMessage =
  | { type: 'configure'; config: EngineConfig }
  | { type: 'complete'; request: CompletionRequest }
  | { type: 'cancel'; id: string }
  | { type: 'shutdown' };

/** Messages from the worker to the client. */
export type FromWorkerMessage =
  | { type: 'ready' }
  | { type: 'status'; status: EngineStatus }
  | { type: 'step'; event: StepEvent }
  | { type: 'result'; result: CompletionResult }
  | { type: 'error'; requestId?: string; error: EngineErrorInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
