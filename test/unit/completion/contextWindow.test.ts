import assert from 'node:assert/strict';
import { test } from 'node:test';
import { charBudgets, fitContext, readWindowChars } from '../../../src/completion/contextWindow';

const budget = { windowTokens: 512, canvasTokens: 48, charsPerToken: 4 };
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} line ${i}`).join('\n');

test('short documents are sent whole', () => {
  const fitted = fitContext('a\nb', 'c\nd', budget);
  assert.deepEqual(fitted, { prefix: 'a\nb', suffix: 'c\nd', prefixIsFileStart: true, suffixIsFileEnd: true });
});

test('the budget follows the window minus the canvas and is split 3:1 between prefix and suffix', () => {
  const { prefixChars, suffixChars } = charBudgets(budget, 1e6, 1e6);
  const total = (512 - 48 - 2) * 4;
  assert.equal(prefixChars + suffixChars, total);
  assert.equal(suffixChars, Math.floor(total * 0.25));
});

test('a short side lends its budget to the other', () => {
  const { prefixChars, suffixChars } = charBudgets(budget, 1e6, 10);
  assert.equal(suffixChars, 10);
  assert.equal(prefixChars, (512 - 48 - 2) * 4 - 10);
});

test('a bigger canvas leaves less room for context', () => {
  assert.ok(readWindowChars({ ...budget, canvasTokens: 128 }) < readWindowChars(budget));
});

test('long sides are cut at line boundaries, keeping the text next to the cursor', () => {
  const prefix = lines(2000, 'p') + '\n    const x = ';
  const suffix = ';\n' + lines(2000, 's');
  const fitted = fitContext(prefix, suffix, budget);
  const { prefixChars, suffixChars } = charBudgets(budget, prefix.length, suffix.length);
  assert.ok(fitted.prefix.length <= prefixChars && fitted.prefix.length > prefixChars - 30);
  assert.ok(fitted.prefix.endsWith('\n    const x = '));
  assert.match(fitted.prefix, /^p line \d+\n/, 'starts at a line start');
  assert.ok(fitted.suffix.length <= suffixChars && fitted.suffix.startsWith(';\n'));
  assert.ok(fitted.suffix.endsWith('\n'), 'ends at a line end');
  assert.equal(fitted.prefixIsFileStart, false);
  assert.equal(fitted.suffixIsFileEnd, false);
});

test('a cursor line longer than the budget is cut inside the line', () => {
  const prefix = 'x'.repeat(10_000);
  const fitted = fitContext(prefix, '', budget);
  assert.equal(fitted.prefix.length, charBudgets(budget, prefix.length, 0).prefixChars);
});

test('a window that did not reach the file ends is not marked as reaching them', () => {
  const fitted = fitContext('a', 'b', budget, { prefixIsFileStart: false, suffixIsFileEnd: false });
  assert.equal(fitted.prefixIsFileStart, false);
  assert.equal(fitted.suffixIsFileEnd, false);
});
