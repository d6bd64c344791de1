import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompletionCache, makeAnchor, typedAlong } from '../../../src/completion/completionCache';
import type { FittedContext } from '../../../src/completion/contextWindow';

const ctx = (prefix: string, suffix: string, ends = true): FittedContext => ({ prefix, suffix, prefixIsFileStart: ends, suffixIsFileEnd: ends });
const DOC = 'file:///a.ts';
const V = 'r2|multi';

test('exact context: the whole completion', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('const x = ', ';\n')), 'compute(1)', undefined);
  const hit = cache.get(DOC, V, ctx('const x = ', ';\n'));
  assert.deepEqual([hit?.typed, hit?.remainder], ['', 'compute(1)']);
});

test('typing along the completion serves the rest; a different character misses', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('const x = ', ';\n')), 'compute(1)', undefined);
  assert.equal(cache.get(DOC, V, ctx('const x = comp', ';\n'))?.remainder, 'ute(1)');
  assert.equal(cache.get(DOC, V, ctx('const x = comb', ';\n')), undefined);
});

test('typing the whole completion leaves nothing to serve', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('x = ', '')), '42', undefined);
  assert.equal(cache.get(DOC, V, ctx('x = 42', '')), undefined);
});

test('another document, variant or suffix misses', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('x = ', '\ny')), '42', undefined);
  assert.equal(cache.get('file:///b.ts', V, ctx('x = ', '\ny')), undefined);
  assert.equal(cache.get(DOC, 'llada|multi', ctx('x = ', '\ny')), undefined);
  assert.equal(cache.get(DOC, V, ctx('x = ', ')\ny')), undefined, 'auto-closed bracket changed the suffix');
});

test('a prefix that only ends like the anchor misses when the anchor reached the file start', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('x = ', '')), '42', undefined);
  assert.equal(cache.get(DOC, V, ctx('let x = ', '')), undefined);
});

test('long prefixes compare only their tail, so edits far above still hit', () => {
  const far = 'a'.repeat(5000);
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx(far + '\nx = ', '', false)), '42', undefined);
  assert.equal(cache.get(DOC, V, ctx('b' + far.slice(1) + '\nx = 4', '', false))?.remainder, '2');
});

test('least recently used entries are evicted first', () => {
  const cache = new CompletionCache(2);
  cache.put(makeAnchor(DOC, V, ctx('a', '')), '1', undefined);
  cache.put(makeAnchor(DOC, V, ctx('b', '')), '2', undefined);
  cache.get(DOC, V, ctx('a', '')); // a is now the most recent
  cache.put(makeAnchor(DOC, V, ctx('c', '')), '3', undefined);
  assert.ok(cache.get(DOC, V, ctx('a', '')));
  assert.equal(cache.get(DOC, V, ctx('b', '')), undefined);
  assert.equal(cache.size, 2);
});

test('same anchor replaces; deleteDocument and clear empty it', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('a', '')), '1', undefined);
  cache.put(makeAnchor(DOC, V, ctx('a', '')), '2', undefined);
  assert.equal(cache.size, 1);
  assert.equal(cache.get(DOC, V, ctx('a', ''))?.remainder, '2');
  cache.deleteDocument(DOC);
  assert.equal(cache.size, 0);
  cache.put(makeAnchor(DOC, V, ctx('a', '')), '1', undefined);
  cache.clear();
  assert.equal(cache.size, 0);
});

test('typedAlong prefers the longest typed stretch', () => {
  const anchor = makeAnchor(DOC, V, ctx('s = ', ''));
  assert.equal(typedAlong(anchor, DOC, V, ctx('s = aa', ''), 'aaa'), 'aa');
});

test('an empty completion is remembered for exactly its context', () => {
  const cache = new CompletionCache();
  cache.put(makeAnchor(DOC, V, ctx('x = ', '')), '', undefined);
  assert.deepEqual(cache.get(DOC, V, ctx('x = ', ''))?.remainder, '');
  assert.equal(cache.get(DOC, V, ctx('x = 1', '')), undefined);
});
