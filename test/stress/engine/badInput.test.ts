// Bad model folders and awkward text through EngineClient and the real worker: every case ends with a clear
// EngineError or a sensible completion, and the worker keeps running.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { EngineError } from '../../../src/engine/errors';
import type { CompletionRequest } from '../../../src/engine/protocol';
import { brokenModelDir } from '../../unit/engine/modelFixture';
import { assertFigure, ms } from '../support/figures';
import { MODEL_DIR, disposeClients, makeClient, skipWithoutModel } from './helpers';

after(disposeClients);
const skip = skipWithoutModel;

const request = (id: string, over: Partial<CompletionRequest> = {}): CompletionRequest =>
  ({ id, prefix: 'def add(a, b):\n    return ', suffix: '\n', maxNewTokens: 16, policy: 'r2', ...over });

/** A lone UTF-16 surrogate: text that would corrupt a document if inserted. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function tokenizerJson(): any {
  return JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'));
}

/** A tokenizer of another model: the same specials, a smaller vocabulary. */
function smallerTokenizer(): string {
  const t = tokenizerJson();
  const keep = Object.entries(t.model.vocab as Record<string, number>).filter(([, id]) => id < 4096);
  t.model.vocab = Object.fromEntries(keep);
  const known = new Set(keep.map(([tok]) => tok));
  t.model.merges = (t.model.merges as Array<string | string[]>).filter((m) => {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    return known.has(a) && known.has(b) && known.has(a + b);
  });
  return JSON.stringify(t);
}

/** A foreign tokenizer of the same size: ids of ordinary tokens shuffled (undetectable by counting). */
function shuffledTokenizer(): string {
  const t = tokenizerJson();
  const entries = Object.entries(t.model.vocab as Record<string, number>);
  const specials = new Set((t.added_tokens as Array<{ id: number }>).map((a) => a.id));
  const ids = entries.map(([, id]) => id).filter((id) => !specials.has(id));
  for (let i = ids.length - 1; i > 0; i--) {
    const j = (i * 7919 + 17) % (i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  let k = 0;
  t.model.vocab = Object.fromEntries(entries.map(([tok, id]) => [tok, specials.has(id) ? id : ids[k++]]));
  return JSON.stringify(t);
}

const model = () => fs.readFileSync(path.join(MODEL_DIR, 'model.onnx'));

test('bad input: broken model folders give a clear error code and message; the worker keeps running', { skip }, async () => {
  const cases: Array<{ name: string; changes: Record<string, string | Buffer | null>; code: string }> = [
    { name: 'model.onnx missing', changes: { 'model.onnx': null }, code: 'MODEL_MISSING' },
    { name: 'model.onnx empty (0 bytes)', changes: { 'model.onnx': Buffer.alloc(0) }, code: 'MODEL_CORRUPT' },
    { name: 'model.onnx truncated to 40 %', changes: { 'model.onnx': model().subarray(0, Math.floor(model().length * 0.4)) }, code: 'MODEL_CORRUPT' },
    { name: 'model.onnx corrupt (1 MB of random bytes)', changes: { 'model.onnx': crypto.randomBytes(1 << 20) }, code: 'MODEL_CORRUPT' },
    { name: 'tokenizer.json of another model (4,096 ids)', changes: { 'tokenizer.json': smallerTokenizer() }, code: 'VOCAB_MISMATCH' },
    { name: 'tokenizer.json truncated', changes: { 'tokenizer.json': fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8').slice(0, 5000) }, code: 'MODEL_CORRUPT' },
  ];
  const client = await makeClient({ modelDir: MODEL_DIR });
  await client.complete(request('warm'));
  const pid = client.workerPid;
  const rows: string[] = [];
  for (const c of cases) {
    client.reconfigure({ modelDir: brokenModelDir(c.changes) });
    const t0 = performance.now();
    const err = await client.complete(request(`bad-${c.name}`)).then(() => undefined, (e: unknown) => e);
    const took = performance.now() - t0;
    assert.ok(err instanceof EngineError, `${c.name}: rejects with an EngineError (${String(err)})`);
    assert.equal(err.code, c.code, `${c.name}: ${err.message}`);
    assert.ok(err.message.length >= 20 && !/^\[object|undefined/.test(err.message), `${c.name}: a readable message`);
    assert.equal(client.status().state, 'error');
    rows.push(`${c.name} → ${err.code} in ${ms(took, 0)}`);
    console.log(`  ${c.name}: ${err.code}: ${err.message.slice(0, 160)}`);
  }
  client.reconfigure({ modelDir: MODEL_DIR });
  const ok = await client.complete(request('good-again'));
  assert.equal(ok.cancelled, false);
  assert.equal(client.workerPid, pid, 'the same worker served all of it');
  assertFigure({
    area: 'Bad input', check: 'missing / empty / truncated / corrupt model.onnx, a tokenizer of another model, a truncated tokenizer',
    figure: rows.join('; '), bound: 'clear error code, worker alive', holds: true,
  });
});

test('bad input: a same-size foreign tokenizer cannot be detected; completions are nonsense but nothing breaks', { skip }, async () => {
  const client = await makeClient({ modelDir: brokenModelDir({ 'tokenizer.json': shuffledTokenizer() }) });
  const r = await client.complete(request('shuffled'));
  assert.equal(typeof r.completion, 'string');
  assert.ok(!LONE_SURROGATE.test(r.completion));
  assertFigure({
    area: 'Bad input', check: 'tokenizer.json with the same size and specials but other ids (undetectable)',
    figure: `loads; completion of ${r.completion.length} chars, no error`, bound: 'no crash', holds: true,
  });
});

test('bad input: awkward documents through the engine: 10 MB, a 5,000-character line, CRLF, emoji and CJK, empty, offsets 0 and end', { skip }, async () => {
  const client = await makeClient();
  await client.complete(request('warm'));
  const line = 'const value = compute(input, options); // keep going\n';
  const tenMb = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
  const longLine = 'x = [' + '1, '.repeat(1665) + '2]';
  const cases: Array<{ name: string; prefix: string; suffix: string }> = [
    { name: '10 MB document, cursor in the middle', prefix: tenMb.slice(0, tenMb.length / 2) + 'return ', suffix: tenMb.slice(tenMb.length / 2) },
    { name: '5,000-character line, cursor at its end', prefix: `def f():\n    ${longLine.slice(0, 5000)}`, suffix: '\n' },
    { name: '5,000-character line, cursor in its middle', prefix: `def f():\n    ${longLine.slice(0, 2500)}`, suffix: `${longLine.slice(2500, 5000)}\n` },
    { name: 'CRLF line endings', prefix: 'function add(a, b) {\r\n  return ', suffix: ';\r\n}\r\n' },
    { name: 'emoji and CJK', prefix: 'const msg = "完成 ✅ 🎉";\nconst 名前 = "世界";\nconsole.log(', suffix: ');\n' },
    { name: 'cursor between a surrogate pair\'s neighbours', prefix: 'const s = "👋', suffix: '🌍";\n' },
    { name: 'empty file (cursor at 0)', prefix: '', suffix: '' },
    { name: 'cursor at offset 0', prefix: '', suffix: 'import os\n\nprint(os.getcwd())\n' },
    { name: 'cursor at the end of the file', prefix: 'import os\n\nprint(', suffix: '' },
  ];
  const rows: string[] = [];
  for (const c of cases) {
    const t0 = performance.now();
    const outcome = await client.complete(request(`odd-${rows.length}`, { prefix: c.prefix, suffix: c.suffix }))
      .then((r) => r, (e: unknown) => e);
    const took = performance.now() - t0;
    if (c.prefix === '' && c.suffix === '') {
      assert.ok(outcome instanceof EngineError && outcome.code === 'BAD_INPUT', 'an empty context is refused with BAD_INPUT');
      rows.push(`${c.name}: BAD_INPUT (the editor does not send it)`);
      continue;
    }
    assert.ok(!(outcome instanceof Error), `${c.name}: ${String(outcome)}`);
    const r = outcome as Awaited<ReturnType<typeof client.complete>>;
    assert.equal(r.cancelled, false);
    assert.ok(!LONE_SURROGATE.test(r.completion), `${c.name}: no lone surrogate in ${JSON.stringify(r.completion)}`);
    assert.ok(r.metrics.prefixTokens + r.metrics.suffixTokens + 16 <= 512, 'fits the model window');
    rows.push(`${c.name}: ${ms(took, 0)}`);
  }
  assertFigure({
    area: 'Bad input', check: 'awkward text through the engine (completion time each)', figure: rows.join('; '),
    bound: 'a completion or BAD_INPUT, no lone surrogates', holds: true,
  });
});
