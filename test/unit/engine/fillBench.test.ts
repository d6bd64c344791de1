// The Fill All benchmark's tasks: holes cut by position only, and the reference joined back gives the source.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cutLines, evenlySpaced, humanEvalMultiHole, tsjsMultiHole } from '../../../src/bench/fillAllBench';
import { runPython } from '../../../src/bench/humanEvalExec';
import { REPO_ROOT } from '../../support/repoRoot';

const heDir = [path.join(REPO_ROOT, '..', 'shared', 'eval', 'human-eval-infilling'), '/work/shared/eval/human-eval-infilling']
  .find((d) => fs.existsSync(d));
const tsjs = path.join(REPO_ROOT, 'models', 'eval', 'tsjs-infill.jsonl');

const joined = (pieces: string[], fills: string[]) => pieces.map((p, i) => p + (fills[i] ?? '')).join('');

test('fill bench: evenly spaced holes, whole lines cut with their newline', () => {
  assert.deepEqual(evenlySpaced(9, 3), [1, 4, 7]);
  assert.deepEqual(evenlySpaced(4, 2), [1, 3]);
  const text = 'a = 1\n  b = 2\nc = 3\nd = 4';
  const cut = cutLines(text, [1, 3]);
  assert.deepEqual(cut.expected, ['  b = 2\n', 'd = 4']);
  assert.deepEqual(cut.pieces, ['a = 1\n', 'c = 3\n', '']);
  assert.equal(joined(cut.pieces, cut.expected), text);
});

test('fill bench: HumanEval tasks have 2-4 holes and the canonical lines pass the tests', { skip: heDir ? false : 'no HumanEval data' }, async () => {
  const tasks = humanEvalMultiHole({ humanEval: heDir!, tsjs: '' });
  assert.ok(tasks.length > 100, `${tasks.length} tasks`);
  for (const t of tasks) {
    assert.ok(t.expected.length >= 2 && t.expected.length <= 4, t.taskId);
    assert.equal(t.pieces.length, t.expected.length + 1);
    assert.ok(t.expected.every((e) => e.trim() !== '' && e.endsWith('\n')), t.taskId);
  }
  for (const t of [tasks[0], tasks[Math.floor(tasks.length / 2)]]) {
    const ok = await runPython(`${joined(t.pieces, t.expected)}\n\n${t.test}\n\ncheck(${t.entryPoint})\n`);
    assert.ok(ok.passed, `${t.taskId}: ${ok.outcome}`);
    const empty = await runPython(`${joined(t.pieces, t.expected.map(() => ''))}\n\n${t.test}\n\ncheck(${t.entryPoint})\n`);
    assert.ok(!empty.passed, `${t.taskId} without its lines must fail`);
  }
});

test('fill bench: TS/JS tasks cut code lines out of the held-out excerpts', { skip: fs.existsSync(tsjs) ? false : 'no tsjs set' }, () => {
  const tasks = tsjsMultiHole({ humanEval: '', tsjs });
  assert.ok(tasks.length > 100, `${tasks.length} tasks`);
  for (const t of tasks) {
    assert.ok(t.expected.length >= 2 && t.expected.length <= 4, t.taskId);
    assert.ok(t.expected.every((e) => e.trim().length >= 8), t.taskId);
  }
});
