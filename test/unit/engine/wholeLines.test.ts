import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeLastLine } from '../../../src/engine/wholeLines';

test('whole lines: an answer between two line starts gets its final line break', () => {
  const prefix = 'def f(xs):\n    total = 0\n';
  assert.equal(closeLastLine('    for x in xs:', prefix, '        total += x\n    return total\n'), '    for x in xs:\n');
  assert.equal(closeLastLine('a = 1\nb = 2', '', 'print(a + b)\n'), 'a = 1\nb = 2\n'); // start of the file
});

test('whole lines: the file\'s own line ending is kept', () => {
  assert.equal(closeLastLine('  x();', 'function f() {\r\n', '  y();\r\n}\r\n'), '  x();\r\n');
});

test('whole lines: nothing changes inside a line, before a blank line, at the end of the file or for an empty answer', () => {
  assert.equal(closeLastLine('sum(xs)', '    return ', '\n'), 'sum(xs)'); // cursor inside a line
  assert.equal(closeLastLine('x = 1', 'a = 0\n', '\nb = 2\n'), 'x = 1'); // the suffix starts with a blank line
  assert.equal(closeLastLine('x = 1', 'a = 0\n', '   \n'), 'x = 1');
  assert.equal(closeLastLine('x = 1', 'a = 0\n', ''), 'x = 1'); // end of the file
  assert.equal(closeLastLine('', 'a = 0\n', 'b = 2\n'), '');
  assert.equal(closeLastLine('x = 1\n', 'a = 0\n', 'b = 2\n'), 'x = 1\n'); // already closed
});
