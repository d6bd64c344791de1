import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TASK_SETS } from '../../../src/bench/taskSets';
import {
  type CompletionShape, type FilterContext, POST_FILTERS, applyPostFilters, dropBlank, dropRepeatOfLineAbove,
  dropRestOfLineDuplicate, dropSuffixDuplicateLines, keepSurroundingsBalanced, stopAtRepeatingLines, trimAtBlockEnd, trimToSingleLine,
  trimTrailingWhitespace,
} from '../../../src/completion/postFilters';
import { REPO_ROOT } from '../../support/repoRoot';
import { loadFixtures, splitAtCursor } from './fixtures';

interface Golden {
  name: string;
  document: string;
  completion: string;
  shape: CompletionShape;
  final?: boolean;
  languageId?: string;
  /** Default true: a fixture's document is the whole file. */
  prefixIsFileStart?: boolean;
  suffixIsFileEnd?: boolean;
  cutInsideLines?: boolean;
  expected: string;
}

const ctx = (document: string, shape: CompletionShape = 'multiLine', final = true): FilterContext => ({ ...splitAtCursor(document), shape, final });

describe('post-filter golden fixtures (fixtures/postFilters.json)', () => {
  const cases = loadFixtures<Golden>('postFilters.json');
  test('the fixture file has cases', () => assert.ok(cases.length >= 25));
  for (const c of cases) {
    test(c.name, () => {
      const context = {
        ...ctx(c.document, c.shape, c.final ?? true), languageId: c.languageId, prefixIsFileStart: c.prefixIsFileStart ?? true,
        suffixIsFileEnd: c.suffixIsFileEnd, cutInsideLines: c.cutInsideLines,
      };
      assert.equal(applyPostFilters(c.completion, context), c.expected);
    });
  }
});

describe('each filter on its own', () => {
  test('trimToSingleLine only acts in single-line mode', () => {
    assert.equal(trimToSingleLine('a\nb', ctx('<|>', 'singleLine')), 'a');
    assert.equal(trimToSingleLine('a\nb', ctx('<|>', 'multiLine')), 'a\nb');
  });

  test('dropRepeatOfLineAbove ignores short lines and waits for the first line to finish', () => {
    assert.equal(dropRepeatOfLineAbove('x++', ctx('x++\n<|>')), 'x++');
    assert.equal(dropRepeatOfLineAbove('result.push(', ctx('result.push(v);\n<|>', 'multiLine', false)), 'result.push(');
    assert.equal(dropRepeatOfLineAbove('result.push(v);\nmore', ctx('result.push(v);\n<|>')), '');
  });

  test('stopAtRepeatingLines leaves an unfinished last line alone while decoding', () => {
    assert.equal(stopAtRepeatingLines('a = 1\na = 1', ctx('<|>', 'multiLine', false)), 'a = 1\na = 1');
    assert.equal(stopAtRepeatingLines('a = 1\na = 1', ctx('<|>', 'multiLine', true)), 'a = 1');
  });

  test('trimAtBlockEnd does nothing in single-line mode', () => {
    assert.equal(trimAtBlockEnd('a)\nb', ctx('f(<|>', 'singleLine')), 'a)\nb');
  });

  test('trimAtBlockEnd keeps a closing keyword line (end) and cuts after it', () => {
    assert.equal(trimAtBlockEnd('puts x\nend\nfoo', ctx('def f\n  <|>')), 'puts x\nend');
  });

  test('dropSuffixDuplicateLines needs the following lines to keep matching', () => {
    const document = 'a()\n<|>\nb()\nc()\n';
    assert.equal(dropSuffixDuplicateLines('x()\nb()\nz()', ctx(document)), 'x()\nb()\nz()');
    assert.equal(dropSuffixDuplicateLines('x()\nb()\nc()', ctx(document)), 'x()');
  });

  test('dropRestOfLineDuplicate never removes letters or digits', () => {
    assert.equal(dropRestOfLineDuplicate('a1', ctx('x = <|>1')), 'a1');
    assert.equal(dropRestOfLineDuplicate('a]', ctx('x = [<|>]')), 'a');
  });

  test('trimTrailingWhitespace keeps newlines before text right of the cursor', () => {
    assert.equal(trimTrailingWhitespace('\n  x;\n  ', ctx('{<|>}')), '\n  x;\n');
    assert.equal(trimTrailingWhitespace('x;\n\n', ctx('<|>\n')), 'x;');
  });

  test('dropBlank', () => {
    assert.equal(dropBlank(' \n\t', ctx('<|>')), '');
    assert.equal(dropBlank(' x', ctx('<|>')), ' x');
  });

  test('every filter is a pure function of its inputs (same input, same output, no mutation)', () => {
    const c = ctx('function f() {\n  <|>\n}\n');
    const frozen = Object.freeze({ ...c });
    for (const [name, filter] of POST_FILTERS) {
      const once = filter('return 1;\n}\nmore', frozen);
      assert.equal(filter('return 1;\n}\nmore', frozen), once, name);
    }
  });

  test('filters only shorten: the output is never longer than the input', () => {
    const samples = ['a)', '\n  x\n}', 'y = 2\ny = 2', '"q"', '   ', 'foo(\n  1,\n)\nbar'];
    for (const document of ['f(<|>)', '{<|>}', 'x = 1\n<|>\ny = 2', 'def f():\n    <|>']) {
      for (const shape of ['singleLine', 'multiLine'] as const) {
        for (const s of samples) assert.ok(applyPostFilters(s, ctx(document, shape)).length <= s.length, `${s} in ${document}`);
      }
    }
  });
});

describe('keepSurroundingsBalanced on real code: it never cuts a true answer', () => {
  const heDir = path.join(REPO_ROOT, '..', 'shared', 'eval', 'human-eval-infilling');
  const dirs = { humanEval: heDir, tsjs: path.join(REPO_ROOT, 'models', 'eval', 'tsjs-infill.jsonl') };
  for (const spec of TASK_SETS) {
    test(`${spec.name}: every reference middle is kept whole, with the suffix as given and as if cut off`,
      { skip: (() => { const data = spec.name === 'tsjs' ? dirs.tsjs : heDir; return fs.existsSync(data) ? false : `no ${data}`; })() }, () => {
        const tasks = spec.load(dirs);
        assert.ok(tasks.length >= 150);
        for (const suffixIsFileEnd of [undefined, false]) {
          const cut = tasks.filter((t) => keepSurroundingsBalanced(t.expected, {
            prefix: t.prefix, suffix: t.suffix, shape: 'multiLine', final: true, languageId: t.language,
            prefixIsFileStart: t.prefixIsFileStart, suffixIsFileEnd: suffixIsFileEnd ?? t.suffixIsFileEnd,
          }) !== t.expected);
          assert.deepEqual(cut.map((t) => t.taskId), []);
        }
      });
  }
});
