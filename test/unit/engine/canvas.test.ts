import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCanvas, canvasBlocks, contextBudget, trimForEncoding } from '../../../src/engine/canvas';
import { EngineError } from '../../../src/engine/errors';
import { resolveRequest } from '../../../src/engine/request';

const ids = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i);
const canvas = (prefix: number, suffix: number, canvasLength: number, useBos = true) => buildCanvas({
  prefixIds: ids(prefix, 1000), suffixIds: ids(suffix, 5000), canvasLength, maxLength: 512, maskId: 1, bosId: 2, useBos,
});

test('canvas: [BOS] prefix ++ MASK × n ++ suffix when everything fits', () => {
  const c = canvas(3, 2, 4);
  assert.deepEqual([...c.sequence], [2, 1000, 1001, 1002, 1, 1, 1, 1, 5000, 5001]);
  assert.deepEqual([c.canvasStart, c.canvasEnd, c.hasBos, c.prefixTokens, c.suffixTokens], [4, 8, true, 3, 2]);
});

test('canvas: truncates around the cursor, keeping the end of the prefix and the start of the suffix', () => {
  const c = canvas(1000, 1000, 48);
  assert.equal(c.sequence.length, 512);
  assert.equal(c.hasBos, false, 'a truncated prefix does not start the file');
  const budget = 512 - 48;
  assert.equal(c.suffixTokens, Math.floor(budget * 0.25));
  assert.equal(c.prefixTokens, budget - c.suffixTokens);
  assert.equal(c.sequence[c.canvasStart - 1], 1000 + 999, 'last prefix token is the one before the cursor');
  assert.equal(c.sequence[c.canvasEnd], 5000, 'first suffix token is the one after the cursor');
});

test('canvas: a short side gives its unused share to the other', () => {
  assert.deepEqual(contextBudget(1000, 10, 464, 0.25), [454, 10]);
  assert.deepEqual(contextBudget(10, 1000, 464, 0.25), [10, 454]);
  assert.deepEqual(contextBudget(1000, 1000, 400, 0.25), [300, 100]);
  const c = canvas(1000, 10, 48);
  assert.equal(c.sequence.length, 512);
  assert.equal(c.suffixTokens, 10);
});

test('canvas: keeps BOS when only the suffix is truncated', () => {
  const c = canvas(10, 1000, 48);
  assert.equal(c.hasBos, true);
  assert.equal(c.sequence[0], 2);
  assert.equal(c.sequence.length, 512);
});

test('canvas: maxNewTokens outside what the window allows is BAD_INPUT', () => {
  for (const n of [0, 449, 1.5]) {
    assert.throws(() => canvas(5, 5, n), (e: unknown) => e instanceof EngineError && e.code === 'BAD_INPUT' && /448/.test(e.message));
  }
});

test('canvas: blocks of B with a shorter last block', () => {
  assert.deepEqual(canvasBlocks(5, 53, 32), [[5, 37], [37, 53]]);
  assert.deepEqual(canvasBlocks(0, 64, 32), [[0, 32], [32, 64]]);
});

test('canvas: character pre-trim keeps the text next to the cursor, cut at a line start/end when close', () => {
  const prefix = 'x'.repeat(50) + '\n' + 'abcdef'.repeat(10);
  const { prefix: p, suffix: s } = trimForEncoding(prefix, 'head\n' + 'y'.repeat(100), 70);
  assert.ok(prefix.endsWith(p));
  assert.equal(p, 'abcdef'.repeat(10));
  assert.ok(s.startsWith('head\n') && s.length <= 70);
});

const req = (over: Record<string, unknown>) => ({ id: 'r1', prefix: 'let a = ', suffix: ';\n', ...over }) as never;
const code = (fn: () => unknown) => {
  try { fn(); } catch (e) { return (e as EngineError).code; }
  return 'OK';
};

test('request: empty prefix or suffix alone is fine; both empty is BAD_INPUT', () => {
  assert.equal(code(() => resolveRequest(req({ prefix: '' }), 32)), 'OK');
  assert.equal(code(() => resolveRequest(req({ suffix: '' }), 32)), 'OK');
  assert.equal(code(() => resolveRequest(req({ prefix: '', suffix: '  \n' }), 32)), 'BAD_INPUT');
});

test('request: wrong types, unknown policy, bad thresholds and options get clear codes', () => {
  assert.equal(code(() => resolveRequest(req({ prefix: 3 }), 32)), 'BAD_INPUT');
  assert.equal(code(() => resolveRequest(req({ id: '' }), 32)), 'BAD_INPUT');
  assert.equal(code(() => resolveRequest(req({ policy: 'beam' }), 32)), 'UNKNOWN_POLICY');
  assert.equal(code(() => resolveRequest(req({ thresholds: { tau: 1.5 } }), 32)), 'BAD_INPUT');
  assert.equal(code(() => resolveRequest(req({ thresholds: { temporalK: 0 } }), 32)), 'BAD_INPUT');
  assert.equal(code(() => resolveRequest(req({ options: { cache: 'full' } }), 32)), 'BAD_INPUT');
  assert.equal(code(() => resolveRequest(req({ maxNewTokens: -4 }), 32)), 'BAD_INPUT');
});

test('request: defaults per policy (dual cache for r2, prefix for streaming, none for llada; model block size)', () => {
  assert.equal(resolveRequest(req({}), 16).options.cache, 'dual');
  assert.equal(resolveRequest(req({}), 16).options.blockSize, 16);
  assert.equal(resolveRequest(req({ policy: 'streaming' }), 32).options.cache, 'prefix');
  assert.equal(resolveRequest(req({ policy: 'llada' }), 32).options.cache, 'none');
  assert.equal(resolveRequest(req({ policy: 'fast-dllm', thresholds: { tau: 0.7 } }), 32).thresholds.tau, 0.7);
});
