// Fill All benchmark: multi-hole tasks (2-4 holes of one line each) cut from HumanEval solutions (executed) and from
// the held-out TS/JS excerpts (text match), filled jointly (one decode) and sequentially (one hole after another).
// The holes are chosen by position only (evenly spaced code lines), never by what the model answers.
import { Engine } from '../engine/engine';
import type { FillMode } from '../engine/protocol';
import { executionProviderLine } from '../engine/session';
import type { Variant } from './bench';
import { runPython } from './humanEvalExec';
import { TASK_SETS, type TaskDirs, spread } from './taskSets';
import { editSimilarity, exactMatch } from './textMetrics';

export interface MultiHoleTask {
  taskId: string;
  language: string;
  pieces: string[];
  /** The reference text of each hole. */
  expected: string[];
  prefixIsFileStart: boolean;
  /** HumanEval: test code and entry point (the program is pieces and fills joined, then the test). */
  test?: string;
  entryPoint?: string;
}

/** Line starts of `text` (offsets), with each line's text (no newline). */
function lines(text: string): { start: number; text: string }[] {
  const out: { start: number; text: string }[] = [];
  let start = 0;
  for (const t of text.split('\n')) {
    out.push({ start, text: t });
    start += t.length + 1;
  }
  return out;
}

/** `k` of `n` indices, evenly spaced (the middle of each of k equal parts). */
export function evenlySpaced(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * n) / k));
}

/** Cuts whole lines (indentation and newline included) out of `text` as holes; `candidates` are line indices. */
export function cutLines(text: string, lineIndices: number[]): { pieces: string[]; expected: string[] } {
  const ls = lines(text);
  const pieces: string[] = [];
  const expected: string[] = [];
  let at = 0;
  for (const i of lineIndices) {
    const start = ls[i].start;
    const end = Math.min(text.length, start + ls[i].text.length + 1);
    pieces.push(text.slice(at, start));
    expected.push(text.slice(start, end));
    at = end;
  }
  pieces.push(text.slice(at));
  return { pieces, expected };
}

const holeCount = (codeLines: number) => Math.max(2, Math.min(4, Math.floor(codeLines / 3)));

/** HumanEval problems with their whole solution body; holes are evenly spaced code lines of the body. */
export function humanEvalMultiHole(dirs: TaskDirs): MultiHoleTask[] {
  const single = TASK_SETS.find((s) => s.name === 'humaneval-single')!.load(dirs);
  const firstLine = single.filter((t) => t.taskId.endsWith('/L0'));
  const tasks: MultiHoleTask[] = [];
  for (const t of firstLine) {
    const body = t.expected + t.suffix;
    const bodyLines = lines(body);
    const code = bodyLines.flatMap((l, i) => (l.text.trim() !== '' && i < bodyLines.length - 1 ? [i] : []));
    if (code.length < 3) continue;
    const chosen = evenlySpaced(code.length, holeCount(code.length)).map((j) => code[j]);
    const cut = cutLines(body, chosen);
    tasks.push({
      taskId: t.taskId.replace(/^SingleLineInfilling\//, '').replace(/\/L0$/, ''), language: 'python',
      pieces: [t.prefix + cut.pieces[0], ...cut.pieces.slice(1)], expected: cut.expected, prefixIsFileStart: true,
      test: t.test, entryPoint: t.entryPoint,
    });
  }
  return tasks;
}

/** The held-out TS/JS excerpts (prefix + middle + suffix) with evenly spaced code lines cut out (not the first 3 and
 *  last 2 lines of the excerpt, which may be cut mid-line). */
export function tsjsMultiHole(dirs: TaskDirs): MultiHoleTask[] {
  const set = TASK_SETS.find((s) => s.name === 'tsjs')!.load(dirs);
  const tasks: MultiHoleTask[] = [];
  for (const t of set) {
    const text = t.prefix + t.expected + t.suffix;
    const ls = lines(text);
    const code = ls.flatMap((l, i) => (i >= 3 && i < ls.length - 2 && l.text.trim().length >= 8 ? [i] : []));
    if (code.length < 6) continue;
    const chosen = evenlySpaced(code.length, holeCount(code.length / 3)).map((j) => code[j]);
    const cut = cutLines(text, chosen);
    tasks.push({ taskId: t.taskId, language: t.language, pieces: cut.pieces, expected: cut.expected, prefixIsFileStart: t.prefixIsFileStart });
  }
  return tasks;
}

export interface ModeRow {
  set: string;
  variant: string;
  mode: FillMode;
  tasks: number;
  holes: number;
  nfe: number;
  ms: number;
  /** Per task: mean forward passes, ms, tokens fed. */
  meanNfe: number;
  meanMs: number;
  meanQueryTokens: number;
  exactMatchPct: number;
  editSimilarity: number;
  /** HumanEval: share of tasks whose every hole filled passes the tests (undefined for text-only sets). */
  passAt1Pct?: number;
  /** Joint: decodes per task (groups). */
  meanGroups: number;
}

export interface FillBenchOptions {
  modelDir: string;
  dirs: TaskDirs;
  variants: Variant[];
  limit?: number;
  holeTokens: number;
  sets?: string[];
  log?: (line: string) => void;
}

export async function runFillBench(o: FillBenchOptions): Promise<ModeRow[]> {
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: 'cpu' });
  const model = await engine.load();
  o.log?.(executionProviderLine('cpu', model.session));
  // One pass before timing, so the first task does not pay onnxruntime's warm-up.
  await engine.complete({ id: 'warm-up', prefix: 'def f():\n    ', suffix: '\n', maxNewTokens: 8, emitSteps: false });
  const sets: [string, MultiHoleTask[]][] = [];
  if (!o.sets || o.sets.includes('humaneval')) sets.push(['humaneval', spread(humanEvalMultiHole(o.dirs), o.limit)]);
  if (!o.sets || o.sets.includes('tsjs')) sets.push(['tsjs', spread(tsjsMultiHole(o.dirs), o.limit)]);
  const rows: ModeRow[] = [];
  try {
    for (const [set, tasks] of sets) {
      for (const v of o.variants) {
        // Both modes run on each task back to back (alternating which goes first), so that the load of a shared
        // machine weighs on them alike.
        const modes = ['joint', 'sequential'] as const;
        const acc = new Map(modes.map((mode) => [mode, {
          row: {
            set, variant: v.label, mode, tasks: tasks.length, holes: 0, nfe: 0, ms: 0, meanNfe: 0, meanMs: 0, meanQueryTokens: 0,
            exactMatchPct: 0, editSimilarity: 0, meanGroups: 0,
          } as ModeRow, exact: 0, similarity: 0, passed: 0, queryTokens: 0, groups: 0,
        }]));
        for (const [k, task] of tasks.entries()) {
          for (const mode of k % 2 === 0 ? modes : [...modes].reverse()) {
            const a = acc.get(mode)!;
            const r = await engine.complete({
              id: task.taskId, prefix: '', suffix: '', languageId: task.language, policy: v.policy, emitSteps: false,
              prefixIsFileStart: task.prefixIsFileStart,
              ...(v.tau !== undefined ? { thresholds: { tau: v.tau } } : {}),
              options: { ...(v.cache ? { cache: v.cache } : {}), ...(v.factor ? { baseRule: 'factor' as const } : {}), stopWhenAnswerFinal: v.stopWhenAnswerFinal },
              fill: { pieces: task.pieces, holeTokens: task.pieces.slice(1).map(() => o.holeTokens), mode },
            });
            const fill = r.fill!;
            a.row.nfe += fill.nfe;
            a.row.ms += fill.ms;
            a.queryTokens += fill.queryTokens;
            a.groups += fill.groups;
            fill.holes.forEach((h, i) => {
              a.row.holes++;
              if (exactMatch(h.text, task.expected[i])) a.exact++;
              a.similarity += editSimilarity(h.text.trimEnd(), task.expected[i].trimEnd());
            });
            if (task.test && task.entryPoint) {
              const program = task.pieces.map((p, i) => p + (fill.holes[i]?.text ?? '')).join('');
              const result = await runPython(`${program}\n\n${task.test}\n\ncheck(${task.entryPoint})\n`);
              if (result.passed) a.passed++;
            }
          }
        }
        for (const mode of modes) {
          const { row, exact, similarity, passed, queryTokens, groups } = acc.get(mode)!;
          const n = Math.max(1, tasks.length);
          row.meanNfe = row.nfe / n;
          row.meanMs = row.ms / n;
          row.meanQueryTokens = queryTokens / n;
          row.meanGroups = groups / n;
          row.exactMatchPct = (100 * exact) / Math.max(1, row.holes);
          row.editSimilarity = similarity / Math.max(1, row.holes);
          if (tasks.some((t) => t.test)) row.passAt1Pct = (100 * passed) / n;
          rows.push(row);
          o.log?.(`fill-bench ${set} ${v.label} ${mode}: ${tasks.length} tasks, mean NFE ${row.meanNfe.toFixed(1)}, ` +
            `${row.meanMs.toFixed(0)} ms, EM ${row.exactMatchPct.toFixed(1)} %, ES ${row.editSimilarity.toFixed(3)}` +
            (row.passAt1Pct !== undefined ? `, pass@1 ${row.passAt1Pct.toFixed(1)} %` : ''));
        }
      }
    }
  } finally {
    await engine.dispose();
  }
  return rows;
}

export function fillBenchMarkdown(rows: ModeRow[], command: string): string {
  const out = [
    `Command: \`${command}\``,
    '',
    '| set | policy | mode | tasks | holes | NFE / task | ms / task | tokens fed / task | exact match / hole | edit similarity | pass@1 (all holes) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(`| ${r.set} | ${r.variant} | ${r.mode} | ${r.tasks} | ${r.holes} | ${r.meanNfe.toFixed(1)} | ${r.meanMs.toFixed(0)} | ` +
      `${r.meanQueryTokens.toFixed(0)} | ${r.exactMatchPct.toFixed(1)} % | ${r.editSimilarity.toFixed(3)} | ` +
      `${r.passAt1Pct !== undefined ? `${r.passAt1Pct.toFixed(1)} %` : '—'} |`);
  }
  return out.join('\n');
}
