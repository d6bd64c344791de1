import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEdits, fillAllEdits, fillPieces, findAllFillTargets } from '../../../src/completion/fillAllTargets';

const PY = [
  'def add(a, b):',
  '    # fill',
  '',
  'def sub(a, b):',
  '    pass',
  '',
  'def mul(a, b):',
  '',
  'def div(a, b):',
  '    return a / b',
  '',
].join('\n');

const TS = [
  'function a(x: number) {}',
  'function b(x: number) {',
  '',
  '}',
  'const c = 1;',
  '// TODO',
  '',
].join('\n');

const regions = (text: string, range?: { start: number; end: number }) =>
  findAllFillTargets(text, range).map((t) => ({ kind: t.kind, region: text.slice(t.start, t.end) }));

test('Fill All targets: every placeholder line and empty block of the file, in order', () => {
  assert.deepEqual(regions(PY), [
    { kind: 'placeholder', region: '# fill' },
    { kind: 'placeholder', region: 'pass' },
    { kind: 'blankBody', region: '\n\n' }, // def mul(a, b): over a blank line, up to the next def
  ]);
  assert.deepEqual(regions(TS), [
    { kind: 'emptyBraces', region: '' },
    { kind: 'blankBody', region: '\n\n' },
    { kind: 'placeholder', region: '// TODO' },
  ]);
});

test('Fill All targets: only those inside the selection', () => {
  const start = PY.indexOf('def sub');
  const end = PY.indexOf('def div');
  assert.deepEqual(regions(PY, { start, end }).map((r) => r.region), ['pass', '\n\n']);
  assert.deepEqual(regions(PY, { start: 0, end: PY.indexOf('def sub') }).map((r) => r.region), ['# fill']);
  assert.deepEqual(regions('x = 1\ny = 2\n'), []);
});

test('Fill All pieces: the code around the holes, with each target\'s layout; joining them with the answers gives the edit', () => {
  const targets = findAllFillTargets(TS);
  const pieces = fillPieces(TS, targets);
  assert.equal(pieces.length, targets.length + 1);
  assert.ok(pieces[0].startsWith('function a(x: number) {\n    '), JSON.stringify(pieces[0]));
  assert.equal(pieces[3], '\n');
  const answers = ['return x;', 'return x * 2;', 'export default c;'];
  const joined = pieces.reduce((a, p, i) => a + p + (answers[i] ?? ''), '');
  assert.equal(applyEdits(TS, fillAllEdits(targets, answers)), joined);
  assert.equal(joined, [
    'function a(x: number) {',
    '    return x;',
    '}',
    'function b(x: number) {',
    '    return x * 2;',
    '}',
    'const c = 1;',
    'export default c;',
    '',
  ].join('\n'));
});

test('Fill All edits: a hole without an answer is left as it was', () => {
  const targets = findAllFillTargets(PY);
  const edits = fillAllEdits(targets, ['return a + b', undefined, '']);
  assert.equal(edits.length, 1);
  assert.equal(applyEdits(PY, edits), PY.replace('# fill', 'return a + b'));
});
