// The shipped tokenizer.json, loaded by @huggingface/tokenizers exactly as the engine loads it: exact round trips.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { REPO_ROOT } from '../../support/repoRoot';

const MODEL_DIR = path.join(REPO_ROOT, 'models', 'dllm-code-small');
const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8')), {});
const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));

const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids;
const decode = (ids: number[]) =>
  ids.length ? tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '';

const CASES: Record<string, string> = {
  'space indentation': 'def f(x):\n    if x:\n        return x\n    return None\n',
  'tab indentation': 'function f() {\n\tif (a) {\n\t\treturn 1;\n\t}\n}\n',
  'CRLF line endings': 'const a = 1;\r\nconst b = 2;\r\n\r\n',
  'blank lines with trailing spaces': '\n\n   \n\t\n  x  \n\n',
  'runs of spaces': 'a  =   b    +     c',
  'non-ASCII text': 'const s = "héllo wörld — naïve café";',
  'CJK and emoji': '// 日本語のコメント 中文 한국어 🚀👍🏽👨‍👩‍👧\n',
  'BOM, NBSP and odd whitespace': '\ufeffx\u00a0=\u00a01;\u0085\u2028y',
  'control characters': 'a\u0000b\u0007c\u001b[0m',
  'single newline': '\n',
  'lone space': ' ',
};

for (const [name, text] of Object.entries(CASES)) {
  test(`tokenizer round trip is exact: ${name}`, () => {
    assert.equal(decode(encode(text)), text);
  });
}

test('special token ids match config.json and plain code never produces them', () => {
  const specials = [config.pad_token_id, config.mask_token_id, config.bos_token_id];
  assert.deepEqual(specials, [0, 1, 2]);
  for (const text of Object.values(CASES)) {
    for (const id of encode(text)) assert.ok(!specials.includes(id), `special id ${id} from ${JSON.stringify(text)}`);
  }
  // Text that merely looks like a special token is ordinary text.
  assert.ok(encode('<|mask|> <mask> [MASK] <|endoftext|>').every((id) => !specials.includes(id)));
});

test('vocabulary size matches the model config', () => {
  const vocab = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8')).model.vocab;
  assert.equal(Object.keys(vocab).length, config.vocab_size);
  assert.equal(Math.max(...(Object.values(vocab) as number[])), config.vocab_size - 1);
});
