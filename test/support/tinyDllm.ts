// Tiny graphs in the model format (models/FORMAT.md), hand-encoded as ONNX protobuf so the engine's tests run a real
// onnxruntime session without shipping weights: the contract's inputs and outputs, K/V with any K/V head count and
// element type, a whole-sequence context signal through past + present values, and random low-rank logits.
// Not a language model: what it predicts is arbitrary but deterministic, and depends on every token fed (as past too).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function varint(value: number | bigint): number[] {
  let n = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (n > 0x7fn) { out.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
  out.push(Number(n));
  return out;
}
const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];
const ld = (field: number, payload: number[]) => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
const vi = (field: number, value: number | bigint) => [...varint(field << 3), ...varint(value)];

const ELEM = { float: 1, int64: 7, float16: 10 } as const;
type Elem = keyof typeof ELEM;
type Dim = number | string;

// TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2}; Shape{dim=1}; Dim{dim_value=1 | dim_param=2}
const valueInfo = (name: string, elem: Elem, dims: Dim[]) => [...ld(1, utf8(name)), ...ld(2, ld(1, [
  ...vi(1, ELEM[elem]), ...ld(2, dims.flatMap((d) => ld(1, typeof d === 'number' ? vi(1, d) : ld(2, utf8(d))))),
]))];

type Attr = number | number[];
// AttributeProto{name=1, i=3, ints=8, type=20 (INT 2, INTS 7)}
function attribute(name: string, value: Attr): number[] {
  if (Array.isArray(value)) return [...ld(1, utf8(name)), ...value.flatMap((v) => vi(8, v)), ...vi(20, 7)];
  return [...ld(1, utf8(name)), ...vi(3, value), ...vi(20, 2)];
}
// NodeProto{input=1, output=2, op_type=4, attribute=5}
const node = (op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}) => ld(1, [
  ...inputs.flatMap((i) => ld(1, utf8(i))), ...outputs.flatMap((o) => ld(2, utf8(o))), ...ld(4, utf8(op)),
  ...Object.entries(attrs).flatMap(([k, v]) => ld(5, attribute(k, v))),
]);
// TensorProto{dims=1, data_type=2, name=8, raw_data=9}
function initializer(name: string, dims: number[], data: Float32Array | BigInt64Array): number[] {
  const type = data instanceof Float32Array ? ELEM.float : ELEM.int64;
  return ld(5, [...dims.flatMap((d) => vi(1, d)), ...vi(2, type), ...ld(8, utf8(name)),
    ...ld(9, [...Buffer.from(data.buffer, data.byteOffset, data.byteLength)])]);
}

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
  const kv: Elem = o.kvDtype === 'float16' ? 'float16' : 'float';
  const rnd = random(o.seed ?? 1);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale);
  const bias = new Float32Array(V);
  for (const [id, logit] of Object.entries(o.favour ?? {})) bias[Number(id)] = logit;
  const ints = (...v: number[]) => BigInt64Array.from(v, BigInt);
  const inits = [
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
    node('Cast', ['position_ids'], ['pos_f'], { to: ELEM.float }),
    node('Unsqueeze', ['pos_f', 'last_axis'], ['pos_col']),
    node('Mul', ['pos_col', 'position_scale'], ['pos_shift']),
    node('Add', ['kv_flat', 'pos_shift'], ['kv_pos']),
    node('Reshape', ['kv_pos', 'kv_shape'], ['kv5']),
    node('Transpose', ['kv5'], ['present32'], { perm: [2, 0, 3, 1, 4] }),
    node('Cast', ['present32'], ['present_keys'], { to: ELEM[kv] }),
    node('Neg', ['present_keys'], ['present_values']),
    node('Concat', ['past_values', 'present_values'], ['all_values'], { axis: 3 }),
    node('Cast', ['all_values'], ['all_values32'], { to: ELEM.float }),
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
  const graph = [
    ...nodes.flat(), ...ld(2, utf8('tiny_dllm')), ...inits.flat(),
    ...ld(11, valueInfo('input_ids', 'int64', [1, 'q'])),
    ...ld(11, valueInfo('position_ids', 'int64', [1, 'q'])),
    ...ld(11, valueInfo('past_keys', kv, [L, 1, H, 'past', D])),
    ...ld(11, valueInfo('past_values', kv, [L, 1, H, 'past', D])),
    ...ld(11, valueInfo('output_positions', 'int64', [1, 'n_out'])),
    ...ld(12, valueInfo('top_ids', 'int64', [1, 'n_out', topK])),
    ...ld(12, valueInfo('top_probs', 'float', [1, 'n_out', topK])),
    ...ld(12, valueInfo('neg_entropy', 'float', [1, 'n_out'])),
    ...ld(12, valueInfo('present_keys', kv, [L, 1, H, 'q', D])),
    ...ld(12, valueInfo('present_values', kv, [L, 1, H, 'q', D])),
  ];
  // ModelProto{ir_version=1, graph=7, opset_import=8{domain=1, version=2}}
  return Uint8Array.from([...vi(1, 8), ...ld(7, graph), ...ld(8, [...ld(1, []), ...vi(2, 17)])]);
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
