// Benchmark task sets: HumanEval infilling (executed) and the held-out TS/JS infill set (text match).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface InfillTask {
  taskId: string;
  prefix: string;
  suffix: string;
  /** The reference middle. */
  expected: string;
  language: string;
  /** The prefix is the start of its file (BOS goes first). */
  prefixIsFileStart: boolean;
  /** The suffix runs to the end of its file. */
  suffixIsFileEnd: boolean;
  /** HumanEval: test code and entry point for execution. */
  test?: string;
  entryPoint?: string;
}

export interface TaskSetSpec {
  name: string;
  /** Default canvas length for the set (its answers' typical token span plus end padding). */
  maxNewTokens: number;
  executable: boolean;
  load(dirs: TaskDirs): InfillTask[];
}

export interface TaskDirs {
  /** Folder with HumanEval-*Infilling.jsonl.gz. */
  humanEval: string;
  /** models/eval/tsjs-infill.jsonl */
  tsjs: string;
}

function readJsonl(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) throw new Error(`task file not found: ${file}`);
  const raw = fs.readFileSync(file);
  const text = file.endsWith('.gz') ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function humanEval(file: string) {
  return (dirs: TaskDirs): InfillTask[] => readJsonl(path.join(dirs.humanEval, file)).map((r) => ({
    taskId: String(r.task_id), prefix: String(r.prompt), suffix: String(r.suffix), expected: String(r.canonical_solution),
    language: 'python', prefixIsFileStart: true, suffixIsFileEnd: true, test: String(r.test), entryPoint: String(r.entry_point),
  }));
}

// The TS/JS set cuts 2,000-character prefixes and 800-character suffixes out of files, so only shorter ones reach
// their file's start or end.
const TSJS_PREFIX_WINDOW = 2000;
const TSJS_SUFFIX_WINDOW = 800;

export const TASK_SETS: readonly TaskSetSpec[] = [
  { name: 'humaneval-single', maxNewTokens: 32, executable: true, load: humanEval('HumanEval-SingleLineInfilling.jsonl.gz') },
  { name: 'humaneval-multi', maxNewTokens: 64, executable: true, load: humanEval('HumanEval-MultiLineInfilling.jsonl.gz') },
  {
    name: 'tsjs', maxNewTokens: 48, executable: false,
    load: (dirs) => readJsonl(dirs.tsjs).map((r) => ({
      taskId: String(r.task_id), prefix: String(r.prefix), suffix: String(r.suffix), expected: String(r.middle),
      language: String(r.language ?? 'javascript'), prefixIsFileStart: String(r.prefix).length < TSJS_PREFIX_WINDOW,
      suffixIsFileEnd: String(r.suffix).length < TSJS_SUFFIX_WINDOW,
    })),
  },
];

/** `limit` tasks spread evenly over the set (not just its first problems). */
export function spread<T>(items: readonly T[], limit: number | undefined): T[] {
  if (limit === undefined || limit >= items.length) return [...items];
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]);
}
