// Tiny graphs in the model format (models/FORMAT.md), hand-encoded as ONNX protobuf so the engine's tests run a real
// onnxruntime session without shipping weights: the contract's inputs and outputs, K/V with any K/V head count and
// element type, a whole-sequence context signal through past + present values, and random low-rank logits.
// Not a language model: what it predicts is arbitrary but deterministic, and depends on every token fed (as past too).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type GraphNode, type GraphDtype, onnxModel, ELEMENT_TYPE } from '../../src/engine/onnxGraph';

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

export interface TinyGraphOptions {
  vocabSize: number;
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  topK: number;
  kvDtype?: 'float32' | 'float16';
  /** Rank of the random logits (embedding width). */
  rank?: number;
  seed?: number;
  /** Logit added to these token ids at every position (e.g. to make an end token win). */
  favour?: Record<number, number>;
}

export function tinyDllmGraph(o: TinyGraphOptions): Uint8Array {
  const { vocabSize: V, nLayers: L, nKvHeads: H, headDim: D, topK } = o;
  const R = o.rank ?? 8;
  const kv: GraphDtype = o.kvDtype === 'float16' ? 'float16' : 'float32';
  const rnd = random(o.seed ?? 1);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale);
  const bias = new Float32Array(V);
  for (const [id, logit] of Object.entries(o.favour ?? {})) bias[Number(id)] = logit;
  const ints = (...v: number[]) => BigInt64Array.from(v, BigInt);
  const initializer = (name: string, dims: number[], data: Float32Array | BigInt64Array) => ({ name, dims, data });
  const node = (op: string, inputs: string[], outputs: string[], attributes: GraphNode['attributes'] = {}): GraphNode =>
    ({ op, inputs, outputs, attributes });
  const initializers = [
    initializer('embed', [V, R], fill(V * R, 1)),
    initializer('head', [R, V], fill(R * V, 2)),
    initializer('kv_embed', [V, L * H * D], fill(V * L * H * D, 1)),
    initializer('context_dir', [V], fill(V, 20)),
    initializer('bias', [V], bias),
    initializer('kv_shape', [5], ints(1, -1, L, H, D)),
    initializer('flat', [1], ints(-1)),
    initializer('k', [1], ints(topK)),
    initializer('last_axis', [1], ints(-1)),
    initializer('position_scale', [], Float32Array.of(0.01)),
  ];
  const nodes = [
    node('Gather', ['embed', 'input_ids'], ['h']),
    node('Gather', ['kv_embed', 'input_ids'], ['kv_flat']),
    node('Cast', ['position_ids'], ['pos_f'], { to: ELEMENT_TYPE.float32 }),
    node('Unsqueeze', ['pos_f', 'last_axis'], ['pos_col']),
    node('Mul', ['pos_col', 'position_scale'], ['pos_shift']),
    node('Add', ['kv_flat', 'pos_shift'], ['kv_pos']),
    node('Reshape', ['kv_pos', 'kv_shape'], ['kv5']),
    node('Transpose', ['kv5'], ['present32'], { perm: [2, 0, 3, 1, 4] }),
    node('Cast', ['present32'], ['present_keys'], { to: ELEMENT_TYPE[kv] }),
    node('Neg', ['present_keys'], ['present_values']),
    node('Concat', ['past_values', 'present_values'], ['all_values'], { axis: 3 }),
    node('Cast', ['all_values'], ['all_values32'], { to: ELEMENT_TYPE.float32 }),
    node('ReduceMean', ['all_values32'], ['context'], { axes: [0, 1, 2, 3, 4], keepdims: 0 }),
    node('MatMul', ['h', 'head'], ['logits_all']),
    node('Reshape', ['output_positions', 'flat'], ['rows']),
    node('Gather', ['logits_all', 'rows'], ['logits_rows'], { axis: 1 }),
    node('Mul', ['context_dir', 'context'], ['context_logits']),
    node('Add', ['logits_rows', 'context_logits'], ['logits_ctx']),
    node('Add', ['logits_ctx', 'bias'], ['logits']),
    node('Softmax', ['logits'], ['probs'], { axis: -1 }),
    node('LogSoftmax', ['logits'], ['log_probs'], { axis: -1 }),
    node('TopK', ['probs', 'k'], ['top_probs', 'top_ids'], { axis: -1 }),
    node('Mul', ['probs', 'log_probs'], ['p_log_p']),
    node('ReduceSum', ['p_log_p', 'last_axis'], ['neg_entropy'], { keepdims: 0 }),
  ];
  return onnxModel({
    name: 'tiny_dllm', opset: 17, nodes, initializers,
    inputs: [
      { name: 'input_ids', dtype: 'int64', dims: [1, 'q'] },
      { name: 'position_ids', dtype: 'int64', dims: [1, 'q'] },
      { name: 'past_keys', dtype: kv, dims: [L, 1, H, 'past', D] },
      { name: 'past_values', dtype: kv, dims: [L, 1, H, 'past', D] },
      { name: 'output_positions', dtype: 'int64', dims: [1, 'n_out'] },
    ],
    outputs: [
      { name: 'top_ids', dtype: 'int64', dims: [1, 'n_out', topK] },
      { name: 'top_probs', dtype: 'float32', dims: [1, 'n_out', topK] },
      { name: 'neg_entropy', dtype: 'float32', dims: [1, 'n_out'] },
      { name: 'present_keys', dtype: kv, dims: [L, 1, H, 'q', D] },
      { name: 'present_values', dtype: kv, dims: [L, 1, H, 'q', D] },
    ],
  });
}

/** Added tokens of the tiny test models: plain-string specials, as Qwen-family tokenizers have. */
export const TINY_SPECIALS = { endOfText: '<|endoftext|>', imEnd: '<|im_end|>', mask: '<|mask|>' } as const;

export interface TinyModelOptions {
  attention?: 'bidirectional' | 'block-causal';
  kvDtype?: 'float32' | 'float16';
  nKvHeads?: number;
  logitShift?: 0 | 1;
  blockSize?: number;
  /** Logit bias per token id (see TinyGraphOptions.favour). */
  favour?: Record<number, number>;
  /** Replaces or adds config.json fields. */
  config?: Record<string, unknown>;
  seed?: number;
  /** Embedding rows beyond the tokenizer (as Qwen2.5 pads 151,665 ids to 151,936); they get a -100 logit bias. */
  vocabPadding?: number;
}

/**
 * A format-2 model folder: the tiny graph, the repository's tokenizer with three plain-string special tokens added
 * (`<|endoftext|>` = pad and end, `<|im_end|>` = second end id, `<|mask|>`), no BOS, and 4 query / 2 K/V heads.
 */
export function writeTinyModelDir(tokenizerFile: string, o: TinyModelOptions = {}): { dir: string; config: Record<string, any> } {
  const tokenizer = JSON.parse(fs.readFileSync(tokenizerFile, 'utf8'));
  let next = 0;
  for (const t of tokenizer.added_tokens) next = Math.max(next, t.id + 1);
  for (const id of Object.values(tokenizer.model.vocab) as number[]) next = Math.max(next, id + 1);
  const ids: Record<string, number> = {};
  for (const content of Object.values(TINY_SPECIALS)) {
    ids[content] = next;
    tokenizer.added_tokens.push({ id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  const vocabSize = next + (o.vocabPadding ?? 0);
  const favour = { ...o.favour };
  for (let id = next; id < vocabSize; id++) favour[id] = -100;
  const kvDtype = o.kvDtype ?? 'float32';
  const config: Record<string, any> = {
    name: `tiny-${o.attention ?? 'bidirectional'}-${kvDtype}`, format_version: 2, vocab_size: vocabSize,
    mask_token_id: ids[TINY_SPECIALS.mask], pad_token_id: ids[TINY_SPECIALS.endOfText], bos_token_id: null,
    logit_shift: o.logitShift ?? 0, block_size: o.blockSize ?? 8, max_length: 256, top_k: 4,
    n_layers: 2, n_heads: 4, head_dim: 4, kv_cache: true, languages: ['*'],
    n_kv_heads: o.nKvHeads ?? 2, attention: o.attention ?? 'bidirectional',
    end_token_ids: [ids[TINY_SPECIALS.endOfText], ids[TINY_SPECIALS.imEnd]],
    precision: kvDtype === 'float16' ? 'fp16' : 'fp32', kv_dtype: kvDtype, family: 'tiny-test', n_params: 200_000,
    source_checkpoint: 'test/support/tinyDllm.ts', license: 'MIT', special_tokens: Object.values(TINY_SPECIALS),
    ...o.config,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-tiny-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'model.onnx'), tinyDllmGraph({
    vocabSize, nLayers: config.n_layers, nKvHeads: config.n_kv_heads, headDim: config.head_dim, topK: config.top_k,
    kvDtype, favour, seed: o.seed,
  }));
  return { dir, config };
}

/**
 * Writes self_check.json in the converter's schema (models/convert/from_hf.py) with the graph's own outputs as the
 * reference: a full pass and a cached block pass. Tests corrupt it to see check-model fail.
 */
export async function writeSelfCheck(dir: string, thresholds = { min_top1_agreement: 1, max_abs_delta_p: 1e-3, near_tie_gap: 1e-4 }): Promise<void> {
  const ort = await import('onnxruntime-node');
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
  const kvDtype = config.kv_dtype === 'float16' ? 'float16' : 'float32';
  const T = 16;
  const rnd = random(7);
  const ids = Array.from({ length: T }, () => Math.floor(((rnd() + 1) / 2) * 8000) + 3);
  ids.fill(config.mask_token_id, 6, 12);
  const i64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [1, v.length]);
  const json = (t: { dims: readonly number[]; data: unknown }) => ({ shape: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) });
  const halfToFloat = (h: number) => {
    const e = (h >> 10) & 0x1f, m = h & 0x3ff, s = h & 0x8000 ? -1 : 1;
    return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  };
  const kvJson = (t: { dims: readonly number[]; data: unknown }) => ({
    shape: [...t.dims], data: kvDtype === 'float16' ? Array.from(t.data as Uint16Array, halfToFloat) : Array.from(t.data as Float32Array),
  });
  const emptyKv = new ort.Tensor(kvDtype, kvDtype === 'float16' ? new Uint16Array(0) : new Float32Array(0),
    [config.n_layers, 1, config.n_kv_heads, 0, config.head_dim]);
  const cases = [];
  const full = { input_ids: i64(ids), position_ids: i64(ids.map((_, i) => i)), past_keys: emptyKv, past_values: emptyKv, output_positions: i64(ids.map((_, i) => i)) };
  const fullOut = await session.run(full);
  const kv = (t: { dims: readonly number[]; data: unknown }, rows: number[]) => {
    const [L, , H, n, D] = t.dims;
    const data = t.data as Float32Array | Uint16Array;
    const out = new (data.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(L * H * rows.length * D);
    for (let lh = 0; lh < L * H; lh++) rows.forEach((r, j) => out.set(data.subarray((lh * n + r) * D, (lh * n + r + 1) * D), (lh * rows.length + j) * D));
    return new ort.Tensor(kvDtype, out as Float32Array, [L, 1, H, rows.length, D]);
  };
  const outside = ids.map((_, i) => i).filter((i) => i < 6 || i >= 12);
  const block = {
    input_ids: i64(ids.slice(6, 12)), position_ids: i64([6, 7, 8, 9, 10, 11]),
    past_keys: kv(fullOut.present_keys, outside), past_values: kv(fullOut.present_values, outside), output_positions: i64([0, 1, 2, 3, 4, 5]),
  };
  for (const [name, feeds] of [['full', full], ['dual_cache_block', block]] as const) {
    const out = name === 'full' ? fullOut : await session.run(feeds);
    cases.push({
      name,
      inputs: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, k.startsWith('past') ? kvJson(t) : json(t)])),
      outputs: { top_ids: json(out.top_ids), top_probs: json(out.top_probs), neg_entropy: json(out.neg_entropy) },
    });
  }
  await session.release();
  fs.writeFileSync(path.join(dir, 'self_check.json'), JSON.stringify({ precision: config.precision, kv_dtype: kvDtype, thresholds, cases }));
}
