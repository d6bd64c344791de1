// `cli bench`: runs decoding policies over the task sets on one loaded model and reports NFE, tokens per step,
// latency percentiles, exact match, edit similarity and HumanEval-infilling pass@1, all from the same run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { applyPostFilters } from '../completion/postFilters';
import { healPrefix, unhealAnswer } from '../completion/prefixHealing';
import { Engine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { executionProviderLine } from '../engine/session';
import { isPolicyName } from '../engine/policies';
import { CACHE_MODES, type CacheMode, type EndRule, type ExecutionProviderName, POLICY_NAMES, type PolicyName } from '../engine/protocol';
import { endOptions } from '../completion/pipeline';
import { programFor, runPython } from './humanEvalExec';
import { editSimilarity, exactMatch, percentile } from './textMetrics';
import { type InfillTask, spread, TASK_SETS, type TaskDirs } from './taskSets';

/**
 * A policy with options: `:factor` (Fast-dLLM factor base rule), `@none|@prefix|@dual` (cache override) and `#final`
 * (the lossless answer-final stop), then `~τ` (base threshold, for sweeps), e.g. `fast-dllm:factor@dual#final~0.7`.
 */
export interface Variant {
  label: string;
  policy: PolicyName;
  factor: boolean;
  cache?: CacheMode;
  stopWhenAnswerFinal: boolean;
  /** Base threshold τ override. */
  tau?: number;
}

export const DEFAULT_VARIANTS = [...POLICY_NAMES, 'fast-dllm:factor', 'fast-dllm@none', 'r2@none', 'r2@prefix',
  'streaming@dual', 'r2#final'];

export function parseVariant(text: string): Variant {
  const m = /^([^@#:~]+)(:factor)?(?:@([a-z]+))?(#final)?(?:~(0?\.\d+|1(?:\.0+)?))?$/.exec(text.trim());
  const policy = m?.[1];
  if (!m || !isPolicyName(policy)) {
    throw new EngineError('UNKNOWN_POLICY', `Unknown policy "${text}". Known: ${POLICY_NAMES.join(', ')} (optionally ` +
      `:factor, then @${CACHE_MODES.join('|@')} for the cache, then #final for the answer-final stop, then ~τ).`);
  }
  const cache = m[3] as CacheMode | undefined;
  if (cache !== undefined && !(CACHE_MODES as readonly string[]).includes(cache)) {
    throw new EngineError('BAD_INPUT', `Unknown cache mode "${cache}" in "${text}". Known: ${CACHE_MODES.join(', ')}.`);
  }
  return {
    label: text.trim(), policy, factor: m[2] !== undefined, cache, stopWhenAnswerFinal: m[4] !== undefined,
    ...(m[5] !== undefined ? { tau: Number(m[5]) } : {}),
  };
}

export interface BenchOptions {
  modelDir: string;
  executionProvider: ExecutionProviderName;
  sets: string[];
  variants: Variant[];
  dirs: TaskDirs;
  /** Tasks per set, spread over the set. */
  limit?: number;
  /** Canvas length for every set (default: each set's own). */
  maxNewTokens?: number;
  execTimeoutMs?: number;
  /** Score the text Fill Block would insert (the editor's post-filters applied) instead of the engine's answer. */
  asInserted?: boolean;
  /** Ask with a healed prefix, as the editor does (src/completion/prefixHealing.ts), and score the answer after it. */
  healPrefix?: boolean;
  /** How answers end (default reference, the published samplers); behind-answer is what the editor asks for. */
  endRule?: EndRule;
  log?: (line: string) => void;
  /** How the run was started, recorded in the report. */
  command?: string;
}

export interface BenchRow {
  set: string;
  variant: string;
  policy: PolicyName;
  cache: string;
  tasks: number;
  errors: number;
  nfeMean: number;
  nfeTotal: number;
  tokensPerStep: number;
  p50Ms: number;
  p95Ms: number;
  exactMatch: number;
  editSimilarity: number;
  /** null for sets that are not executed. */
  passAt1: number | null;
}

export interface BenchReport {
  rows: BenchRow[];
  sets: Array<{ name: string; tasks: number; maxNewTokens: number }>;
  modelName: string;
  modelSha: string;
  executionProvider: string;
  /** Why the provider asked for could not be used (null when it ran). */
  fallbackReason?: string | null;
  startedAt: string;
  seconds: number;
  /** What was scored: the engine's answer, or the text Fill Block would insert. */
  scored: 'engine answer' | 'as inserted';
  /** Asked with a healed prefix (trailing whitespace given back to the model), as the editor asks. */
  healedPrefix?: boolean;
  command?: string;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const t0 = performance.now();
  const unknown = options.sets.filter((s) => !TASK_SETS.some((t) => t.name === s));
  if (unknown.length) {
    throw new EngineError('BAD_INPUT', `Unknown task set(s) ${unknown.join(', ')}. Known: ${TASK_SETS.map((t) => t.name).join(', ')}.`);
  }
  const engine = new Engine({ modelDir: options.modelDir, executionProvider: options.executionProvider });
  const model = await engine.load();
  log(executionProviderLine(options.executionProvider, model.session));
  const rows: BenchRow[] = [];
  const setsInfo: BenchReport['sets'] = [];
  const execCache = new Map<string, boolean>();
  try {
    for (const spec of TASK_SETS.filter((t) => options.sets.includes(t.name))) {
      const tasks = spread(spec.load(options.dirs), options.limit);
      const maxNewTokens = options.maxNewTokens ?? spec.maxNewTokens;
      setsInfo.push({ name: spec.name, tasks: tasks.length, maxNewTokens });
      log(`${spec.name}: ${tasks.length} tasks, canvas ${maxNewTokens}`);
      await engine.complete({ id: 'warm-up', prefix: tasks[0].prefix, suffix: tasks[0].suffix, maxNewTokens, policy: 'fast-dllm' });
      for (const variant of options.variants) {
        const row = await runVariant(engine, spec.name, spec.executable, tasks, variant, maxNewTokens, execCache,
          options.execTimeoutMs ?? 10_000, options.asInserted === true, options.endRule, options.healPrefix === true);
        rows.push(row);
        log(`  ${variant.label.padEnd(18)} NFE ${row.nfeMean.toFixed(1).padStart(5)}  tok/step ${row.tokensPerStep.toFixed(2)}  ` +
          `p50 ${row.p50Ms.toFixed(0)} ms  EM ${(100 * row.exactMatch).toFixed(1)}%  ES ${row.editSimilarity.toFixed(3)}` +
          (row.passAt1 === null ? '' : `  pass@1 ${(100 * row.passAt1).toFixed(1)}%`) + (row.errors ? `  errors ${row.errors}` : ''));
      }
    }
  } finally {
    await engine.dispose();
  }
  return {
    rows, sets: setsInfo, modelName: model.config.name, modelSha: sha256(`${options.modelDir}/model.onnx`),
    executionProvider: model.session.executionProvider, fallbackReason: model.session.fallbackReason ?? null, startedAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    scored: options.asInserted ? 'as inserted' : 'engine answer', healedPrefix: options.healPrefix === true,
    command: options.command,
  };
}

function sha256(file: string): string {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
  } catch {
    return 'unknown';
  }
}

async function runVariant(engine: Engine, set: string, executable: boolean, tasks: InfillTask[], variant: Variant,
  maxNewTokens: number, execCache: Map<string, boolean>, timeoutMs: number, asInserted: boolean, endRule?: EndRule, heal = false): Promise<BenchRow> {
  const ms: number[] = [];
  let nfe = 0, committed = 0, em = 0, es = 0, errors = 0;
  let cache = '';
  const programs: string[] = [];
  for (const task of tasks) {
    let completion = '';
    const asked = heal ? healPrefix(task.prefix) : { prefix: task.prefix, healed: '' };
    try {
      const r = await engine.complete({
        id: task.taskId, prefix: asked.prefix, suffix: task.suffix, languageId: task.language, maxNewTokens,
        policy: variant.policy, prefixIsFileStart: task.prefixIsFileStart, emitSteps: false,
        ...(variant.tau !== undefined ? { thresholds: { tau: variant.tau } } : {}),
        options: {
          ...(variant.cache ? { cache: variant.cache } : {}), ...(variant.factor ? { baseRule: 'factor' as const } : {}),
          stopWhenAnswerFinal: variant.stopWhenAnswerFinal,
          ...(endRule ? endOptions(endRule) : {}),
        },
      });
      const answer = unhealAnswer(r.completion, asked.healed);
      completion = asInserted
        ? applyPostFilters(answer, {
          prefix: task.prefix, suffix: task.suffix, shape: 'multiLine', final: true, languageId: task.language,
          prefixIsFileStart: task.prefixIsFileStart, suffixIsFileEnd: task.suffixIsFileEnd,
        })
        : answer;
      nfe += r.metrics.nfe;
      committed += r.metrics.committedPositions;
      ms.push(r.metrics.ms);
      cache = r.metrics.cache;
    } catch {
      errors++;
    }
    if (exactMatch(completion, task.expected)) em++;
    es += editSimilarity(completion.trimEnd(), task.expected.trimEnd());
    if (executable) programs.push(programFor(task, completion));
  }
  await runUncached(programs, execCache, timeoutMs);
  const passed = programs.filter((program) => execCache.get(program)).length;
  const n = tasks.length;
  return {
    set, variant: variant.label, policy: variant.policy, cache, tasks: n, errors,
    nfeMean: nfe / Math.max(1, n - errors), nfeTotal: nfe, tokensPerStep: nfe ? committed / nfe : 0,
    p50Ms: percentile(ms, 50), p95Ms: percentile(ms, 95),
    exactMatch: em / n, editSimilarity: es / n, passAt1: executable ? passed / n : null,
  };
}

/** Executes the programs not yet in the cache, EXEC_PARALLEL at a time (a timeout mostly waits). */
async function runUncached(programs: string[], execCache: Map<string, boolean>, timeoutMs: number): Promise<void> {
  const queue = [...new Set(programs)].filter((program) => !execCache.has(program));
  const worker = async () => {
    for (let program = queue.shift(); program !== undefined; program = queue.shift()) {
      execCache.set(program, (await runPython(program, timeoutMs)).passed);
    }
  };
  await Promise.all(Array.from({ length: EXEC_PARALLEL }, worker));
}

const EXEC_PARALLEL = 2;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function ratio(baseline: BenchRow | undefined, row: BenchRow): string {
  if (!baseline || row.nfeTotal === 0) return '—';
  const saved = 100 * (1 - row.nfeTotal / baseline.nfeTotal);
  const change = Math.abs(saved) < 0.5 ? 'same' : saved > 0 ? `${saved.toFixed(0)}% fewer` : `${(-saved).toFixed(0)}% more`;
  return `${(baseline.nfeTotal / row.nfeTotal).toFixed(2)}× (${change})`;
}

export function markdownReport(report: BenchReport): string {
  const lines = [
    '# Benchmarks',
    '',
    `Model \`${report.modelName}\` (model.onnx sha256 ${report.modelSha}), onnxruntime ${report.executionProvider} EP, ` +
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, ${report.startedAt}, ` +
      `${report.seconds.toFixed(0)} s. One run: same model, same tasks, same canvas for every policy; greedy decoding. ` +
      (report.scored === 'as inserted' ? 'Scored as Fill Block inserts it (the editor\'s post-filters applied).' : 'Scored: the engine\'s answer.') +
      (report.healedPrefix ? ' Asked with a healed prefix (trailing whitespace given back to the model, as the editor asks).' : ''),
    ...(report.command ? ['', `Generated by \`${report.command}\`.`] : []),
    '',
    'NFE = forward passes per task (every pass counts, including each block\'s cache refresh). Tokens/step = canvas ' +
      'positions committed per pass. ms = encode + decode per task, model already loaded. Exact match after trimming ' +
      'trailing whitespace; edit similarity = 1 − Levenshtein / max length; pass@1 = the HumanEval test passes with the ' +
      'completion (python3 subprocess, 10 s timeout). Ratios are total NFE of llada / fast-dllm over total NFE of the row. ' +
      '`:factor` = Fast-dLLM factor rule (f = 1); `@cache` overrides the policy\'s cache; `#final` adds the lossless ' +
      'stop once the answer is fixed (canvas start committed through PAD).',
    '',
  ];
  for (const set of report.sets) {
    const rows = report.rows.filter((r) => r.set === set.name);
    const llada = rows.find((r) => r.variant === 'llada');
    const fast = rows.find((r) => r.variant === 'fast-dllm');
    lines.push(`## ${set.name} (${set.tasks} tasks, canvas ${set.maxNewTokens} tokens)`, '',
      '| policy | cache | NFE | tokens/step | p50 ms | p95 ms | exact match | edit sim. | pass@1 | NFE vs llada | NFE vs fast-dllm |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const r of rows) {
      lines.push(`| ${r.variant}${r.errors ? ` (${r.errors} errors)` : ''} | ${r.cache} | ${r.nfeMean.toFixed(1)} | ` +
        `${r.tokensPerStep.toFixed(2)} | ${r.p50Ms.toFixed(0)} | ${r.p95Ms.toFixed(0)} | ${pct(r.exactMatch)} | ` +
        `${r.editSimilarity.toFixed(3)} | ${r.passAt1 === null ? '—' : pct(r.passAt1)} | ${ratio(llada, r)} | ${ratio(fast, r)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
