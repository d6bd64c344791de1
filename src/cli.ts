// Command line (and library) entry: `infill` completes a JSONL of tasks, `fill` fills multi-hole tasks (Fill All),
// `bench` compares the policies.
//   node dist/cli.js fill --tasks IN.jsonl --out OUT.jsonl [--mode joint|sequential] [--policy P] [--model DIR]
//   node dist/cli.js infill --tasks IN.jsonl --policy NAME [--model DIR] [--max-new-tokens N] [--ep NAME] --out OUT.jsonl
//   node dist/cli.js fill-bench [--sets humaneval,tsjs] [--limit N] [--policies r2#final,...] [--out TABLE.md]
//   node dist/cli.js bench [--sets LIST] [--limit N] [--policies LIST] [--out BENCHMARKS.md]
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { DEFAULT_VARIANTS, markdownReport, parseVariant, runBench } from './bench/bench';
import { fillBenchMarkdown, runFillBench } from './bench/fillAllBench';
import { TASK_SETS } from './bench/taskSets';
import { DEFAULT_MAX_NEW_TOKENS } from './engine/defaults';
import { Engine } from './engine/engine';
import { EngineError, toEngineError } from './engine/errors';
import { isPolicyName } from './engine/policies';
import {
  CACHE_MODES, type CacheMode, EXECUTION_PROVIDERS, FILL_MODES, type FillMode, type ExecutionProviderName, POLICY_NAMES, type PolicyName,
} from './engine/protocol';
import { isExecutionProvider } from './engine/session';

export { markdownReport, parseVariant, runBench } from './bench/bench';

const USAGE = `dLLM code engine CLI

  node dist/cli.js infill --tasks IN.jsonl --policy NAME [--model DIR] [--max-new-tokens N] [--ep NAME]
                          [--cache none|prefix|dual] [--single-line] [--stop-when-final] [--trace TRAJ.jsonl] --out OUT.jsonl
      Input lines: {"task_id", "prefix", "suffix", "language"?}; other fields are ignored.
      Output lines: {"task_id", "completion", "nfe", "ms", "tokens"} (or {"task_id", "error": {code, message}}).
      --out - writes to stdout.

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
                         [--model DIR] [--ep NAME] [--max-new-tokens N] [--shared DIR] [--out BENCHMARKS.md] [--json REPORT.json] [--as-inserted]
      Runs every policy over the same tasks and writes a markdown table (also printed).
      A policy may carry :factor (Fast-dLLM factor rule), @none|@prefix|@dual (cache) and #final (stop once the
      answer is fixed), then ~τ for the base threshold (sweeps: r2~0.7). --as-inserted scores the text Fill Block
      would insert (the editor's post-filters applied) instead of the engine's answer.

  Policies: ${POLICY_NAMES.join(', ')}.  Execution providers: ${EXECUTION_PROVIDERS.join(', ')}.
`;

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

function executionProvider(value: string | undefined): ExecutionProviderName {
  const ep = value ?? 'auto';
  if (!isExecutionProvider(ep)) {
    throw new EngineError('UNKNOWN_EP', `Unknown execution provider "${ep}". Known: ${EXECUTION_PROVIDERS.join(', ')}.`);
  }
  return ep;
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
  await engine.load();
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
          options: { ...(o.cache ? { cache: o.cache } : {}), ...(o.stopWhenAnswerFinal ? { stopWhenAnswerFinal: true } : {}) },
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
  await engine.load();
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
      'single-line': { type: 'boolean' }, 'stop-when-final': { type: 'boolean' }, trace: { type: 'string' }, json: { type: 'string' }, 'as-inserted': { type: 'boolean' }, sets: { type: 'string' },
      limit: { type: 'string' }, shared: { type: 'string' }, tsjs: { type: 'string' }, mode: { type: 'string' },
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
    });
    process.stderr.write(`infill: ${summary.tasks} tasks, ${summary.errors} errors, mean NFE ` +
      `${(summary.nfe / Math.max(1, summary.tasks - summary.errors)).toFixed(1)}, ${summary.ms.toFixed(0)} ms decoding\n`);
    return summary.errors ? 1 : 0;
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
      limit: positiveInt('limit', values.limit),
      maxNewTokens: positiveInt('max-new-tokens', values['max-new-tokens']),
      asInserted: values['as-inserted'],
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
  throw new EngineError('BAD_INPUT', `Unknown command "${command}". Commands: infill, fill, fill-bench, bench, help.`);
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
