import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { imbalance, lineCommentsOf, scanCode } from '../../../src/completion/codeScan';

describe('codeScan', () => {
  test('line comments follow the language: // is floor division in Python, # a private field in JavaScript', () => {
    assert.equal(lineCommentsOf('python'), '#');
    assert.equal(lineCommentsOf('typescript'), '//');
    assert.equal(lineCommentsOf(undefined), 'both');
    assert.equal(imbalance('x = l[len(l) // 2]', '#'), 0);
    assert.equal(imbalance('x = l[len(l) // 2]', 'both'), 1);
    assert.equal(imbalance('a = 1  # (not code\n', '#'), 0);
    assert.equal(imbalance('class A {\n  #n = 0 // (comment\n}', '//'), 0);
  });

  test('a newline ends an unterminated quote and counts it', () => {
    const s = scanCode('print("done)\nx = (1)\n');
    assert.equal(s.strayQuotes, 1);
    assert.deepEqual(s.unclosed, ['(']);
    assert.equal(imbalance('print("done)\nx = (1)\n'), 2);
  });

  test('triple-quoted strings span lines and hide their brackets and quotes', () => {
    const docstring = 'def f():\n    """It\'s (one.\n\n    """\n    return 1\n';
    const s = scanCode(docstring, '#');
    assert.equal(s.strayQuotes, 0);
    assert.deepEqual(s.unclosed, []);
    assert.equal(scanCode('x = """open\n(', '#').openString, '"""');
  });

  test('template literals span lines; an escaped quote does not close a string', () => {
    assert.equal(imbalance('const s = `a\n(b`;', '//'), 0);
    assert.equal(imbalance("const s = 'it\\'s (';", '//'), 0);
  });
});

describe('codeScan regions', () => {
  const region = (text: string, middle: string, after: string) => {
    const start = text.length;
    return scanCode(text + middle + after, '#', { start, end: start + middle.length });
  };

  test('brackets a region leaves open, and whether the text after it closes them', () => {
    const open = region('x = f(\n', 'g([1,\n', '2])\n');
    assert.equal(open.regionLeftOpen, 2);
    assert.equal(open.regionClosedAfter, true);
    const never = region('def f():\n', '    n = range(\n', '    return 1\n');
    assert.equal(never.regionLeftOpen, 1);
    assert.equal(never.regionClosedAfter, false);
  });

  test('a region that only closes brackets opened before it leaves nothing open', () => {
    const s = region('total = sum(\n    xs\n', ')\n', 'print(total)\n');
    assert.equal(s.regionLeftOpen, 0);
    assert.equal(s.regionClosedAfter, true);
  });
});
