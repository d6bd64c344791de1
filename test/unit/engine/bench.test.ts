// CLI and benchmark pieces: variants, text metrics, the HumanEval execution harness, and `infill` end to end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { markdownReport, parseVariant, type BenchReport } from '../../../src/bench/bench';
import { programFor, runPython } from '../../../src/bench/humanEvalExec';
import { spread, TASK_SETS } from '../../../src/bench/taskSets';
import { editSimilarity, exactMatch, levenshtein, percentile } from '../../../src/bench/textMetrics';
import { runInfill } from '../../../src/cli';
import { EngineError } from '../../../src/engine/errors';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON } from './modelFixture';

test('bench variants: policy, @cache and #final; unknown names are clear errors', () => {
  assert.deepEqual(parseVariant('r2'), { label: 'r2', policy: 'r2', factor: false, cache: undefined, stopWhenAnswerFinal: false });
  assert.deepEqual(parseVariant('r2+streaming@dual#final'),
    { label: 'r2+streaming@dual#final', policy: 'r2+streaming', factor: false, cache: 'dual', stopWhenAnswerFinal: true });
  assert.equal(parseVariant('fast-dllm:factor@none').factor, true);
  assert.equal(parseVariant('r2@dual#final~0.75').tau, 0.75);
  assert.equal(parseVariant('r2').tau, undefined);
  assert.throws(() => parseVariant('r2~1.5'), (e: unknown) => e instanceof EngineError && e.code === 'UNKNOWN_POLICY');
  assert.throws(() => parseVariant('beam'), (e: unknown) => e instanceof EngineError && e.code === 'UNKNOWN_POLICY');
  assert.throws(() => parseVariant('r2@full'), (e: unknown) => e instanceof EngineError && e.code === 'BAD_INPUT');
});

test('text metrics: Levenshtein, edit similarity, exact match after trimming trailing whitespace, percentiles', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(editSimilarity('', ''), 1);
  assert.equal(editSimilarity('abcd', 'abce'), 0.75);
  assert.ok(exactMatch('return x  \n', 'return x'));
  assert.ok(!exactMatch(' return x', 'return x'));
  assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
});

test('task sets: spread picks tasks across the whole set', () => {
  assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [0, 3, 6]);
  assert.equal(spread([1, 2], 5).length, 2);
});

const HUMAN_EVAL = '/work/shared/eval/human-eval-infilling';
const heDir = [path.join(REPO_ROOT, '..', 'shared', 'eval', 'human-eval-infilling'), HUMAN_EVAL].find((d) => fs.existsSync(d));

test('HumanEval harness: the canonical middle passes, an empty one fails, a hang times out', { skip: heDir ? false : 'no HumanEval data' }, async () => {
  const spec = TASK_SETS.find((s) => s.name === 'humaneval-single')!;
  const [task] = spec.load({ humanEval: heDir!, tsjs: '' });
  assert.equal((await runPython(programFor(task, task.expected))).passed, true);
  assert.equal((await runPython(programFor(task, ''))).passed, false);
  const hang = await runPython('while True: pass\n', 500);
  assert.deepEqual(hang, { passed: false, outcome: 'timeout' });
});

test('bench report: markdown table with ratios against llada and fast-dllm', () => {
  const row = (variant: string, nfe: number) => ({
    set: 's', variant, policy: 'r2' as const, cache: 'dual', tasks: 2, errors: 0, nfeMean: nfe / 2, nfeTotal: nfe,
    tokensPerStep: 64 / nfe, p50Ms: 10, p95Ms: 20, exactMatch: 0.5, editSimilarity: 0.75, passAt1: 0.5,
  });
  const report: BenchReport = {
    rows: [row('llada', 64), row('fast-dllm', 20), row('r2', 16)], sets: [{ name: 's', tasks: 2, maxNewTokens: 32 }],
    modelName: 'm', modelSha: 'abc', executionProvider: 'cpu', startedAt: 'now', seconds: 1, scored: 'as inserted',
  };
  const md = markdownReport(report);
  assert.match(md, /Scored as Fill Block inserts it/);
  assert.match(md, /\| r2 \| dual \| 8\.0 \| 4\.00 \| 10 \| 20 \| 50\.0% \| 0\.750 \| 50\.0% \| 4\.00× \(75% fewer\) \| 1\.25× \(20% fewer\) \|/);
  assert.match(md, /\| llada .*\| 0\.31× \(220% more\) \|/);
});

test('cli infill: one output line per input line; bad lines become error rows', { skip: HAVE_MODEL ? false : NO_MODEL_REASON }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-cli-'));
  const tasks = path.join(dir, 'in.jsonl');
  const out = path.join(dir, 'out.jsonl');
  fs.writeFileSync(tasks, [
    JSON.stringify({ task_id: 'a', prefix: 'def add(a, b):\n    return ', suffix: '\n', language: 'python', extra: 1 }),
    JSON.stringify({ task_id: 'b', prefix: '', suffix: '' }),
    '{ not json',
  ].join('\n'));
  const summary = await runInfill({
    tasksFile: tasks, outFile: out, policy: 'r2', modelDir: MODEL_DIR, executionProvider: 'cpu', maxNewTokens: 16,
  });
  assert.deepEqual([summary.tasks, summary.errors], [3, 2]);
  const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(rows[0]).sort(), ['completion', 'ms', 'nfe', 'task_id', 'tokens']);
  assert.equal(rows[0].task_id, 'a');
  assert.equal(rows[1].error.code, 'BAD_INPUT');
  assert.equal(rows[2].task_id, 'line-3');
  fs.rmSync(dir, { recursive: true, force: true }); // kept when the test fails, to look at
});
