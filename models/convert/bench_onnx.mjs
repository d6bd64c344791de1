// Graph-level timing of a converted model in onnxruntime-node (CPU): session load time, resident memory, and the
// two passes the dual cache makes per block: the block's first pass (prefix + whole canvas, no past) and a later
// pass (the 32-token block as query, past = prefix + rest of the canvas). Random token ids; prints a table.
// Usage: node models/convert/bench_onnx.mjs MODEL_DIR [PREFIX_TOKENS=256] [REPEATS=3]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const [dir, prefixArg = '256', repeatsArg = '3'] = process.argv.slice(2);
const prefix = Number(prefixArg), repeats = Number(repeatsArg);
const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
const { n_layers: L, n_kv_heads: KV = config.n_heads, head_dim: hd, block_size: block } = config;
const kvType = config.kv_dtype === 'float16' ? 'float16' : 'float32';

const t0 = performance.now();
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
const loadMs = performance.now() - t0;

const ids = (n) => new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919) % 1000)), [1, n]);
const positions = (from, n) => new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i)), [1, n]);
const kv = (n) => new ort.Tensor(kvType, kvType === 'float16' ? new Uint16Array(L * KV * n * hd) : new Float32Array(L * KV * n * hd), [L, 1, KV, n, hd]);

async function time(feeds) {
  await session.run(feeds); // warm-up
  const t = performance.now();
  for (let i = 0; i < repeats; i++) await session.run(feeds);
  return (performance.now() - t) / repeats;
}

const rows = [];
for (const canvas of [32, 64, 128]) {
  const total = prefix + canvas;
  const first = await time({ input_ids: ids(total), position_ids: positions(0, total), past_keys: kv(0), past_values: kv(0),
    output_positions: positions(prefix, block) });
  const cached = await time({ input_ids: ids(block), position_ids: positions(prefix, block), past_keys: kv(total - block),
    past_values: kv(total - block), output_positions: positions(0, block) });
  rows.push({ canvas, prefix, 'first pass ms (no past)': Math.round(first), 'cached block pass ms (dual cache)': Math.round(cached) });
}
console.log(JSON.stringify({ model: config.name, precision: config.precision, loadMs: Math.round(loadMs),
  rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }));
console.table(rows);
