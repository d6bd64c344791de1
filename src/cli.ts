// Command line (and library) entry: `infill` completes a JSONL of tasks with the bare engine, `complete` runs the
// editor's inline pipeline on them, `bench` compares the policies, `bench --replay` replays typing.
//   node dist/cli.js infill --tasks IN.jsonl --policy NAME [--model DIR] [--max-new-tokens N] [--ep NAME] --out OUT.jsonl
//   node dist/cli.js complete --tasks IN.jsonl --out OUT.jsonl [--policy P] [--model DIR] [--min-confidence X]
//   node dist/cli.js check-model --model DIR [--ep NAME]
//   node dist/cli.js fill --tasks IN.jsonl --out OUT.jsonl [--mode joint|sequential] [--policy P] [--model DIR]
//   node dist/cli.js fill-bench [--sets humaneval,tsjs] [--limit N] [--policies r2#final,...] [--out TABLE.md]
//   node dist/cli.js bench [--sets LIST] [--limit N] [--policies LIST] [--out BENCHMARKS.md]
//   node dist/cli.js bench-model --model DIR [--ep NAME] [--json OUT.json] [--passes N] [--warm-up N] [--step-requests N] [--kv-placement auto|host]
//   node dist/cli.js bench --replay [--tasks models/eval/replay-tasks.jsonl] [--policies LIST] [--json REPORT.json]
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { DEFAULT_VARIANTS, markdownReport, parseVariant, runBench, type Variant } from './bench/bench';
import {
  type ReplayRecord, type ReplayTask, type SourceFile, gateCurveSvg, languageOfPath, replayMarkdown, replayRecord, replayReport,
  sampleReplayTasks,
} from './bench/replay';
import { type PipelineSettings, endOptions, runCompletion } from './completion/pipeline';
import { DEFAULT_SETTINGS } from './config';
import { fillBenchMarkdown, runFillBench } from './bench/fillAllBench';
import { modelBenchMarkdown, runModelBench } from './bench/modelBench';
import { TASK_SETS } from './bench/taskSets';
import { checkModel, formatCheckModelReport } from './engine/checkModel';
import { DEFAULT_MAX_NEW_TOKENS } from './engine/defaults';
import { Engine, type LoadedModel } from './engine/engine';
import { EngineError, toEngineError } from './engine/errors';
import { isPolicyName } from './engine/policies';
import {
  CACHE_MODES, type CacheMode, END_RULES, type EndRule, EXECUTION_PROVIDERS, type ExecutionProviderName, FILL_MODES, type FillMode, POLICY_NAMES, type PolicyName,
} from './engine/protocol';
import { executionProviderLine, isExecutionProvider } from './engine/session';

export { markdownReport, parseVariant, runBench } from './bench/bench';

const USAGE = `dLLM code engine CLI

  node dist/cli.js infill --tasks IN.jsonl --policy NAME [--model DIR] [--max-new-tokens N] [--ep NAME]
                          [--cache none|prefix|dual] [--single-line] [--stop-when-final] [--trace TRAJ.jsonl] --out OUT.jsonl
      Input lines: {"task_id", "prefix", "suffix", "language"?}; other fields are ignored.
      Output lines: {"task_id", "completion", "nfe", "ms", "tokens"} (or {"task_id", "error": {code, message}}).
      --out - writes to stdout.

  node dist/cli.js check-model --model DIR [--ep NAME] [--json REPORT.json]
      Replays the converter's self_check.json through onnxruntime on that execution provider; prints the provider that
      ran (and why it fell back), top-1 agreement and max |Δp|; exits 1 below the thresholds of the model's precision.

  node dist/cli.js fill --tasks IN.jsonl --out OUT.jsonl [--mode joint|sequential] [--policy P] [--model DIR]
                       [--ep NAME] [--max-new-tokens N] [--cache none|prefix|dual] [--stop-when-final]
      Fills every hole of each task. Input lines: {"task_id", "language", "pieces": [code before hole 1, code between
      hole 1 and 2, ..., code after the last hole], "hole_tokens"?: [n1, n2, ...]} (default --max-new-tokens per hole).
      joint (default): all holes in one decode (grouped when they do not fit the window); sequential: one hole after
      another, each seeing the earlier answers. Output lines: {"task_id", "fills": [...], "nfe", "ms"}.

  node dist/cli.js fill-bench [--sets humaneval,tsjs] [--limit N] [--policies r2#final,...] [--max-new-tokens N] [--out TABLE.md]
      Multi-hole tasks (2-4 one-line holes) from HumanEval and the TS/JS set, joint against sequential filling.

  node dist/cli.js bench [--sets ${TASK_SETS.map((s) => s.name).join(',')}] [--limit N]
                         [--policies ${DEFAULT_VARIANTS.join(',')}]
                         [--model DIR] [--ep NAME] [--max-new-tokens N] [--shared DIR] [--out BENCHMARKS.md] [--json REPORT.json] [--as-inserted] [--heal-prefix]
                         [--end-rule ${END_RULES.join('|')}]
      Runs every policy over the same tasks and writes a markdown table (also printed).
      A policy may carry :factor (Fast-dLLM factor rule), @none|@prefix|@dual (cache) and #final (stop once the
      answer is fixed), then ~τ for the base threshold (sweeps: r2~0.7). --as-inserted scores the text Fill Block
      would insert (the editor's post-filters applied) instead of the engine's answer. --heal-prefix asks as the
      editor does: trailing whitespace goes back to the model and the answer is scored after it.

  node dist/cli.js complete --tasks IN.jsonl --out OUT.jsonl [--policy P] [--model DIR] [--min-confidence X] [--ep NAME]
                           [--end-rule ${END_RULES.join('|')}]
      The editor's inline pipeline (context window, single/multi-line choice, decode, post-filters, confidence
      gate) on each task, as an automatic suggestion (the gate applies; default dllm.minConfidence ${DEFAULT_SETTINGS.minConfidence}).
      Input lines: {"task_id", "prefix", "suffix", "language", "prefix_is_file_start"?, "suffix_is_file_end"?}.
      Output lines: {"task_id", "shown", "text", "confidence", "nfe", "ms"}; text is the best answer, shown or not.
      --end-rule: behind-answer (default, as the editor) commits an end token only behind a decided answer and never
      first; reference decodes ends as the published samplers do (it can answer nothing).

  node dist/cli.js bench --replay [--tasks models/eval/replay-tasks.jsonl] [--policies ${POLICY_NAMES.join(',')}] (each may carry ~τ: r2~0.7)
                         [--min-confidence X] [--limit N] [--json REPORT.json] [--out BENCHMARKS.md] [--svg media/gate-curve.svg]
                         [--rescore REPORT.json] [--end-rule ${END_RULES.join('|')}]
      Replays typing through held-out files with \`complete\`'s pipeline; writes the tables into BENCHMARKS.md
      between the replay markers. --rescore scores a saved report's answers at another --min-confidence (no decoding).
  node dist/cli.js bench-model --model DIR [--ep NAME] [--json OUT.json] [--passes N] [--warm-up N] [--step-requests N] [--kv-placement auto|host]
      Per-pass cost of a model folder: forward-pass latency (median, p95 over N passes, default 10, after 2 warm-up)
      at canvas 32 / 64 / 128 with each cache mode (none, prefix, dual) over a fixed ~400-token code context, bytes
      copied into and out of onnxruntime per pass (K/V included unless they stay on the device: WebGPU keeps them
      there unless --kv-placement host), the share of a decode step outside session.run (over --step-requests
      decodes, default 3; 0 skips it), load time and peak RSS. Prints a markdown table; --json writes the report.
  node dist/cli.js replay-tasks --from DIR[,DIR...] --out FILE [--per-language N] [--seed S]
      Samples the replay positions from the source files under the folders (deterministic for a seed).

  Policies: ${POLICY_NAMES.join(', ')}.  Execution providers: ${EXECUTION_PROVIDERS.join(', ')}.
`;

/** --kv-placement: auto (on the device where the provider can keep them) or host. */
function kvPlacementOf(value: string | undefined): 'auto' | 'host' {
  if (value === undefined || value === 'auto' || value === 'host') return value ?? 'auto';
  throw new EngineError('BAD_INPUT', `--kv-placement must be auto or host, got "${value}".`);
}

/** The first folder above `from` that holds `relative`. */
function findUp(relative: string, from = __dirname): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, relative))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function defaultModelDir(): string {
  return findUp(path.join('models', 'dllm-code-small')) ?? path.resolve('models', 'dllm-code-small');
}

function defaultHumanEvalDir(): string {
  const candidates = [findUp(path.join('shared', 'eval', 'human-eval-infilling')), findUp(path.join('..', 'shared', 'eval', 'human-eval-infilling')),
    '/work/shared/eval/human-eval-infilling'];
  return candidates.find((c) => c && fs.existsSync(c)) ?? path.resolve('..', 'shared', 'eval', 'human-eval-infilling');
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new EngineError('BAD_INPUT', `--${name} must be a positive integer, got "${value}".`);
  return n;
}

function countOf(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EngineError('BAD_INPUT', `--${name} must be 0 or a positive integer, got "${value}".`);
  return n;
}

function executionProvider(value: string | undefined): ExecutionProviderName {
  const ep = value ?? 'auto';
  if (!isExecutionProvider(ep)) {
    throw new EngineError('UNKNOWN_EP', `Unknown execution provider "${ep}". Known: ${EXECUTION_PROVIDERS.join(', ')}.`);
  }
  return ep;
}

/** Loads the engine's model and prints, once, where it runs (and why not where asked). */
async function loadAndSayWhere(engine: Engine): Promise<LoadedModel> {
  const loaded = await engine.load();
  process.stderr.write(`${executionProviderLine(engine.config.executionProvider, loaded.session)}\n`);
  return loaded;
}

export interface InfillOptions {
  tasksFile: string;
  outFile: string;
  policy: PolicyName;
  modelDir: string;
  executionProvider: ExecutionProviderName;
  maxNewTokens: number;
  cache?: CacheMode;
  singleLine?: boolean;
  stopWhenAnswerFinal?: boolean;
  /** Default reference: the engine's answer as the published samplers give it. */
  endRule?: EndRule;
  /** Also write each decode's trajectory (token ids per step) as JSONL here: training data for the SFT. */
  traceFile?: string;
}

export interface InfillSummary {
  tasks: number;
  errors: number;
  nfe: number;
  ms: number;
}

/** Completes every task of a JSONL file; one output line per input line, errors included (nothing aborts the run). */
export async function runInfill(o: InfillOptions): Promise<InfillSummary> {
  if (!fs.existsSync(o.tasksFile)) throw new EngineError('BAD_INPUT', `Task file not found: ${o.tasksFile}`);
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: o.executionProvider });
  await loadAndSayWhere(engine);
  const out = o.outFile === '-' ? process.stdout : fs.createWriteStream(o.outFile);
  const write = (row: unknown) => out.write(`${JSON.stringify(row)}\n`);
  const traceOut = o.traceFile ? fs.createWriteStream(o.traceFile) : undefined;
  const summary: InfillSummary = { tasks: 0, errors: 0, nfe: 0, ms: 0 };
  const lines = readline.createInterface({ input: fs.createReadStream(o.tasksFile, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      summary.tasks++;
      let taskId: unknown = `line-${lineNo}`;
      try {
        let task: Record<string, unknown>;
        try {
          task = JSON.parse(line);
        } catch (err) {
          throw new EngineError('BAD_INPUT', `line ${lineNo} is not valid JSON: ${(err as Error).message}`);
        }
        if (typeof task !== 'object' || task === null) throw new EngineError('BAD_INPUT', `line ${lineNo} is not a JSON object.`);
        taskId = task.task_id ?? taskId;
        const r = await engine.complete({
          id: String(taskId), prefix: task.prefix as string, suffix: task.suffix as string,
          languageId: typeof task.language === 'string' ? task.language : undefined,
          policy: o.policy, maxNewTokens: o.maxNewTokens, singleLine: o.singleLine, emitSteps: false,
          options: { ...(o.cache ? { cache: o.cache } : {}), ...(o.stopWhenAnswerFinal ? { stopWhenAnswerFinal: true } : {}),
            ...(o.endRule ? endOptions(o.endRule) : {}) },
        }, traceOut ? {
          onTrace: (t) => traceOut.write(`${JSON.stringify({
            task_id: taskId, policy: o.policy, prefix_ids: t.prefixIds, suffix_ids: t.suffixIds, canvas_len: t.canvasLength,
            steps: t.steps.map((s) => ({ commits: s.commits, predictions: s.predictions.map(([i, id, p]) => [i, id, Math.round(p * 1e4) / 1e4]) })),
          })}\n`),
        } : {});
        write({ task_id: taskId, completion: r.completion, nfe: r.metrics.nfe, ms: Math.round(r.metrics.ms * 10) / 10, tokens: r.metrics.tokens });
        summary.nfe += r.metrics.nfe;
        summary.ms += r.metrics.ms;
      } catch (err) {
        summary.errors++;
        write({ task_id: taskId, error: toEngineError(err).toInfo() });
      }
    }
  } finally {
    await engine.dispose();
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
    if (traceOut) await new Promise<void>((resolve) => traceOut.end(resolve));
  }
  return summary;
}

export interface CompleteOptions {
  tasksFile: string;
  outFile: string;
  policy: PolicyName;
  modelDir: string;
  executionProvider: ExecutionProviderName;
  minConfidence: number;
  /** How the answer's end is decided (default behind-answer, as in the editor). */
  endRule?: EndRule;
}

function endRuleOption(v: string | undefined): EndRule | undefined {
  if (v !== undefined && !(END_RULES as readonly string[]).includes(v)) throw new EngineError('BAD_INPUT', `--end-rule must be one of ${END_RULES.join(', ')}, got "${v}".`);
  return v as EndRule | undefined;
}

function pipelineSettings(policy: PolicyName, minConfidence: number): PipelineSettings {
  return { ...DEFAULT_SETTINGS, policy, minConfidence };
}

function parseTask(line: string, lineNo: number): Record<string, unknown> {
  let task: unknown;
  try {
    task = JSON.parse(line);
  } catch (err) {
    throw new EngineError('BAD_INPUT', `line ${lineNo} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof task !== 'object' || task === null) throw new EngineError('BAD_INPUT', `line ${lineNo} is not a JSON object.`);
  const t = task as Record<string, unknown>;
  if (typeof t.prefix !== 'string' || typeof t.suffix !== 'string') throw new EngineError('BAD_INPUT', `line ${lineNo} needs string prefix and suffix.`);
  return t;
}

const cursorOf = (task: Record<string, unknown>) => ({
  prefix: task.prefix as string, suffix: task.suffix as string,
  languageId: typeof task.language === 'string' ? task.language : undefined,
  prefixIsFileStart: task.prefix_is_file_start !== false, suffixIsFileEnd: task.suffix_is_file_end !== false,
});

/** The engine as the pipeline wants it. */
const pipelineEngine = (engine: Engine) => ({ complete: (r: Parameters<Engine['complete']>[0]) => engine.complete(r) });

/** `complete`: the inline pipeline on every task; one output line per input line, errors included. */
export async function runComplete(o: CompleteOptions): Promise<InfillSummary> {
  if (!fs.existsSync(o.tasksFile)) throw new EngineError('BAD_INPUT', `Task file not found: ${o.tasksFile}`);
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: o.executionProvider });
  await loadAndSayWhere(engine);
  const out = o.outFile === '-' ? process.stdout : fs.createWriteStream(o.outFile);
  const write = (row: unknown) => out.write(`${JSON.stringify(row)}\n`);
  const settings = pipelineSettings(o.policy, o.minConfidence);
  const summary: InfillSummary = { tasks: 0, errors: 0, nfe: 0, ms: 0 };
  const lines = readline.createInterface({ input: fs.createReadStream(o.tasksFile, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      summary.tasks++;
      let taskId: unknown = `line-${lineNo}`;
      try {
        const task = parseTask(line, lineNo);
        taskId = task.task_id ?? taskId;
        const r = await runCompletion(pipelineEngine(engine), cursorOf(task), settings, { id: String(taskId), endRule: o.endRule });
        write({ task_id: taskId, shown: r.shown, text: r.text, confidence: r.confidence, nfe: r.nfe, ms: r.ms });
        summary.nfe += r.nfe;
        summary.ms += r.ms;
      } catch (err) {
        summary.errors++;
        write({ task_id: taskId, error: toEngineError(err).toInfo() });
      }
    }
  } finally {
    await engine.dispose();
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
  }
  return summary;
}

export function defaultReplayTasks(): string {
  return findUp(path.join('models', 'eval', 'replay-tasks.jsonl')) ?? path.resolve('models', 'eval', 'replay-tasks.jsonl');
}

const REPLAY_START = '<!-- replay:start (written by node dist/cli.js bench --replay) -->';
const REPLAY_END = '<!-- replay:end -->';

/** A replay policy: a policy name, optionally with its base threshold τ (`r2~0.7`), reported under `label`. */
type ReplayPolicy = Pick<Variant, 'label' | 'policy' | 'tau'>;

/** `bench --replay`: every policy through the pipeline on the replay positions. */
async function runReplayBench(o: {
  tasksFile: string; policies: ReplayPolicy[]; modelDir: string; executionProvider: ExecutionProviderName; gate: number;
  limit?: number; command: string; endRule?: EndRule;
}): Promise<ReturnType<typeof replayReport>> {
  const tasks: ReplayTask[] = fs.readFileSync(o.tasksFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const chosen = o.limit ? (['typescript', 'javascript', 'python'] as const).flatMap((lang) => tasks.filter((t) => t.language === lang).slice(0, o.limit)) : tasks;
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: o.executionProvider });
  const loaded = await loadAndSayWhere(engine);
  const records: ReplayRecord[] = [];
  try {
    for (const { label, policy, tau } of o.policies) {
      // Every answer; the gate is applied when scoring.
      const settings = { ...pipelineSettings(policy, 0), ...(tau !== undefined ? { threshold: tau } : {}) };
      const t0 = Date.now();
      for (const task of chosen) {
        const cursor = cursorOf(task as unknown as Record<string, unknown>);
        const r = await runCompletion(pipelineEngine(engine), cursor, settings, { id: task.task_id, endRule: o.endRule });
        records.push(replayRecord(task, label, r));
      }
      process.stderr.write(`replay: ${label} done, ${chosen.length} positions in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  } finally {
    await engine.dispose();
  }
  return replayReport(records, {
    command: o.command, date: new Date().toISOString().slice(0, 10), model: path.basename(o.modelDir),
    tasksFile: path.relative(process.cwd(), o.tasksFile) || o.tasksFile, gate: o.gate, policies: o.policies.map((p) => p.label),
    executionProvider: loaded.session.executionProvider, fallbackReason: loaded.session.fallbackReason ?? null,
  });
}

function listSourceFiles(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const language = languageOfPath(entry.name);
    if (!language || fs.statSync(full).size > 200_000) continue;
    out.push({ name: path.join(path.basename(root), path.relative(root, full)), text: fs.readFileSync(full, 'utf8'), language });
  }
  return out;
}

export interface FillTasksOptions {
  tasksFile: string;
  outFile: string;
  mode: FillMode;
  policy: PolicyName;
  modelDir: string;
  executionProvider: ExecutionProviderName;
  maxNewTokens: number;
  cache?: CacheMode;
  stopWhenAnswerFinal?: boolean;
}

/** Fills every task of a JSONL file of multi-hole tasks; one output line per input line, errors included. */
export async function runFillTasks(o: FillTasksOptions): Promise<InfillSummary> {
  if (!fs.existsSync(o.tasksFile)) throw new EngineError('BAD_INPUT', `Task file not found: ${o.tasksFile}`);
  const engine = new Engine({ modelDir: o.modelDir, executionProvider: o.executionProvider });
  await loadAndSayWhere(engine);
  const out = o.outFile === '-' ? process.stdout : fs.createWriteStream(o.outFile);
  const write = (row: unknown) => out.write(`${JSON.stringify(row)}\n`);
  const summary: InfillSummary = { tasks: 0, errors: 0, nfe: 0, ms: 0 };
  const lines = readline.createInterface({ input: fs.createReadStream(o.tasksFile, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      summary.tasks++;
      let taskId: unknown = `line-${lineNo}`;
      try {
        let task: Record<string, unknown>;
        try {
          task = JSON.parse(line);
        } catch (err) {
          throw new EngineError('BAD_INPUT', `line ${lineNo} is not valid JSON: ${(err as Error).message}`);
        }
        if (typeof task !== 'object' || task === null) throw new EngineError('BAD_INPUT', `line ${lineNo} is not a JSON object.`);
        taskId = task.task_id ?? taskId;
        const r = await engine.complete({
          id: String(taskId), prefix: '', suffix: '',
          languageId: typeof task.language === 'string' ? task.language : undefined,
          policy: o.policy, maxNewTokens: o.maxNewTokens, emitSteps: false,
          fill: { pieces: task.pieces as string[], holeTokens: task.hole_tokens as number[] | undefined, mode: o.mode },
          options: { ...(o.cache ? { cache: o.cache } : {}), ...(o.stopWhenAnswerFinal ? { stopWhenAnswerFinal: true } : {}) },
        });
        const fill = r.fill!;
        write({ task_id: taskId, fills: fill.holes.map((h) => h.text), nfe: fill.nfe, ms: Math.round(fill.ms * 10) / 10 });
        summary.nfe += fill.nfe;
        summary.ms += fill.ms;
      } catch (err) {
        summary.errors++;
        write({ task_id: taskId, error: toEngineError(err).toInfo() });
      }
    }
  } finally {
    await engine.dispose();
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
  }
  return summary;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest, strict: true,
    options: {
      tasks: { type: 'string' }, out: { type: 'string' }, policy: { type: 'string' }, policies: { type: 'string' },
      model: { type: 'string' }, ep: { type: 'string' }, 'max-new-tokens': { type: 'string' }, cache: { type: 'string' },
      'single-line': { type: 'boolean' }, 'stop-when-final': { type: 'boolean' }, trace: { type: 'string' }, json: { type: 'string' }, 'as-inserted': { type: 'boolean' }, 'heal-prefix': { type: 'boolean' }, sets: { type: 'string' },
      limit: { type: 'string' }, shared: { type: 'string' }, tsjs: { type: 'string' }, mode: { type: 'string' },
      'min-confidence': { type: 'string' }, replay: { type: 'boolean' }, svg: { type: 'string' }, from: { type: 'string' },
      'per-language': { type: 'string' }, seed: { type: 'string' }, rescore: { type: 'string' }, 'end-rule': { type: 'string' },
      passes: { type: 'string' }, 'kv-placement': { type: 'string' }, 'warm-up': { type: 'string' }, 'step-requests': { type: 'string' },
    },
  });
  const modelDir = path.resolve(values.model ?? defaultModelDir());
  const ep = executionProvider(values.ep);
  if (command === 'infill') {
    if (!values.tasks || !values.out) throw new EngineError('BAD_INPUT', 'infill needs --tasks IN.jsonl and --out OUT.jsonl.');
    const policy = values.policy ?? 'r2';
    if (!isPolicyName(policy)) {
      throw new EngineError('UNKNOWN_POLICY', `Unknown policy "${policy}". Known: ${POLICY_NAMES.join(', ')}.`);
    }
    const cache = values.cache;
    if (cache !== undefined && !(CACHE_MODES as readonly string[]).includes(cache)) {
      throw new EngineError('BAD_INPUT', `--cache must be one of ${CACHE_MODES.join(', ')}, got "${cache}".`);
    }
    const summary = await runInfill({
      tasksFile: values.tasks, outFile: values.out, policy, modelDir, executionProvider: ep,
      maxNewTokens: positiveInt('max-new-tokens', values['max-new-tokens']) ?? DEFAULT_MAX_NEW_TOKENS,
      cache: cache as CacheMode | undefined, singleLine: values['single-line'], stopWhenAnswerFinal: values['stop-when-final'], traceFile: values.trace,
      endRule: endRuleOption(values['end-rule']),
    });
    process.stderr.write(`infill: ${summary.tasks} tasks, ${summary.errors} errors, mean NFE ` +
      `${(summary.nfe / Math.max(1, summary.tasks - summary.errors)).toFixed(1)}, ${summary.ms.toFixed(0)} ms decoding\n`);
    return summary.errors ? 1 : 0;
  }
  const minConfidence = (() => {
    const v = values['min-confidence'];
    if (v === undefined) return DEFAULT_SETTINGS.minConfidence;
    const x = Number(v);
    if (!(x >= 0 && x <= 1)) throw new EngineError('BAD_INPUT', `--min-confidence must be a number from 0 to 1, got "${v}".`);
    return x;
  })();
  const endRule = endRuleOption(values['end-rule']);
  const policyOf = (value: string): PolicyName => {
    if (!isPolicyName(value)) throw new EngineError('UNKNOWN_POLICY', `Unknown policy "${value}". Known: ${POLICY_NAMES.join(', ')}.`);
    return value;
  };
  // The replay runs the editor's pipeline, which takes a policy and τ only (no :factor, @cache or #final).
  const replayPolicyOf = (text: string): ReplayPolicy => {
    const variant = (() => { try { return parseVariant(text); } catch { return undefined; } })();
    if (!variant || variant.factor || variant.cache || variant.stopWhenAnswerFinal || (variant.tau !== undefined && variant.tau <= 0)) {
      throw new EngineError('BAD_INPUT', `--policies: "${text}" is not POLICY or POLICY~τ with 0 < τ ≤ 1 (e.g. r2~0.7).`);
    }
    return { label: variant.label, policy: variant.policy, tau: variant.tau };
  };
  if (command === 'complete') {
    if (!values.tasks || !values.out) throw new EngineError('BAD_INPUT', 'complete needs --tasks IN.jsonl and --out OUT.jsonl.');
    const summary = await runComplete({
      tasksFile: values.tasks, outFile: values.out, policy: policyOf(values.policy ?? DEFAULT_SETTINGS.policy), modelDir,
      executionProvider: ep, minConfidence, endRule,
    });
    process.stderr.write(`complete: ${summary.tasks} tasks, ${summary.errors} errors, ${summary.ms.toFixed(0)} ms\n`);
    return summary.errors ? 1 : 0;
  }
  if (command === 'replay-tasks') {
    if (!values.from || !values.out) throw new EngineError('BAD_INPUT', 'replay-tasks needs --from DIR[,DIR...] and --out FILE.');
    const files = values.from.split(',').flatMap((dir) => listSourceFiles(path.resolve(dir.trim())));
    const tasks = sampleReplayTasks(files, positiveInt('per-language', values['per-language']) ?? 120, Number(values.seed ?? 17));
    fs.writeFileSync(values.out, tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
    process.stderr.write(`replay-tasks: ${tasks.length} positions from ${files.length} files into ${values.out}\n`);
    return 0;
  }
  if (command === 'bench' && values.replay) {
    const tasksFile = path.resolve(values.tasks ?? defaultReplayTasks());
    const previous = values.rescore ? JSON.parse(fs.readFileSync(values.rescore, 'utf8')) as ReturnType<typeof replayReport> : undefined;
    const report = previous
      ? replayReport(previous.records, { ...previous, gate: minConfidence }) // the same answers scored at another gate
      : await runReplayBench({
      tasksFile, policies: (values.policies ? values.policies.split(',') : [...POLICY_NAMES]).map((p) => replayPolicyOf(p.trim())),
      modelDir, executionProvider: ep, gate: minConfidence, limit: positiveInt('limit', values.limit),
      command: ['node dist/cli.js', ...argv].join(' '), endRule,
    });
    const markdown = replayMarkdown(report);
    process.stdout.write(markdown + '\n');
    const outFile = values.out ?? path.join(path.dirname(path.dirname(modelDir)), 'BENCHMARKS.md');
    const current = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
    const start = current.indexOf(REPLAY_START);
    const end = current.indexOf(REPLAY_END);
    const block = `${REPLAY_START}\n${markdown}\n${REPLAY_END}`;
    fs.writeFileSync(outFile, start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + REPLAY_END.length)
      : `${current}${current.endsWith('\n') || !current ? '' : '\n'}\n## Replay: suggestions a user would accept\n\n${block}\n`);
    process.stderr.write(`bench --replay: wrote the replay section of ${outFile}\n`);
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 1) + '\n');
    if (values.svg) fs.writeFileSync(values.svg, gateCurveSvg(report));
    return 0;
  }
  if (command === 'check-model') {
    if (!values.model) throw new EngineError('BAD_INPUT', 'check-model needs --model DIR (a converted model folder).');
    const report = await checkModel(modelDir, ep);
    process.stderr.write(`${executionProviderLine(ep, report)}\n`);
    process.stdout.write(formatCheckModelReport(report) + '\n');
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 1) + '\n');
    return report.ok ? 0 : 1;
  }
  if (command === 'bench-model') {
    if (!values.model) throw new EngineError('BAD_INPUT', 'bench-model needs --model DIR (a model folder).');
    // The fixed context is real code: the engine's decoder source when run from the repository, else this file.
    const contextFile = findUp(path.join('src', 'engine', 'decoder.ts')) ?? __filename;
    const report = await runModelBench({
      modelDir, executionProvider: ep, contextText: fs.readFileSync(contextFile, 'utf8'),
      contextSource: path.relative(process.cwd(), contextFile) || contextFile,
      passes: positiveInt('passes', values.passes), kvPlacement: kvPlacementOf(values['kv-placement']),
      warmUp: countOf('warm-up', values['warm-up']), stepRequests: countOf('step-requests', values['step-requests']),
      log: (line) => process.stderr.write(`${line}\n`),
      command: ['node dist/cli.js', ...argv].join(' '),
    });
    process.stdout.write(modelBenchMarkdown(report) + '\n');
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 1) + '\n');
    return 0;
  }
  if (command === 'fill') {
    if (!values.tasks || !values.out) throw new EngineError('BAD_INPUT', 'fill needs --tasks IN.jsonl and --out OUT.jsonl.');
    const policy = values.policy ?? 'r2';
    if (!isPolicyName(policy)) {
      throw new EngineError('UNKNOWN_POLICY', `Unknown policy "${policy}". Known: ${POLICY_NAMES.join(', ')}.`);
    }
    const mode = values.mode ?? 'joint';
    if (!(FILL_MODES as readonly string[]).includes(mode)) {
      throw new EngineError('BAD_INPUT', `--mode must be one of ${FILL_MODES.join(', ')}, got "${mode}".`);
    }
    const cache = values.cache;
    if (cache !== undefined && !(CACHE_MODES as readonly string[]).includes(cache)) {
      throw new EngineError('BAD_INPUT', `--cache must be one of ${CACHE_MODES.join(', ')}, got "${cache}".`);
    }
    const summary = await runFillTasks({
      tasksFile: values.tasks, outFile: values.out, mode: mode as FillMode, policy, modelDir, executionProvider: ep,
      maxNewTokens: positiveInt('max-new-tokens', values['max-new-tokens']) ?? DEFAULT_MAX_NEW_TOKENS,
      cache: cache as CacheMode | undefined, stopWhenAnswerFinal: values['stop-when-final'],
    });
    process.stderr.write(`fill (${mode}): ${summary.tasks} tasks, ${summary.errors} errors, mean NFE ` +
      `${(summary.nfe / Math.max(1, summary.tasks - summary.errors)).toFixed(1)}, ${summary.ms.toFixed(0)} ms decoding\n`);
    return summary.errors ? 1 : 0;
  }
  if (command === 'fill-bench') {
    const repoTsjs = findUp(path.join('models', 'eval', 'tsjs-infill.jsonl')) ?? path.resolve('models', 'eval', 'tsjs-infill.jsonl');
    const rows = await runFillBench({
      modelDir,
      dirs: {
        humanEval: values.shared ? path.resolve(values.shared, 'eval', 'human-eval-infilling') : defaultHumanEvalDir(),
        tsjs: values.tsjs ? path.resolve(values.tsjs) : repoTsjs,
      },
      variants: (values.policies ? values.policies.split(',') : ['r2#final']).map(parseVariant),
      sets: values.sets ? values.sets.split(',').map((x) => x.trim()) : undefined,
      limit: positiveInt('limit', values.limit),
      holeTokens: positiveInt('max-new-tokens', values['max-new-tokens']) ?? 32,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const markdown = fillBenchMarkdown(rows, ['node dist/cli.js', ...argv].join(' '));
    if (values.out) fs.writeFileSync(values.out, markdown + '\n');
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
    process.stdout.write(markdown + '\n');
    return 0;
  }
  if (command === 'bench') {
    const repoTsjs = findUp(path.join('models', 'eval', 'tsjs-infill.jsonl')) ?? path.resolve('models', 'eval', 'tsjs-infill.jsonl');
    const report = await runBench({
      modelDir, executionProvider: ep,
      sets: values.sets ? values.sets.split(',').map((s) => s.trim()) : TASK_SETS.map((s) => s.name),
      variants: (values.policies ? values.policies.split(',') : DEFAULT_VARIANTS).map(parseVariant),
      dirs: {
        humanEval: values.shared ? path.resolve(values.shared, 'eval', 'human-eval-infilling') : defaultHumanEvalDir(),
        tsjs: values.tsjs ? path.resolve(values.tsjs) : repoTsjs,
      },
      limit: positiveInt('limit', values.limit), endRule: endRuleOption(values['end-rule']),
      maxNewTokens: positiveInt('max-new-tokens', values['max-new-tokens']),
      asInserted: values['as-inserted'], healPrefix: values['heal-prefix'],
      log: (line) => process.stderr.write(`${line}\n`),
      command: ['node dist/cli.js', ...argv].join(' '),
    });
    const markdown = markdownReport(report);
    const outFile = values.out ?? path.join(path.dirname(path.dirname(modelDir)), 'BENCHMARKS.md');
    fs.writeFileSync(outFile, markdown + '\n');
    process.stdout.write(markdown + '\n');
    process.stderr.write(`bench: wrote ${outFile}\n`);
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 1) + '\n');
    return 0;
  }
  throw new EngineError('BAD_INPUT', `Unknown command "${command}". Commands: infill, complete, fill, fill-bench, check-model, bench, bench-model, replay-tasks, help.`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
      const e = err instanceof EngineError ? err : err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err?.code?.startsWith?.('ERR_PARSE_ARGS')
        ? new EngineError('BAD_INPUT', err.message) : toEngineError(err);
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      process.exitCode = 2;
    },
  );
}
