import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_FILL_TOKENS, MAX_FILL_TOKENS, MIN_FILL_TOKENS, estimateCanvasTokens, fillPrompt, fillReplacement,
  findFillTarget, findPlaceholderLines, isPlaceholderLine,
} from '../../../src/completion/placeholder';
import { CURSOR } from './fixtures';

/** Target for a document with a <|> cursor; returns the region text too. */
function target(document: string, indentUnit = '    ') {
  const cursor = document.indexOf(CURSOR);
  const text = document.replace(CURSOR, '');
  const t = findFillTarget(text, cursor, undefined, indentUnit);
  return t && { ...t, region: text.slice(t.start, t.end), text };
}

test('placeholder lines: the documented markers, alone on their line', () => {
  for (const line of ['...', '    pass', '\tTODO', '// fill', '# fill', '-- fill', '/* fill */', '  // TODO', '# todo', '…']) {
    assert.ok(isPlaceholderLine(line), line);
  }
  for (const line of ['pass_through()', '// TODO: parse the header', 'fill', 'x = ...', '# fill the cache', 'todo()']) {
    assert.ok(!isPlaceholderLine(line), line);
  }
});

test('findPlaceholderLines lists their line numbers', () => {
  assert.deepEqual(findPlaceholderLines('def f():\n    pass\n\nx = 1\n# fill\n'), [1, 4]);
});

test('a placeholder line is replaced from its first character, keeping the indentation', () => {
  const t = target('def f(xs):\n    pa<|>ss\n\nprint(1)\n')!;
  assert.equal(t.kind, 'placeholder');
  assert.equal(t.region, 'pass');
  assert.equal(t.indent, '    ');
  assert.equal(t.canvasTokens, DEFAULT_FILL_TOKENS);
  assert.deepEqual(fillPrompt(t.text, t), { prefix: 'def f(xs):\n    ', suffix: '\n\nprint(1)\n' });
});

test('empty braces on the cursor line are filled as an indented body', () => {
  const t = target('function f(a) {<|>}\n', '  ')!;
  assert.equal(t.kind, 'emptyBraces');
  assert.equal(t.region, '');
  assert.deepEqual(fillPrompt(t.text, t), { prefix: 'function f(a) {\n  ', suffix: '\n}\n' });
  assert.equal(fillReplacement(t, 'return a;'), '\n  return a;\n');
  assert.equal(target('  if (x) { }<|>', '  ')!.region, ' ');
});

test('a block whose body is blank lines: brace language', () => {
  const doc = 'class A {\n  run() {\n<|>\n\n  }\n}\n';
  const t = target(doc, '  ')!;
  assert.equal(t.kind, 'blankBody');
  assert.equal(t.region, '\n\n\n  ');
  assert.equal(fillReplacement(t, 'go();'), '\n    go();\n  ');
  const filled = t.text.slice(0, t.start) + fillReplacement(t, 'go();') + t.text.slice(t.end);
  assert.equal(filled, 'class A {\n  run() {\n    go();\n  }\n}\n');
  assert.equal(target('class A {\n  run() {<|>\n  }\n}\n', '  ')?.kind, 'blankBody', 'cursor on the opener');
});

test('a block whose body is blank lines: Python, before the next statement and at the end of the file', () => {
  const mid = target('def f(xs):\n<|>\n\ndef g():\n    return 1\n')!;
  const filled = mid.text.slice(0, mid.start) + fillReplacement(mid, 'return xs') + mid.text.slice(mid.end);
  assert.equal(filled, 'def f(xs):\n    return xs\n\ndef g():\n    return 1\n');
  const end = target('def f(xs):<|>\n')!;
  assert.equal(end.text.slice(0, end.start) + fillReplacement(end, 'return xs') + end.text.slice(end.end), 'def f(xs):\n    return xs\n');
});

test('nothing to fill: a line of code, or a block that has a body', () => {
  assert.equal(target('x = 1<|>\n'), undefined);
  assert.equal(target('if (x) {<|>\n  y();\n}\n'), undefined);
  assert.equal(target('def f():<|>\n    return 1\n'), undefined);
  assert.equal(target('<|>\n\n'), undefined);
});

test('a selection is the region; its final newline and first-line indentation stay outside', () => {
  const text = 'function f() {\n  const a = 1;\n  return a;\n}\n';
  const start = text.indexOf('  const');
  const end = text.indexOf('}\n');
  const t = findFillTarget(text, end, { start, end })!;
  assert.equal(t.kind, 'selection');
  assert.equal(text.slice(t.start, t.end), 'const a = 1;\n  return a;');
  assert.equal(t.canvasTokens, estimateCanvasTokens('const a = 1;\n  return a;'));
});

test('canvas estimate: about chars / 3.5 × 1.3, clamped', () => {
  assert.equal(estimateCanvasTokens('x'), MIN_FILL_TOKENS);
  assert.equal(estimateCanvasTokens('x'.repeat(70)), 26);
  assert.equal(estimateCanvasTokens('x'.repeat(10_000)), MAX_FILL_TOKENS);
});
