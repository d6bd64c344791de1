// `node dist/cli.js complete` and the in-process pipeline (what the inline provider runs) give the same answers for
// the same cursors, with the bundled model. The cursors are the first replay positions of each language (natural
// pauses in held-out files), whatever the model answers there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ReplayTask } from '../../../src/bench/replay';
import { runCompletion } from '../../../src/completion/pipeline';
import { DEFAULT_SETTINGS } from '../../../src/config';
import { Engine } from '../../../src/engine/engine';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON } from '../engine/modelFixture';

const built = path.join(REPO_ROOT, 'dist', 'cli.js');
const CLI = fs.existsSync(built) ? built : path.join(REPO_ROOT, 'out', 'src', 'cli.js');

function firstTasks(perLanguage: number): ReplayTask[] {
  const all: ReplayTask[] = fs.readFileSync(path.join(REPO_ROOT, 'models', 'eval', 'replay-tasks.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return (['typescript', 'javascript', 'python'] as const).flatMap((lang) => all.filter((t) => t.language === lang).slice(0, perLanguage));
}

test('complete (CLI) and runCompletion (provider pipeline) agree on text, shown, confidence and NFE', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 300_000 }, async () => {
  const tasks = firstTasks(2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-complete-'));
  const input = path.join(dir, 'in.jsonl');
  const output = path.join(dir, 'out.jsonl');
  fs.writeFileSync(input, tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
  execFileSync(process.execPath, [CLI, 'complete', '--tasks', input, '--out', output, '--model', MODEL_DIR, '--ep', 'cpu', '--min-confidence', '0.5'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const cliRows = fs.readFileSync(output, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(cliRows.length, tasks.length);
  for (const row of cliRows) assert.deepEqual(Object.keys(row), ['task_id', 'shown', 'text', 'confidence', 'nfe', 'ms']);

  const engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
  try {
    for (const [i, task] of tasks.entries()) {
      const out = await runCompletion({ complete: (r) => engine.complete(r) }, {
        prefix: task.prefix, suffix: task.suffix, languageId: task.language,
        prefixIsFileStart: task.prefix_is_file_start, suffixIsFileEnd: task.suffix_is_file_end,
      }, { ...DEFAULT_SETTINGS, minConfidence: 0.5 }, { id: task.task_id });
      const row = cliRows[i];
      assert.equal(row.task_id, task.task_id);
      assert.deepEqual({ shown: row.shown, text: row.text, confidence: row.confidence, nfe: row.nfe },
        { shown: out.shown, text: out.text, confidence: out.confidence, nfe: out.nfe }, task.task_id);
      assert.equal(row.shown, row.text !== '' && row.confidence >= 0.5);
    }
  } finally {
    await engine.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true }); // kept when the test fails, to look at
});

test('complete rejects a bad --min-confidence with a clear error', () => {
  assert.throws(() => execFileSync(process.execPath, [CLI, 'complete', '--tasks', 'x', '--out', 'y', '--min-confidence', '2'],
    { stdio: ['ignore', 'ignore', 'pipe'] }), /min-confidence must be a number from 0 to 1/);
});

test('bench --replay takes POLICY~τ: the threshold reaches the engine and the report keeps the label', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-replay-tau-'));
  const tasksFile = path.join(dir, 'tasks.jsonl');
  fs.writeFileSync(tasksFile, firstTasks(1).map((t) => JSON.stringify(t)).join('\n') + '\n');
  const reportFile = path.join(dir, 'report.json');
  execFileSync(process.execPath, [CLI, 'bench', '--replay', '--tasks', tasksFile, '--policies', 'r2~0.05,r2', '--model', MODEL_DIR,
    '--ep', 'cpu', '--json', reportFile, '--out', path.join(dir, 'BENCH.md')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000 });
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { policies: string[]; records: { policy: string; nfe: number }[] };
  assert.deepEqual(report.policies, ['r2~0.05', 'r2']);
  const passes = (label: string) => report.records.filter((r) => r.policy === label).reduce((sum, r) => sum + r.nfe, 0);
  assert.equal(report.records.length, 6);
  // At τ 0.05 nearly every position clears the threshold at once; at the default 0.9 they do not.
  assert.ok(passes('r2~0.05') < passes('r2'), `NFE at τ 0.05 (${passes('r2~0.05')}) should be below the default's (${passes('r2')})`);
});

test('bench --replay rejects a threshold outside (0, 1] with a clear error', () => {
  assert.throws(() => execFileSync(process.execPath, [CLI, 'bench', '--replay', '--policies', 'r2~2'],
    { stdio: ['ignore', 'ignore', 'pipe'] }), /not POLICY or POLICY~τ/);
});

test('bench --heal-prefix asks as the editor does and says so in the report', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-bench-heal-'));
  const reportFile = path.join(dir, 'report.json');
  execFileSync(process.execPath, [CLI, 'bench', '--sets', 'tsjs', '--limit', '2', '--policies', 'r2', '--model', MODEL_DIR, '--ep', 'cpu',
    '--heal-prefix', '--json', reportFile, '--out', path.join(dir, 'BENCH.md')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000 });
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { healedPrefix?: boolean; rows: { tasks: number; errors: number }[] };
  assert.equal(report.healedPrefix, true);
  assert.deepEqual(report.rows.map((r) => [r.tasks, r.errors]), [[2, 0]]);
  assert.match(fs.readFileSync(path.join(dir, 'BENCH.md'), 'utf8'), /Asked with a healed prefix/);
});
