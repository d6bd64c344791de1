// Figures of the stress layer: every check records what it measured, one JSON line per row, into
// $DLLM_STRESS_FIGURES (test/stress/run.mjs sets it; default test-results/stress-figures.jsonl). The runner turns the
// rows into test-results/stress-figures.json and the markdown table it prints (README "## Reliability").
import fs from 'node:fs';
import path from 'node:path';

export interface FigureRow {
  /** Issue area: Typing load, Soak, Faults, Bad input, Data safety, Security. */
  area: string;
  /** What was checked, e.g. "p99 event-loop lag of the extension host". */
  check: string;
  /** The measured figure, as shown in the table (e.g. "12.4 ms", "1 / 1"). */
  figure: string;
  /** The bound the check asserts, as shown in the table (e.g. "< 50 ms"). */
  bound: string;
  holds: boolean;
  /** Raw numbers for the JSON file. */
  values?: Record<string, number | string | boolean | null>;
}

function figuresFile(): string {
  if (process.env.DLLM_STRESS_FIGURES) return process.env.DLLM_STRESS_FIGURES;
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'stress'))) {
      return path.join(dir, 'test-results', 'stress-figures.jsonl');
    }
  }
  return path.resolve('test-results', 'stress-figures.jsonl');
}

export function recordFigure(row: FigureRow): FigureRow {
  const file = figuresFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify({ ...row, at: new Date().toISOString() }) + '\n');
  console.log(`    figure: ${row.area} | ${row.check} | ${row.figure} (bound ${row.bound}) ${row.holds ? 'holds' : 'DOES NOT HOLD'}`);
  return row;
}

/** Records the row, then fails the test if it does not hold. */
export function assertFigure(row: FigureRow): void {
  recordFigure(row);
  if (!row.holds) throw new Error(`${row.area}: ${row.check}: ${row.figure}, bound ${row.bound}`);
}

export const ms = (n: number, digits = 1): string => `${n.toFixed(digits)} ms`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
