import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseCompletionShape } from '../../../src/completion/completionShape';
import { splitAtCursor } from './fixtures';

const shape = (document: string, mode: 'auto' | 'singleLine' | 'multiLine' = 'auto') => {
  const { prefix, suffix } = splitAtCursor(document);
  return chooseCompletionShape(mode, prefix, suffix);
};

test('auto: multi-line at the end of a line and on an empty line', () => {
  assert.equal(shape('function f() {\n  <|>\n}'), 'multiLine');
  assert.equal(shape('const x = <|>   \nfoo()'), 'multiLine');
  assert.equal(shape('<|>'), 'multiLine');
});

test('auto: single-line in the middle of a line', () => {
  assert.equal(shape('const x = <|>value;'), 'singleLine');
  assert.equal(shape('print(<|>)'), 'singleLine');
  assert.equal(shape('items.map(<|>);'), 'singleLine');
});

test('auto: multi-line inside an empty pair of braces or brackets', () => {
  assert.equal(shape('if (ok) {<|>}'), 'multiLine');
  assert.equal(shape('const xs = [<|>];'), 'multiLine');
});

test('auto: single-line inside a line comment', () => {
  assert.equal(shape('// returns the sum of <|>'), 'singleLine');
  assert.equal(shape('x = 1  # the <|>'), 'singleLine');
  assert.equal(shape('const url = "http://<|>'), 'multiLine'); // "//" inside a string is no comment
});

test('fixed modes win over the cursor position', () => {
  assert.equal(shape('f(<|>)', 'multiLine'), 'multiLine');
  assert.equal(shape('<|>', 'singleLine'), 'singleLine');
});
