// Prefix healing (src/completion/prefixHealing.ts): golden cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healPrefix, unhealAnswer } from '../../../src/completion/prefixHealing';

test('healPrefix takes one trailing space off the prefix', () => {
  assert.deepEqual(healPrefix('x = '), { prefix: 'x =', healed: ' ' });
  assert.deepEqual(healPrefix('def f():\n    '), { prefix: 'def f():\n   ', healed: ' ' });
  assert.deepEqual(healPrefix('a  '), { prefix: 'a ', healed: ' ' }); // one space: "  b" tokenizes as " " + " b"
});

test('healPrefix takes a trailing run of line breaks off a multi-line request, not a single-line one', () => {
  assert.deepEqual(healPrefix('"""\n\n'), { prefix: '"""', healed: '\n\n' });
  assert.deepEqual(healPrefix('x = 1\r\n'), { prefix: 'x = 1', healed: '\r\n' });
  assert.deepEqual(healPrefix('x = 1\n', false), { prefix: 'x = 1\n', healed: '' });
  assert.deepEqual(healPrefix('x = ', false), { prefix: 'x =', healed: ' ' });
});

test('healPrefix leaves other endings alone', () => {
  for (const prefix of ['x =', 'f(', 'if x:\n\t', '', ' ', '\n  ', '\n\n']) {
    assert.deepEqual(healPrefix(prefix), { prefix, healed: '' }, JSON.stringify(prefix));
  }
});

test('unhealAnswer cuts the healed start', () => {
  assert.equal(unhealAnswer(' 5}', ' '), '5}');
  assert.equal(unhealAnswer('  x', ' '), ' x');
  assert.equal(unhealAnswer('\n\n    for x in y:', '\n\n'), '    for x in y:');
  assert.equal(unhealAnswer('5}', ''), '5}');
});

test('unhealAnswer: an answer with less whitespace than the user typed', () => {
  assert.equal(unhealAnswer('5}', ' '), '5}', 'goes on after the typed space');
  assert.equal(unhealAnswer('\nfoo', ' '), '', 'a line break after a typed space is no answer');
  assert.equal(unhealAnswer('\ntest("x")', '\n\n'), 'test("x")', 'one blank line fewer: the code');
  assert.equal(unhealAnswer('\n    return x', '\n\n'), '    return x', 'indentation kept');
  assert.equal(unhealAnswer('    return x', '\n'), '    return x');
});

test('unhealAnswer: whitespace alone is no answer (yet)', () => {
  for (const [text, healed] of [['', ' '], ['\n', '\n\n'], ['  ', '\n'], ['\n', ' ']]) {
    assert.equal(unhealAnswer(text, healed), '', JSON.stringify([text, healed]));
  }
});
