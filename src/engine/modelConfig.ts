// The model directory: which files must exist, and config.json read into a typed, validated object.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from './errors';

export const MODEL_FILES = { model: 'model.onnx', tokenizer: 'tokenizer.json', config: 'config.json' } as const;

export interface ModelPaths {
  dir: string;
  model: string;
  tokenizer: string;
  config: string;
}

export interface ModelConfig {
  name: string;
  formatVersion: number;
  vocabSize: number;
  maskId: number;
  /** PAD: fills the canvas after the answer; always one of endIds. */
  padId: number;
  /** BOS, or -1 when the model has none (format 2 allows `bos_token_id: null`). */
  bosId: number;
  /** Ids that end the answer (EOS, EoT, PAD): the completion is the canvas before the first of them. */
  endIds: number[];
  /** 1 for Dream-family models: position i reads the prediction made at row i − 1. */
  logitShift: 0 | 1;
  blockSize: number;
  /** Total tokens (cache + query) the model was trained for. */
  maxLength: number;
  topK: number;
  nLayers: number;
  nHeads: number;
  /** K/V heads (fewer than nHeads with grouped-query attention). */
  nKvHeads: number;
  headDim: number;
  kvCache: boolean;
  languages: string[];
  /** bidirectional: every pass sees the whole sequence; block-causal: a block sees itself and what came before. */
  attention: 'bidirectional' | 'block-causal';
  precision: 'fp32' | 'fp16' | 'int8' | 'int4';
  kvDtype: 'float32' | 'float16';
  family: string;
  nParams: number | undefined;
  sourceCheckpoint: string | undefined;
  license: string | undefined;
  /** Special-token strings that user text must never turn into (escaped before encoding). */
  specialTokens: string[];
}

/** True when `id` ends the answer (any of the model's end ids). Every end-of-answer decision goes through here. */
export function isEndToken(config: { readonly endIds: readonly number[] }, id: number): boolean {
  return config.endIds.includes(id);
}

/** Resolves the three files of a model directory; MODEL_MISSING names every file that is absent. */
export function modelPaths(dir: string): ModelPaths {
  if (!dir) throw new EngineError('MODEL_MISSING', 'No model directory configured.');
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new EngineError('MODEL_MISSING', `Model directory not found: ${abs}`);
  }
  const paths = {
    dir: abs,
    model: path.join(abs, MODEL_FILES.model),
    tokenizer: path.join(abs, MODEL_FILES.tokenizer),
    config: path.join(abs, MODEL_FILES.config),
  };
  const missing = Object.values(MODEL_FILES).filter((f) => !fs.existsSync(path.join(abs, f)));
  if (missing.length > 0) {
    throw new EngineError('MODEL_MISSING', `Model directory ${abs} is missing ${missing.join(', ')}.`);
  }
  return paths;
}

function integer(raw: Record<string, unknown>, key: string, file: string, min = 0): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new EngineError('MODEL_CORRUPT', `${file}: "${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}.`);
  }
  return v;
}

export function parseModelConfig(text: string, file: string = MODEL_FILES.config): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EngineError('MODEL_CORRUPT', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EngineError('MODEL_CORRUPT', `${file} must hold a JSON object.`);
  }
  const r = raw as Record<string, unknown>;
  const formatVersion = integer(r, 'format_version', file, 1);
  if (formatVersion !== 1 && formatVersion !== 2) {
    throw new EngineError('MODEL_CORRUPT', `${file}: format_version ${formatVersion} is not supported (expected 1 or 2).`);
  }
  const v2 = formatVersion === 2;
  const vocabSize = integer(r, 'vocab_size', file, 1);
  const padId = integer(r, 'pad_token_id', file);
  const nHeads = integer(r, 'n_heads', file, 1);
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = r[key];
    if (!v2 || v === undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw new EngineError('MODEL_CORRUPT', `${file}: "${key}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}.`);
    }
    return v as T;
  };
  const optionalString = (key: string) => (typeof r[key] === 'string' ? (r[key] as string) : undefined);
  let endIds = [padId];
  if (v2 && r.end_token_ids !== undefined) {
    const list = r.end_token_ids;
    if (!Array.isArray(list) || list.length === 0 || !list.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new EngineError('MODEL_CORRUPT', `${file}: "end_token_ids" must be a non-empty list of token ids, got ${JSON.stringify(list)}.`);
    }
    endIds = [...new Set([padId, ...(list as number[])])];
  }
  const config: ModelConfig = {
    name: typeof r.name === 'string' ? r.name : 'unnamed-model',
    formatVersion,
    vocabSize,
    maskId: integer(r, 'mask_token_id', file),
    padId,
    bosId: v2 && r.bos_token_id === null ? -1 : integer(r, 'bos_token_id', file),
    endIds,
    logitShift: integer(r, 'logit_shift', file) as 0 | 1,
    blockSize: integer(r, 'block_size', file, 1),
    maxLength: integer(r, 'max_length', file, 2),
    topK: integer(r, 'top_k', file, 1),
    nLayers: integer(r, 'n_layers', file, 1),
    nHeads,
    nKvHeads: v2 && r.n_kv_heads !== undefined ? integer(r, 'n_kv_heads', file, 1) : nHeads,
    headDim: integer(r, 'head_dim', file, 1),
    kvCache: r.kv_cache !== false,
    languages: Array.isArray(r.languages) ? r.languages.filter((l): l is string => typeof l === 'string') : [],
    attention: oneOf('attention', ['bidirectional', 'block-causal'] as const, 'bidirectional'),
    precision: oneOf('precision', ['fp32', 'fp16', 'int8', 'int4'] as const, v2 ? 'fp32' : 'int8'),
    kvDtype: oneOf('kv_dtype', ['float32', 'float16'] as const, 'float32'),
    family: optionalString('family') ?? (v2 ? 'unknown' : 'dllm-code'),
    nParams: typeof r.n_params === 'number' ? r.n_params : undefined,
    sourceCheckpoint: optionalString('source_checkpoint'),
    license: optionalString('license'),
    specialTokens: Array.isArray(r.special_tokens) ? r.special_tokens.filter((t): t is string => typeof t === 'string' && t.length > 0) : [],
  };
  if (config.logitShift !== 0 && config.logitShift !== 1) {
    throw new EngineError('MODEL_CORRUPT', `${file}: logit_shift must be 0 or 1, got ${config.logitShift}.`);
  }
  if (config.nHeads % config.nKvHeads !== 0) {
    throw new EngineError('MODEL_CORRUPT', `${file}: n_heads ${config.nHeads} is not a multiple of n_kv_heads ${config.nKvHeads}.`);
  }
  if (config.attention === 'block-causal' && !config.kvCache) {
    throw new EngineError('MODEL_CORRUPT', `${file}: a block-causal model needs kv_cache (finished blocks are fed as past).`);
  }
  const ids: Array<[string, number]> = [['mask_token_id', config.maskId], ['pad_token_id', config.padId]];
  if (config.bosId >= 0) ids.push(['bos_token_id', config.bosId]);
  for (const [key, id] of ids) {
    if (id >= vocabSize) {
      throw new EngineError('MODEL_CORRUPT', `${file}: ${key} ${id} is outside the vocabulary (${vocabSize}).`);
    }
  }
  if (new Set(ids.map(([, id]) => id)).size !== ids.length || config.endIds.includes(config.maskId) ||
    (config.bosId >= 0 && config.endIds.includes(config.bosId))) {
    throw new EngineError('MODEL_CORRUPT', `${file}: mask, pad/end and bos ids must differ.`);
  }
  return config;
}

export function readModelConfig(file: string): ModelConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new EngineError('MODEL_MISSING', `Cannot read ${file}: ${(err as Error).message}`);
  }
  return parseModelConfig(text, file);
}
