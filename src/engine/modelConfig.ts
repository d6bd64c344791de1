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
  /** PAD: the end-of-answer marker; the completion is the canvas before the first PAD. */
  padId: number;
  bosId: number;
  /** 1 for Dream-family models: position i reads the prediction made at row i − 1. */
  logitShift: 0 | 1;
  blockSize: number;
  /** Total tokens (cache + query) the model was trained for. */
  maxLength: number;
  topK: number;
  nLayers: number;
  nHeads: number;
  headDim: number;
  kvCache: boolean;
  languages: string[];
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
  if (formatVersion !== 1) {
    throw new EngineError('MODEL_CORRUPT', `${file}: format_version ${formatVersion} is not supported (expected 1).`);
  }
  const vocabSize = integer(r, 'vocab_size', file, 1);
  const config: ModelConfig = {
    name: typeof r.name === 'string' ? r.name : 'unnamed-model',
    formatVersion,
    vocabSize,
    maskId: integer(r, 'mask_token_id', file),
    padId: integer(r, 'pad_token_id', file),
    bosId: integer(r, 'bos_token_id', file),
    logitShift: integer(r, 'logit_shift', file) as 0 | 1,
    blockSize: integer(r, 'block_size', file, 1),
    maxLength: integer(r, 'max_length', file, 2),
    topK: integer(r, 'top_k', file, 1),
    nLayers: integer(r, 'n_layers', file, 1),
    nHeads: integer(r, 'n_heads', file, 1),
    headDim: integer(r, 'head_dim', file, 1),
    kvCache: r.kv_cache !== false,
    languages: Array.isArray(r.languages) ? r.languages.filter((l): l is string => typeof l === 'string') : [],
  };
  if (config.logitShift !== 0 && config.logitShift !== 1) {
    throw new EngineError('MODEL_CORRUPT', `${file}: logit_shift must be 0 or 1, got ${config.logitShift}.`);
  }
  for (const key of ['maskId', 'padId', 'bosId'] as const) {
    if (config[key] >= vocabSize) {
      throw new EngineError('MODEL_CORRUPT', `${file}: ${key} ${config[key]} is outside the vocabulary (${vocabSize}).`);
    }
  }
  if (new Set([config.maskId, config.padId, config.bosId]).size !== 3) {
    throw new EngineError('MODEL_CORRUPT', `${file}: mask, pad and bos ids must differ.`);
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
