// Replays a converted model's self_check.json through onnxruntime-node (CPU) and compares with the converter's
// PyTorch forward: gated against `outputs_same_weights` (the forward with the graph's own quantised weights) when
// present, else `outputs` (fp32), with the thresholds self_check.json states; agreement with fp32 is reported too.
// Prints one JSON line per case and a verdict; exits 1 below the thresholds. (For users: `node dist/cli.js check-model`.)
// Usage: node models/convert/run_onnx.mjs MODEL_DIR
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

/** float32 -> IEEE half bits, round to nearest even. */
function toHalf(value) {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}

function tensor(name, { shape, data }, kvDtype) {
  if (['input_ids', 'position_ids', 'output_positions'].includes(name)) {
    return new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), shape);
  }
  if (kvDtype === 'float16') return new ort.Tensor('float16', Uint16Array.from(data, toHalf), shape);
  return new ort.Tensor('float32', Float32Array.from(data), shape);
}

function measure(out, want, nearTieGap) {
  const K = want.top_ids.shape.at(-1);
  let agree = 0, counted = 0, nearTies = 0, maxDeltaP = 0, maxDeltaEntropy = 0;
  for (let i = 0; i * K < want.top_ids.data.length; i++) {
    const same = Number(out.top_ids.data[i * K]) === want.top_ids.data[i * K];
    const gap = want.top_probs.data[i * K] - want.top_probs.data[i * K + 1];
    if (same || gap >= nearTieGap) { counted++; if (same) agree++; } else nearTies++;
    maxDeltaP = Math.max(maxDeltaP, Math.abs(out.top_probs.data[i * K] - want.top_probs.data[i * K]));
    maxDeltaEntropy = Math.max(maxDeltaEntropy, Math.abs(out.neg_entropy.data[i] - want.neg_entropy.data[i]));
  }
  // null when every position is a near tie: no evidence either way (the Δp bound still applies)
  return { positions: counted + nearTies, top1Agreement: counted ? agree / counted : null, nearTiesSkipped: nearTies,
    maxAbsDeltaP: maxDeltaP, maxAbsDeltaNegEntropy: maxDeltaEntropy };
}

const dir = process.argv[2];
const check = JSON.parse(readFileSync(path.join(dir, 'self_check.json'), 'utf8'));
const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
const { thresholds } = check;
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
let failed = 0;
for (const c of check.cases) {
  const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, tensor(k, v, check.kv_dtype)]));
  const out = await session.run(feeds);
  const gate = measure(out, c.outputs_same_weights ?? c.outputs, thresholds.near_tie_gap);
  const fp32 = measure(out, c.outputs, thresholds.near_tie_gap);
  let maxId = 0;
  for (const id of out.top_ids.data) maxId = Math.max(maxId, Number(id));
  const presentShape = out.present_keys.dims;
  const row = {
    case: c.name, ...gate, fp32Top1Agreement: fp32.top1Agreement, fp32NearTiesSkipped: fp32.nearTiesSkipped,
    fp32MaxAbsDeltaP: fp32.maxAbsDeltaP, maxTopId: maxId,
    presentKeys: presentShape, presentType: out.present_keys.type,
  };
  row.ok = (gate.top1Agreement ?? 1) >= thresholds.min_top1_agreement && gate.maxAbsDeltaP <= thresholds.max_abs_delta_p &&
    presentShape[2] === (config.n_kv_heads ?? config.n_heads);
  if (!row.ok) failed++;
  console.log(JSON.stringify(row));
}
console.log(failed ? `run_onnx: ${failed} case(s) below the ${check.precision} thresholds` : `run_onnx: OK (${check.precision})`);
process.exit(failed ? 1 : 0);
