import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINE_JOIN, MASK_GLYPH, layoutLines, renderCanvas } from '../../../src/completion/fillCanvas';

test('masked positions are drawn as ░, committed ones as their text, padding as nothing', () => {
  assert.equal(renderCanvas([null, null, null]), MASK_GLYPH.repeat(3));
  assert.equal(renderCanvas(['return', null, ' x', '', '<\uE000pad>', null]), `return${MASK_GLYPH} x${MASK_GLYPH}`);
});

test('lines go on their own anchors; extra lines join the last one', () => {
  assert.deepEqual(layoutLines('a\nb', 3), ['a', 'b']);
  assert.deepEqual(layoutLines('a\nb\nc', 2), ['a', `b${LINE_JOIN}c`]);
  assert.deepEqual(layoutLines('a\nb\nc', 1), [`a${LINE_JOIN}b${LINE_JOIN}c`]);
});

test('indentation survives: spaces and tabs become no-break spaces', () => {
  assert.deepEqual(layoutLines('  x\n\ty', 2), ['\u00a0\u00a0x', '\u00a0'.repeat(4) + 'y']);
});
