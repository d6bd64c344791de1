// Fill All on the real shipped model: the engine's fill requests and the `fill` CLI (exact input/output interface).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../../src/cli';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
import type { POLICY_NAMES, StepEvent } from '../../../src/engine/protocol';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

const skip = HAVE_MODEL ? false : NO_MODEL_REASON;
const engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
after(() => engine.dispose());

const THREE_HOLES = [
  'def add(a, b):\n    ', '\n\n\ndef sub(a, b):\n    ', '\n\n\ndef mul(a, b):\n    ', '\n',
];

test('model fill: one hole in joint mode decodes exactly like a single-region completion', { skip }, async () => {
  for (const policy of ['llada', 'r2', 'streaming'] satisfies (typeof POLICY_NAMES)[number][]) {
    const single = await engine.complete({ id: 's', ...SAMPLE, maxNewTokens: 24, policy, emitSteps: false });
    const joint = await engine.complete({ id: 'j', prefix: '', suffix: '', policy, maxNewTokens: 24, emitSteps: false,
      fill: { pieces: [SAMPLE.prefix, SAMPLE.suffix], mode: 'joint' } });
    assert.equal(joint.fill!.holes[0].text, single.completion, policy);
    assert.equal(joint.fill!.nfe, single.metrics.nfe, policy);
  }
});

test('model fill: joint — every hole decoded in one sequence, steps shared, per-hole step events', { skip }, async () => {
  const events: StepEvent[] = [];
  const r = await engine.complete({ id: 'f', prefix: '', suffix: '', policy: 'r2', options: { stopWhenAnswerFinal: true },
    fill: { pieces: THREE_HOLES, holeTokens: [12, 16, 8], mode: 'joint' } }, { onStep: (e) => events.push(e) });
  const fill = r.fill!;
  assert.equal(fill.mode, 'joint');
  assert.equal(fill.groups, 1);
  assert.deepEqual(fill.holes.map((h) => h.canvasLength), [12, 16, 8]);
  assert.equal(events.length, fill.nfe);
  assert.equal(fill.commitsPerStep.length, fill.nfe);
  assert.ok(events.every((e) => e.holes?.length === 3));
  assert.deepEqual(events[events.length - 1].holes!.map((h) => h.canvas.length), [12, 16, 8]);
  // Every hole made progress in the first step: all three are decoded from the first pass on.
  assert.ok(events[0].holes!.every((h) => h.canvas.some((c) => c !== null)), 'the first step commits in every hole');
  for (const h of fill.holes) {
    assert.ok(h.doneAtStep <= fill.nfe && h.steps <= fill.nfe);
    assert.equal(h.trace.length > 0, true);
    assert.ok(!h.text.includes('\uE000'));
  }
  assert.equal(r.metrics.nfe, fill.nfe);
});

test('model fill: sequential — one decode per hole, NFE is the sum', { skip }, async () => {
  const r = await engine.complete({ id: 'q', prefix: '', suffix: '', policy: 'r2', emitSteps: false,
    fill: { pieces: THREE_HOLES, holeTokens: [12, 16, 8], mode: 'sequential', measureOtherMode: true } });
  const fill = r.fill!;
  assert.equal(fill.groups, 3);
  assert.equal(fill.nfe, fill.holes.reduce((a, h) => a + h.steps, 0));
  assert.equal(fill.other?.mode, 'joint');
  assert.ok(fill.other!.nfe > 0);
});

test('model fill: holes that do not fit the window together are decoded in groups, one after another', { skip }, async () => {
  const filler = Array.from({ length: 60 }, (_, i) => `x_${i} = ${i} * 2  # value ${i}`).join('\n');
  const pieces = ['def a():\n    ', `\n\n${filler}\n\ndef b():\n    `, '\n'];
  const r = await engine.complete({ id: 'g', prefix: '', suffix: '', policy: 'r2', emitSteps: false,
    fill: { pieces, holeTokens: [16, 16], mode: 'joint' } });
  assert.equal(r.fill!.groups, 2);
  assert.deepEqual(r.fill!.holes.map((h) => h.group), [0, 1]);
});

test('model fill: bad fill specs are clear errors', { skip }, async () => {
  await assert.rejects(engine.complete({ id: 'b', prefix: '', suffix: '', fill: { pieces: ['only one'] } }),
    (e: unknown) => e instanceof EngineError && e.code === 'BAD_INPUT');
  await assert.rejects(engine.complete({ id: 'b', prefix: '', suffix: '', fill: { pieces: ['a = ', '\n', ''], holeTokens: [4] } }),
    (e: unknown) => e instanceof EngineError && /one size per hole/.test(e.message));
});

test('model fill CLI: fill --tasks --out [--mode] writes {task_id, fills, nfe, ms} per line, errors per line', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-fill-'));
  const tasks = path.join(dir, 'in.jsonl');
  fs.writeFileSync(tasks, [
    JSON.stringify({ task_id: 'three', language: 'python', pieces: THREE_HOLES, hole_tokens: [12, 16, 8] }),
    JSON.stringify({ task_id: 'default-size', language: 'typescript', pieces: [SAMPLE.prefix, SAMPLE.suffix] }),
    '{not json',
  ].join('\n') + '\n');
  const rows: Record<string, Record<string, unknown>[]> = {};
  for (const mode of ['joint', 'sequential']) {
    const out = path.join(dir, `${mode}.jsonl`);
    const code = await main(['fill', '--tasks', tasks, '--out', out, '--mode', mode, '--policy', 'r2', '--model', MODEL_DIR, '--ep', 'cpu']);
    assert.equal(code, 1, 'one bad line: exit status 1');
    rows[mode] = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows[mode].length, 3);
    const [three, single, broken] = rows[mode];
    assert.deepEqual(Object.keys(three).sort(), ['fills', 'ms', 'nfe', 'task_id']);
    assert.equal(three.task_id, 'three');
    assert.equal((three.fills as string[]).length, 3);
    assert.ok((three.nfe as number) > 0 && (three.ms as number) > 0);
    assert.equal((single.fills as string[]).length, 1);
    assert.equal((broken.error as { code: string }).code, 'BAD_INPUT');
  }
  // One hole: both modes run the same decode.
  assert.deepEqual(rows.joint[1].fills, rows.sequential[1].fills);
  await assert.rejects(main(['fill', '--tasks', tasks, '--out', path.join(dir, 'x.jsonl'), '--mode', 'parallel']), /--mode must be/);
  fs.rmSync(dir, { recursive: true, force: true });
});
