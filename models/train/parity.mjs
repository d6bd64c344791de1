// Export parity: replays PyTorch's recorded passes (parity.json from export.py) through onnxruntime-node.
// The fp32 graph must match PyTorch numerically; the int8 graph must keep the top-1 token almost everywhere.
// Usage: node parity.mjs PARITY_JSON FP32_ONNX [INT8_ONNX]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const FP32_PROB_TOLERANCE = 1e-4;
const FP32_ENTROPY_TOLERANCE = 1e-3;
const INT8_MIN_TOP1_AGREEMENT = 0.85;

function toTensor(name, { shape, data }) {
  const int64 = ['input_ids', 'position_ids', 'output_positions'].includes(name);
  return new ort.Tensor(int64 ? 'int64' : 'float32', int64 ? BigInt64Array.from(data.map(BigInt)) : Float32Array.from(data), shape);
}

async function compare(modelPath, cases) {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2 });
  const rows = [];
  for (const c of cases) {
    const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(k, v)]));
    const out = await session.run(feeds);
    const K = c.outputs.top_ids.shape.at(-1);
    const want = c.outputs;
    let agree = 0, n = 0, maxProb = 0, maxEnt = 0, nearTieMismatch = 0;
    for (let i = 0; i * K < want.top_ids.data.length; i++) {
      const gotId = Number(out.top_ids.data[i * K]);
      const wantId = want.top_ids.data[i * K];
      const gap = want.top_probs.data[i * K] - want.top_probs.data[i * K + 1];
      if (gotId === wantId) agree++;
      else if (gap < 1e-4) nearTieMismatch++;
      n++;
      maxProb = Math.max(maxProb, Math.abs(out.top_probs.data[i * K] - want.top_probs.data[i * K]));
      maxEnt = Math.max(maxEnt, Math.abs(out.neg_entropy.data[i] - want.neg_entropy.data[i]));
    }
    rows.push({ case: c.name, positions: n, top1Agreement: agree / n, nearTieMismatch, maxAbsDeltaP1: maxProb, maxAbsDeltaNegEntropy: maxEnt });
  }
  return rows;
}

const [fixturePath, fp32Path, int8Path] = process.argv.slice(2);
const { cases } = JSON.parse(readFileSync(fixturePath, 'utf8'));
let failed = 0;
const fp32 = await compare(fp32Path, cases);
console.table(fp32.map((r) => ({ graph: 'fp32', ...r })));
for (const r of fp32) {
  const ok = r.top1Agreement + r.nearTieMismatch / r.positions === 1 && r.maxAbsDeltaP1 < FP32_PROB_TOLERANCE && r.maxAbsDeltaNegEntropy < FP32_ENTROPY_TOLERANCE;
  if (!ok) { failed++; console.error(`fp32 parity FAILED on ${r.case}`); }
}
if (int8Path) {
  const int8 = await compare(int8Path, cases);
  console.table(int8.map((r) => ({ graph: 'int8', ...r })));
  for (const r of int8) {
    if (r.top1Agreement < INT8_MIN_TOP1_AGREEMENT) { failed++; console.error(`int8 top-1 agreement too low on ${r.case}`); }
  }
}
console.log(failed ? `parity: ${failed} check(s) failed` : 'parity: OK');
process.exit(failed ? 1 : 0);
