// The replay benchmark's sampling and scoring, and the committed task set.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  type ReplayRecord, type ReplayTask, type SourceFile, pausePositions, replayMetrics, sampleReplayTasks, scoreSuggestion,
} from '../../../src/bench/replay';
import { REPO_ROOT } from '../../support/repoRoot';

test('pausePositions: after the indentation, after a word or operator and its space, after . and (', () => {
  const line = '    total = add(a.b, c)';
  const kinds = pausePositions(line, 0).map((p) => `${p.kind}:${line.slice(0, p.column)}|`);
  assert.deepEqual(kinds, [
    'indent:    |',
    'word:    total |',
    'word:    total = |',
    'word:    total = add(|',
    'word:    total = add(a.|',
    'word:    total = add(a.b, |',
  ]);
  assert.deepEqual(pausePositions('   ', 3), []);
});

test('scoreSuggestion: exact, a correct start of 3+ non-space characters, or not useful', () => {
  assert.deepEqual(scoreSuggestion('a + b;', 'a + b;'), { answered: true, exact: true, useful: true, savedChars: 6, typedChars: 6 });
  assert.deepEqual(scoreSuggestion('a + b;\n}', 'a + b;  '), { answered: true, exact: true, useful: true, savedChars: 6, typedChars: 6 });
  const start = scoreSuggestion('a + c;', 'a + b;');
  assert.deepEqual([start.exact, start.useful, start.savedChars], [false, false, 0]); // "a + " has 2 non-space chars
  const longer = scoreSuggestion('value.map(x)', 'value.filter(y)');
  assert.deepEqual([longer.exact, longer.useful, longer.savedChars], [false, true, 6]);
  assert.deepEqual(scoreSuggestion('', 'x = 1'), { answered: false, exact: false, useful: false, savedChars: 0, typedChars: 5 });
  assert.equal(scoreSuggestion('\nfoo()', 'foo()').useful, false); // a suggestion that starts a new line does not type this one
});

const record = (over: Partial<ReplayRecord> & { text: string; truth: string }): ReplayRecord => ({
  task_id: 't', language: 'python', kind: 'word', policy: 'r2', confidence: 0.5, minProbability: 0.5, nfe: 4, ms: 10,
  ...over, score: scoreSuggestion(over.text, over.truth),
});

test('replayMetrics: rates over all positions, useful among shown over the shown ones, the gate on confidence', () => {
  const records = [
    record({ text: 'foo(x)', truth: 'foo(x)', confidence: 0.9, ms: 10 }),
    record({ text: 'bar', truth: 'baz()', confidence: 0.3, ms: 20 }),
    record({ text: '', truth: 'qux', confidence: 0, ms: 30 }),
    record({ text: 'abcdef', truth: 'abcxyz', confidence: 0.6, ms: 40 }),
  ];
  const ungated = replayMetrics(records, 0);
  assert.equal(ungated.shownPct, 75);
  assert.equal(ungated.exactPct, 25);
  assert.equal(ungated.usefulPct, 50);
  assert.equal(ungated.usefulAmongShownPct, 66.7);
  assert.equal(ungated.emptyPct, 25);
  assert.equal(ungated.savedPer100, Math.round(1000 * (6 + 3) / (6 + 5 + 3 + 6)) / 10);
  assert.equal(ungated.p50Ms, 20);
  assert.equal(ungated.p95Ms, 40);
  const gated = replayMetrics(records, 0.5);
  assert.equal(gated.shownPct, 50);
  assert.equal(gated.usefulAmongShownPct, 100);
  assert.equal(gated.emptyPct, 25); // the empty-answer rate does not depend on the gate
  assert.equal(replayMetrics(records, 0.95).usefulAmongShownPct, undefined);
});

test('replayMetrics: empty answers split into the engine answering nothing and the post-filters dropping an answer', () => {
  const records = [
    record({ text: '', truth: 'x = 1', engineEmpty: true }),
    record({ text: '', truth: 'y = 2', engineEmpty: false }), // dropped by a post-filter
    record({ text: 'z', truth: 'z = 3', engineEmpty: false }),
    record({ text: 'w', truth: 'w = 4', engineEmpty: false }),
  ];
  const m = replayMetrics(records, 0);
  assert.deepEqual([m.emptyPct, m.engineEmptyPct], [50, 25]);
});

test('sampleReplayTasks is deterministic, and the rest of the line is the truth, not context', () => {
  const files: SourceFile[] = [
    { name: 'p/a.py', language: 'python', text: 'def add(a, b):\n    return a + b\n\n\nclass Point:\n    def __init__(self, x):\n        self.x = x\n' },
    { name: 'p/b.ts', language: 'typescript', text: 'export function twice(n: number): number {\n  const m = n * 2;\n  return m;\n}\n' },
  ];
  const a = sampleReplayTasks(files, 5, 7);
  assert.deepEqual(a, sampleReplayTasks(files, 5, 7));
  assert.notDeepEqual(a, sampleReplayTasks(files, 5, 8));
  for (const t of a) {
    const file = files.find((f) => t.source.startsWith(`${f.name}:`))!;
    assert.ok(file.text.startsWith(t.prefix) || !t.prefix_is_file_start);
    assert.ok(file.text.includes(t.prefix + t.truth + t.suffix), `${t.task_id}: prefix + truth + suffix is the file`);
    assert.ok(t.suffix === '' || t.suffix.startsWith('\n'));
  }
});

test('the committed replay set: TS, JS and Python positions, each a real cut of a file with something left to type', () => {
  const file = path.join(REPO_ROOT, 'models', 'eval', 'replay-tasks.jsonl');
  const tasks: ReplayTask[] = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(tasks.length >= 300);
  for (const language of ['typescript', 'javascript', 'python']) {
    assert.ok(tasks.filter((t) => t.language === language).length >= 100, language);
  }
  assert.equal(new Set(tasks.map((t) => t.task_id)).size, tasks.length);
  for (const t of tasks) {
    assert.ok(/\S/.test(t.truth) && !t.truth.includes('\n'), t.task_id);
    assert.ok(t.suffix === '' || t.suffix.startsWith('\n'), t.task_id);
    assert.equal(t.kind === 'indent', /(^|\n)[ \t]*$/.test(t.prefix), t.task_id);
  }
});
