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

test('unhealAnswer cuts the healed start, and an answer without it is no answer', () => {
  assert.equal(unhealAnswer(' 5}', ' '), '5}');
  assert.equal(unhealAnswer('  x', ' '), ' x');
  assert.equal(unhealAnswer('5}', ' '), '');
  assert.equal(unhealAnswer('\nfoo', ' '), '');
  assert.equal(unhealAnswer('', ' '), '');
  assert.equal(unhealAnswer('5}', ''), '5}');
});
