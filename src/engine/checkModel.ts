// check-model: replays a converted model's self_check.json (written by models/convert/from_hf.py: inputs and the
// top-k of the converter's own PyTorch forward) through onnxruntime on the chosen execution provider, and says whether
// the graph computes what the converter meant, within the thresholds of its precision.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from './errors';
import { modelPaths, readModelConfig } from './modelConfig';
import type { ExecutionProviderName } from './protocol';
import { kvTensor, ModelSession } from './session';

interface JsonTensor { shape: number[]; data: number[] }

interface SelfCheckCase {
  name: string;
  inputs: Record<string, JsonTensor>;
  outputs: Record<'top_ids' | 'top_probs' | 'neg_entropy', JsonTensor>;
  /** The converter's forward with the graph's own quantised / fp16-rounded weights (absent for fp32). */
  outputs_same_weights?: SelfCheckCase['outputs'];
}

export interface SelfCheck {
  precision: string;
  kv_dtype?: 'float32' | 'float16';
  thresholds: { min_top1_agreement: number; max_abs_delta_p: number; near_tie_gap?: number };
  cases: SelfCheckCase[];
}

export interface CaseReport {
  name: string;
  positions: number;
  /** Share of positions whose top-1 id matches (near ties of the reference not counted). */
  top1Agreement: number;
  nearTiesSkipped: number;
  /** Largest |Δ p1| between the graph and the reference. */
  maxAbsDeltaP: number;
  ok: boolean;
}

export interface CheckModelReport {
  modelDir: string;
  precision: string;
  executionProvider: string;
  /** Why the provider asked for was not used; null when it ran. */
  fallbackReason: string | null;
  thresholds: SelfCheck['thresholds'];
  cases: CaseReport[];
  top1Agreement: number;
  maxAbsDeltaP: number;
  ok: boolean;
}

export const SELF_CHECK_FILE = 'self_check.json';

export function readSelfCheck(dir: string): SelfCheck {
  const file = path.join(dir, SELF_CHECK_FILE);
  if (!fs.existsSync(file)) {
    throw new EngineError('MODEL_MISSING', `${file} not found: check-model needs the self-check the converter writes.`);
  }
  let check: SelfCheck;
  try {
    check = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EngineError('MODEL_CORRUPT', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  const t = check?.thresholds;
  if (!Array.isArray(check?.cases) || check.cases.length === 0 || typeof t?.min_top1_agreement !== 'number' ||
    typeof t.max_abs_delta_p !== 'number') {
    throw new EngineError('MODEL_CORRUPT',
      `${file} must hold {precision, thresholds: {min_top1_agreement, max_abs_delta_p}, cases: [...]}.`);
  }
  return check;
}

/** float32 → IEEE 754 half-precision bits (round to nearest, ties to even). */
export function float16Bits(value: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = value;
  const x = u[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - exponent;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

function feed(name: string, t: JsonTensor, kvDtype: 'float32' | 'float16'): ort.Tensor {
  if (name === 'past_keys' || name === 'past_values') {
    return kvTensor(kvDtype === 'float16' ? Uint16Array.from(t.data, float16Bits) : Float32Array.from(t.data), t.shape);
  }
  return new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.shape);
}

/** Top-1 agreement and max |Δp1| of graph outputs against the reference's. */
export function compareTopK(got: { ids: ArrayLike<number | bigint>; probs: ArrayLike<number> },
  want: SelfCheckCase['outputs'], nearTieGap: number): Omit<CaseReport, 'name' | 'ok'> {
  const k = want.top_ids.shape.at(-1) ?? 1;
  const rows = want.top_ids.data.length / k;
  let agree = 0;
  let counted = 0;
  let nearTies = 0;
  let maxAbsDeltaP = 0;
  for (let r = 0; r < rows; r++) {
    const same = Number(got.ids[r * k]) === want.top_ids.data[r * k];
    const gap = want.top_probs.data[r * k] - (k > 1 ? want.top_probs.data[r * k + 1] : 0);
    if (same || gap >= nearTieGap) { counted++; if (same) agree++; } else nearTies++;
    const delta = Math.abs(got.probs[r * k] - want.top_probs.data[r * k]);
    maxAbsDeltaP = Math.max(maxAbsDeltaP, Number.isNaN(delta) ? Infinity : delta);
  }
  return { positions: rows, top1Agreement: counted ? agree / counted : 0, nearTiesSkipped: nearTies, maxAbsDeltaP };
}

export async function checkModel(modelDir: string, executionProvider: ExecutionProviderName): Promise<CheckModelReport> {
  const paths = modelPaths(modelDir);
  const config = readModelConfig(paths.config);
  const check = readSelfCheck(paths.dir);
  const session = await ModelSession.create(paths.model, config, { executionProvider });
  try {
    const { thresholds } = check;
    const cases: CaseReport[] = [];
    for (const c of check.cases) {
      const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, feed(k, v, session.kvDtype)]));
      const out = await session.run(feeds);
      const m = compareTopK({ ids: out.top_ids.data as BigInt64Array, probs: out.top_probs.data as Float32Array },
        c.outputs_same_weights ?? c.outputs, thresholds.near_tie_gap ?? 0);
      cases.push({ name: c.name, ...m, ok: m.top1Agreement >= thresholds.min_top1_agreement && m.maxAbsDeltaP <= thresholds.max_abs_delta_p });
    }
    const top1Agreement = Math.min(...cases.map((c) => c.top1Agreement));
    const maxAbsDeltaP = Math.max(...cases.map((c) => c.maxAbsDeltaP));
    return {
      modelDir: paths.dir, precision: check.precision ?? config.precision, executionProvider: session.executionProvider,
      fallbackReason: session.fallbackReason ?? null, thresholds, cases, top1Agreement, maxAbsDeltaP, ok: cases.every((c) => c.ok),
    };
  } finally {
    await session.release();
  }
}

export function formatCheckModelReport(r: CheckModelReport): string {
  const lines = [
    `check-model ${r.modelDir} (${r.precision})`,
    `execution provider: ${r.executionProvider}${r.fallbackReason ? ` (fell back: ${r.fallbackReason})` : ''}`,
    `thresholds: top-1 agreement ≥ ${r.thresholds.min_top1_agreement}, max |Δp| ≤ ${r.thresholds.max_abs_delta_p}`,
    ...r.cases.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: top-1 agreement ${c.top1Agreement.toFixed(3)} over ` +
      `${c.positions} positions${c.nearTiesSkipped ? ` (${c.nearTiesSkipped} near ties skipped)` : ''}, max |Δp| ${c.maxAbsDeltaP.toExponential(2)}`),
    `${r.ok ? 'PASS' : 'FAIL'}: top-1 agreement ${r.top1Agreement.toFixed(3)}, max |Δp| ${r.maxAbsDeltaP.toExponential(2)}`,
  ];
  return lines.join('\n');
}
