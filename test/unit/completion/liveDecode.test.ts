import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeAnchor } from '../../../src/completion/completionCache';
import { LiveDecode } from '../../../src/completion/liveDecode';
import { result, step } from './traces';

const DOC = 'file:///a.py';
const V = 'v';
const fitted = (prefix: string, suffix = '\n') => ({ prefix, suffix, prefixIsFileStart: true, suffixIsFileEnd: true });

function live(prefix = 'def f(xs):\n    ', suffix = '\n') {
  let cancelled = 0;
  const decode = new LiveDecode('r1', makeAnchor(DOC, V, fitted(prefix, suffix)), { prefix, suffix, shape: 'multiLine' }, () => cancelled++);
  return { decode, cancelledCount: () => cancelled };
}

test('the display text grows with the stable prefix and ends as the filtered completion', () => {
  const { decode } = live();
  assert.equal(decode.displayText, '');
  decode.onStep(step('r1', 1, 'return'));
  assert.equal(decode.displayText, 'return');
  decode.onStep(step('r1', 2, 'return sum(xs)\n'));
  assert.equal(decode.displayText, 'return sum(xs)');
  decode.finish(result('r1', 'return sum(xs)\n\ndef g():\n    pass'));
  assert.equal(decode.state, 'done');
  assert.equal(decode.displayText, 'return sum(xs)', 'the dedent is cut by the post-filters');
});

test('events of another request are ignored', () => {
  const { decode } = live();
  decode.onStep(step('other', 1, 'nope'));
  assert.equal(decode.displayText, '');
});

test('offers the rest of the display text to a context that typed along it, nothing to one that diverged', () => {
  const { decode } = live();
  decode.onStep(step('r1', 3, 'return sum(xs)'));
  assert.deepEqual(decode.offerFor(DOC, V, fitted('def f(xs):\n    ret')), { typed: 'ret', remainder: 'urn sum(xs)' });
  assert.deepEqual(decode.offerFor(DOC, V, fitted('def f(xs):\n    ')), { typed: '', remainder: 'return sum(xs)' });
  assert.equal(decode.offerFor(DOC, V, fitted('def f(xs):\n    x')), undefined);
  assert.equal(decode.offerFor('file:///b.py', V, fitted('def f(xs):\n    ')), undefined);
});

test('cancel stops the engine once and ends the decode; later events change nothing', () => {
  const { decode, cancelledCount } = live();
  decode.cancel();
  decode.cancel();
  assert.equal(cancelledCount(), 1);
  assert.equal(decode.state, 'cancelled');
  decode.onStep(step('r1', 1, 'late'));
  decode.finish(result('r1', 'late'));
  assert.equal(decode.displayText, '');
  assert.equal(decode.state, 'cancelled');
});

test('a cancelled result or an error ends the decode', () => {
  const a = live().decode;
  a.finish(result('r1', 'x', {}, true));
  assert.equal(a.state, 'cancelled');
  const b = live().decode;
  b.fail(new Error('boom'));
  assert.equal(b.state, 'failed');
});

test('until() resolves when the condition holds or the decode ends', async () => {
  const { decode } = live();
  const firstText = decode.until(() => decode.displayText.length > 0);
  let resolved = false;
  void firstText.then(() => { resolved = true; });
  decode.onStep(step('r1', 1, '   '));
  await Promise.resolve();
  assert.equal(resolved, false, 'whitespace is not content');
  decode.onStep(step('r1', 2, 'x = 1'));
  await firstText;
  const ended = live().decode;
  const waiting = ended.until(() => false);
  ended.fail(new Error('x'));
  await waiting;
});

test('with a healed prefix the display text starts after the space the user typed', () => {
  const prefix = 'limits = { expected: ';
  const decode = new LiveDecode('r1', makeAnchor(DOC, V, fitted(prefix)), { prefix, suffix: '\n', shape: 'multiLine' }, () => {}, ' ');
  decode.onStep(step('r1', 1, ' 5'));
  assert.equal(decode.displayText, '5');
  decode.finish(result('r1', ' 5 }'));
  assert.equal(decode.displayText, '5 }');
  const other = new LiveDecode('r2', makeAnchor(DOC, V, fitted(prefix)), { prefix, suffix: '\n', shape: 'multiLine' }, () => {}, ' ');
  other.finish(result('r2', '\n}'));
  assert.equal(other.displayText, '', 'an answer that breaks the line after the typed space is no answer');
});
