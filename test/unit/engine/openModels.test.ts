// Open dLLMs in the engine (issue 19): format-2 configs, grouped-query and float16 K/V, several end ids, block-causal
// decoding, the Dream first pass, special strings in user text, the memory check and check-model. The ONNX models are
// tiny random graphs built by test/support/tinyDllm.ts; the decoder layouts use a fake network.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../../src/cli';
import { buildCanvas } from '../../../src/engine/canvas';
import { checkModel, float16Bits } from '../../../src/engine/checkModel';
import { blockCausalOrder, decode, type DecodeModel } from '../../../src/engine/decoder';
import { DEFAULT_THRESHOLDS, defaultDecodeOptions } from '../../../src/engine/defaults';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
import { KvRows } from '../../../src/engine/kvcache';
import { checkModelFitsMemory, modelBytes } from '../../../src/engine/memory';
import { isEndToken, parseModelConfig, readModelConfig } from '../../../src/engine/modelConfig';
import { policySpec } from '../../../src/engine/policies';
import { POLICY_NAMES, type PolicyName } from '../../../src/engine/protocol';
import type { ForwardRequest } from '../../../src/engine/session';
import { TextTokenizer } from '../../../src/engine/tokenizer';
import { REPO_ROOT } from '../../support/repoRoot';
import { TINY_SPECIALS, writeSelfCheck, writeTinyModelDir } from '../../support/tinyDllm';

const TOKENIZER = path.join(REPO_ROOT, 'models', 'dllm-code-small', 'tokenizer.json');
const BUNDLED_CONFIG = path.join(REPO_ROOT, 'models', 'dllm-code-small', 'config.json');
const SAMPLE = { prefix: 'function add(a, b) {\n  return ', suffix: ';\n}\n\nconsole.log(add(1, 2));\n' };

const codeOf = async (p: Promise<unknown>) => {
  try { await p; } catch (err) { return (err as EngineError).code; }
  return 'no error';
};

test('format 1 configs keep working: K/V heads = query heads, PAD is the only end id, bidirectional, float32 K/V', () => {
  const c = readModelConfig(BUNDLED_CONFIG);
  assert.equal(c.nKvHeads, c.nHeads);
  assert.deepEqual(c.endIds, [c.padId]);
  assert.equal(c.attention, 'bidirectional');
  assert.equal(c.kvDtype, 'float32');
});

test('format 2 config: K/V heads, end ids, attention, kv_dtype, a null BOS, and clear errors', () => {
  const { dir, config } = writeTinyModelDir(TOKENIZER, { attention: 'block-causal', kvDtype: 'float16' });
  const c = readModelConfig(path.join(dir, 'config.json'));
  assert.equal(c.nKvHeads, 2);
  assert.equal(c.nHeads, 4);
  assert.equal(c.bosId, -1);
  assert.deepEqual(c.endIds, config.end_token_ids);
  assert.equal(c.attention, 'block-causal');
  assert.equal(c.kvDtype, 'float16');
  assert.deepEqual(c.specialTokens, Object.values(TINY_SPECIALS));
  assert.ok(isEndToken(c, config.end_token_ids[1]));
  assert.ok(!isEndToken(c, c.maskId));
  const bad = (patch: Record<string, unknown>) => () => parseModelConfig(JSON.stringify({ ...config, ...patch }));
  assert.throws(bad({ attention: 'causal' }), /attention/);
  assert.throws(bad({ n_kv_heads: 3 }), /multiple of n_kv_heads/);
  assert.throws(bad({ end_token_ids: [] }), /end_token_ids/);
  assert.throws(bad({ end_token_ids: [config.mask_token_id] }), /must differ/);
  assert.throws(bad({ attention: 'block-causal', kv_cache: false }), /kv_cache/);
  assert.throws(bad({ format_version: 3 }), /format_version 3/);
});

test('special tokens written as plain text in the user file are never encoded as special ids, and round-trip', () => {
  const { dir } = writeTinyModelDir(TOKENIZER);
  const config = readModelConfig(path.join(dir, 'config.json'));
  const tokenizer = TextTokenizer.load(path.join(dir, 'tokenizer.json'), config);
  const specialIds = new Set([config.maskId, ...config.endIds]);
  const text = `const eos = "${TINY_SPECIALS.endOfText}";\n// ${TINY_SPECIALS.mask}${TINY_SPECIALS.imEnd} <|endof${TINY_SPECIALS.mask}text|>`;
  const ids = tokenizer.encode(text);
  assert.ok(ids.length > 0);
  assert.deepEqual(ids.filter((id) => specialIds.has(id)), [], 'no special id from user text');
  assert.equal(tokenizer.decode(ids), text, 'the text survives as ordinary tokens');
  // The raw tokenizer would have produced the special ids: the test input does exercise the escape.
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  assert.ok(raw.added_tokens.some((t: { content: string }) => t.content === TINY_SPECIALS.endOfText));
});

test('a model larger than the free memory fails with MODEL_TOO_LARGE before loading', async () => {
  const { dir } = writeTinyModelDir(TOKENIZER);
  const size = modelBytes(dir);
  assert.equal(size, fs.statSync(path.join(dir, 'model.onnx')).size);
  assert.throws(() => checkModelFitsMemory(dir, size - 1), (err: EngineError) => err.code === 'MODEL_TOO_LARGE' && /needs/.test(err.message));
  checkModelFitsMemory(dir, size + 1);
  process.env.DLLM_TEST_FREE_MEMORY = String(size - 1);
  try {
    const engine = new Engine({ modelDir: dir, executionProvider: 'cpu' });
    assert.equal(await codeOf(engine.load()), 'MODEL_TOO_LARGE');
    assert.equal(engine.status().errorCode, 'MODEL_TOO_LARGE');
  } finally {
    delete process.env.DLLM_TEST_FREE_MEMORY;
  }
});

test('format 2: an embedding padded beyond the tokenizer loads and decodes (format 1 stays strict)', async () => {
  const { dir, config } = writeTinyModelDir(TOKENIZER, { vocabPadding: 13 });
  const engine = new Engine({ modelDir: dir, executionProvider: 'cpu' });
  const r = await engine.complete({ id: 'pad', ...SAMPLE, policy: 'r2', maxNewTokens: 8 });
  assert.ok(r.tokenIds.every((id) => id < config.vocab_size - 13));
  await engine.dispose();
  const v1 = readModelConfig(path.join(dir, 'config.json'));
  assert.throws(() => TextTokenizer.load(path.join(dir, 'tokenizer.json'), { ...v1, formatVersion: 1 }), /disagree/);
});

const VARIANTS = [
  { attention: 'bidirectional', kvDtype: 'float32', logitShift: 0 },
  { attention: 'bidirectional', kvDtype: 'float16', logitShift: 1 },
  { attention: 'block-causal', kvDtype: 'float32', logitShift: 0 },
  { attention: 'block-causal', kvDtype: 'float16', logitShift: 1 },
] as const;

for (const v of VARIANTS) {
  test(`tiny ${v.attention} model, GQA 4/2 heads, ${v.kvDtype} K/V, logit shift ${v.logitShift}: every policy decodes`, async () => {
    const { dir } = writeTinyModelDir(TOKENIZER, v);
    const engine = new Engine({ modelDir: dir, executionProvider: 'cpu' });
    try {
      for (const policy of POLICY_NAMES) {
        const r = await engine.complete({ id: policy, ...SAMPLE, policy, maxNewTokens: 20 });
        assert.ok(r.metrics.nfe >= 1, policy);
        assert.equal(r.cancelled, false, policy);
        assert.ok(r.commitsPerStep.reduce((a, b) => a + b, 0) <= 20, policy);
        assert.equal(typeof r.completion, 'string');
      }
    } finally {
      await engine.dispose();
    }
  });
}

test('a model without BOS never gets one: single canvas, Fill All joint and sequential, on both attention kinds', async () => {
  const layout = buildCanvas({ prefixIds: [5, 6], suffixIds: [7], canvasLength: 4, maxLength: 128, maskId: 1, bosId: -1, useBos: true });
  assert.equal(layout.hasBos, false);
  assert.deepEqual(Array.from(layout.sequence), [5, 6, 1, 1, 1, 1, 7]);
  for (const attention of ['bidirectional', 'block-causal'] as const) {
    const { dir } = writeTinyModelDir(TOKENIZER, { attention });
    const engine = new Engine({ modelDir: dir, executionProvider: 'cpu' });
    const fed: number[][] = [];
    const loaded = await engine.load();
    const forward = loaded.session.forward;
    (loaded.session as { forward: typeof forward }).forward = (req) => { fed.push([...req.inputIds]); return forward(req); };
    for (const mode of ['joint', 'sequential'] as const) {
      const r = await engine.complete({ id: mode, prefix: '', suffix: '', policy: 'r2', maxNewTokens: 6,
        fill: { pieces: ['const a = ', ';\nconst b = ', ';\n'], mode } });
      assert.equal(r.fill?.holes.length, 2, `${attention} ${mode}`);
    }
    assert.ok(fed.length > 0);
    assert.ok(fed.every((ids) => ids.every((id) => id >= 0)), `${attention}: no negative (missing BOS) id is ever fed`);
    await engine.dispose();
  }
});

test('any end id ends the answer: a model that always predicts the second end id gives an empty completion', async () => {
  const probe = writeTinyModelDir(TOKENIZER);
  const imEnd = probe.config.end_token_ids[1];
  for (const attention of ['bidirectional', 'block-causal'] as const) {
    const ends = writeTinyModelDir(TOKENIZER, { attention, favour: { [imEnd]: 40 } });
    const notEnd = writeTinyModelDir(TOKENIZER, { attention, favour: { [imEnd]: 40 }, config: { end_token_ids: [probe.config.pad_token_id] } });
    for (const policy of POLICY_NAMES) {
      const a = new Engine({ modelDir: ends.dir, executionProvider: 'cpu' });
      const b = new Engine({ modelDir: notEnd.dir, executionProvider: 'cpu' });
      const ra = await a.complete({ id: 'a', ...SAMPLE, policy, maxNewTokens: 16 });
      const rb = await b.complete({ id: 'b', ...SAMPLE, policy, maxNewTokens: 16 });
      assert.deepEqual(ra.tokenIds, [], `${attention} ${policy}: <|im_end|> ends the answer`);
      assert.ok(rb.tokenIds.length > 0 && rb.tokenIds.every((id) => id === imEnd), `${attention} ${policy}: not an end id, so it is answer text`);
      await a.dispose();
      await b.dispose();
    }
  }
});

// ---- decoder layouts with a fake network: K/V rows carry their position, so the cache order is visible ----

const MASK = 1;
const PAD = 0;
const L = 1, H = 2, D = 2;

function fakeModel(attention: 'bidirectional' | 'block-causal', logitShift: 0 | 1, blockSize = 4) {
  const calls: ForwardRequest[] = [];
  const model: DecodeModel = {
    maskId: MASK, endId: PAD, endIds: [PAD, 7], logitShift, kvCache: true, nLayers: L, nHeads: H, headDim: D, attention, blockSize,
    forward: async (req) => {
      calls.push({ ...req, inputIds: [...req.inputIds], positions: [...req.positions] });
      // Row r predicts position positions[r] + shift: the token 500 + that position, with confidence 0.95.
      const stats = req.outputRows.map((row) => ({ tokenId: 500 + req.positions[row] + logitShift, p1: 0.95, p2: 0.01, negEntropy: 0 }));
      const q = req.inputIds.length;
      const keys = new Float32Array(L * H * q * D);
      for (let lh = 0; lh < L * H; lh++) for (let r = 0; r < q; r++) keys.fill(req.positions[r], (lh * q + r) * D, (lh * q + r + 1) * D);
      return { stats, present: new KvRows(L, H, D, q, keys, keys.slice()) };
    },
  };
  return { model, calls };
}

const pastPositions = (past: KvRows) => Array.from({ length: past.length }, (_, r) => past.keys[r * D]);

function canvas(prefix: number, canvasLength: number, suffix: number, useBos = true) {
  return buildCanvas({
    prefixIds: Array.from({ length: prefix }, (_, i) => 100 + i), suffixIds: Array.from({ length: suffix }, (_, i) => 200 + i),
    canvasLength, maxLength: 512, maskId: MASK, bosId: 2, useBos,
  });
}

test('block-causal feed order: BOS, then the suffix, then the prefix, then the canvas, with true positions', () => {
  assert.deepEqual(blockCausalOrder(12, 4, 8, true), [0, 8, 9, 10, 11, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(blockCausalOrder(12, 4, 8, false), [8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(blockCausalOrder(6, 0, 6, false), [0, 1, 2, 3, 4, 5]);
});

for (const logitShift of [0, 1] as const) {
  test(`block-causal decoding (shift ${logitShift}): prefill in blocks, each pass feeds one block, finished blocks appended to the cache`, async () => {
    const B = 4;
    const layout = canvas(5, 10, 3); // sequence: BOS + 5 prefix, canvas 10, suffix 3 = 19 tokens
    const order = blockCausalOrder(layout.sequence.length, layout.canvasStart, layout.canvasEnd, true);
    const { model, calls } = fakeModel('block-causal', logitShift, B);
    const options = { ...defaultDecodeOptions('fast-dllm'), blockSize: 32 }; // the model's block size wins
    const outcome = await decode(model, {
      sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd, hasBos: true,
      spec: policySpec('fast-dllm', options), thresholds: DEFAULT_THRESHOLDS, options,
    });
    // Every pass: the query is one aligned chunk of the feed order; the past is exactly everything before it, in order.
    for (const call of calls) {
      const at = order.indexOf(call.positions[0]);
      assert.equal(at % B, 0, 'chunks are block-aligned in feed order');
      assert.deepEqual(call.positions, order.slice(at, at + call.positions.length));
      assert.ok(call.positions.length <= B);
      assert.deepEqual(pastPositions(call.past as KvRows), order.slice(0, at), 'cache = earlier chunks, appended in order');
    }
    // Feed order: BOS, suffix ×3, prefix ×5, canvas ×10 → chunks 0 and 1 are context only; chunk 2 is the last prefix
    // token and three canvas positions; chunks 3 and 4 are canvas.
    const chunkStarts = calls.map((c) => order.indexOf(c.positions[0]) / B);
    const contextOnly = [0, 1];
    for (const c of contextOnly) assert.equal(chunkStarts.filter((s) => s === c).length, 1, `chunk ${c} is prefilled once`);
    // Each decode chunk but the last is fed once more with its final tokens (cache append), never recomputed later.
    const decodeChunks = [...new Set(chunkStarts)].filter((c) => !contextOnly.includes(c));
    assert.deepEqual(decodeChunks, [2, 3, 4]);
    assert.equal(outcome.contextPasses, contextOnly.length + decodeChunks.length - 1);
    assert.equal(outcome.nfe + outcome.contextPasses, calls.length);
    // The answer reads each position's own prediction: 500 + position (shifted rows predict the next position).
    assert.deepEqual(Array.from(outcome.canvas), Array.from({ length: 10 }, (_, i) => 500 + layout.canvasStart + i));
  });
}

test('block-causal decoding: every policy finishes, and the streaming early exit honours every end id', async () => {
  for (const policy of POLICY_NAMES) {
    const layout = canvas(6, 12, 2, false);
    const { model } = fakeModel('block-causal', 0, 4);
    const options = defaultDecodeOptions(policy);
    const outcome = await decode(model, {
      sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
      spec: policySpec(policy, options), thresholds: DEFAULT_THRESHOLDS, options,
    });
    assert.ok(!outcome.canvas.includes(MASK), policy);
  }
  const layout = canvas(6, 12, 2, false);
  const { model } = fakeModel('block-causal', 0, 4);
  const endAt = layout.canvasStart + 1;
  const forward = model.forward;
  model.forward = async (req) => {
    const r = await forward(req);
    r.stats = r.stats.map((s, j) => (req.positions[req.outputRows[j]] === endAt ? { ...s, tokenId: 7 } : s));
    return r;
  };
  const options = defaultDecodeOptions('streaming');
  const outcome = await decode(model, {
    sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
    spec: policySpec('streaming', options), thresholds: DEFAULT_THRESHOLDS, options,
  });
  assert.equal(outcome.stopReason, 'early-exit', 'end id 7 (not PAD) ends the generation');
  assert.deepEqual(Array.from(outcome.canvas.slice(4)), Array(8).fill(PAD));
});

test('block-causal shifted model with nothing before the canvas (empty file, no BOS) still decodes', async () => {
  const layout = canvas(0, 6, 0, false);
  const { model, calls } = fakeModel('block-causal', 1, 4);
  const options = defaultDecodeOptions('r2');
  const outcome = await decode(model, {
    sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
    spec: policySpec('r2', options), thresholds: DEFAULT_THRESHOLDS, options,
  });
  assert.ok(!outcome.canvas.includes(MASK));
  assert.deepEqual(pastPositions(calls.at(-1)!.past as KvRows), [0, 1, 2, 3]);
});

test('shifted models: a block\'s first pass commits only its first position (reference Dream samplers)', async () => {
  for (const policy of ['fast-dllm', 'r2', 'streaming'] as PolicyName[]) {
    for (const attention of ['bidirectional', 'block-causal'] as const) {
      const layout = canvas(8, 8, 4, false);
      const { model } = fakeModel(attention, 1, 4);
      const options = { ...defaultDecodeOptions(policy), blockSize: 4 };
      const outcome = await decode(model, {
        sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
        spec: policySpec(policy, options), thresholds: DEFAULT_THRESHOLDS, options,
      });
      const firstSteps = [...new Set(outcome.commits.filter((c) => c.rule === 'block-first').map((c) => c.step))];
      assert.deepEqual(outcome.commits.filter((c) => c.rule === 'block-first').map((c) => c.index), [0, 4], `${policy} ${attention}`);
      for (const step of firstSteps) {
        const base = outcome.commits.filter((c) => c.step === step && ['threshold', 'dynamic-threshold', 'fallback-best'].includes(c.rule));
        assert.deepEqual(base, [], `${policy} ${attention}: no threshold commits on a first pass`);
      }
    }
  }
  // Unshifted models keep the threshold on the first pass: with every p1 = 0.95 the whole block commits at once.
  const layout = canvas(8, 8, 4, false);
  const { model } = fakeModel('bidirectional', 0);
  const options = { ...defaultDecodeOptions('fast-dllm'), blockSize: 4 };
  const outcome = await decode(model, {
    sequence: layout.sequence, canvasStart: layout.canvasStart, canvasEnd: layout.canvasEnd,
    spec: policySpec('fast-dllm', options), thresholds: DEFAULT_THRESHOLDS, options,
  });
  assert.equal(outcome.nfe, 2);
});

// ---- check-model ----

test('float16Bits rounds like IEEE half precision', () => {
  assert.equal(float16Bits(1), 0x3c00);
  assert.equal(float16Bits(-2), 0xc000);
  assert.equal(float16Bits(65504), 0x7bff);
  assert.equal(float16Bits(1e6), 0x7c00);
  assert.equal(float16Bits(2 ** -24), 0x0001);
  assert.equal(float16Bits(0.1), 0x2e66);
});

for (const kvDtype of ['float32', 'float16'] as const) {
  test(`check-model (${kvDtype} K/V): passes on its self-check, fails on a corrupted one, exit codes 0 / 1`, async () => {
    const { dir } = writeTinyModelDir(TOKENIZER, { kvDtype });
    await writeSelfCheck(dir, kvDtype === 'float16'
      ? { min_top1_agreement: 0.98, max_abs_delta_p: 2e-2, near_tie_gap: 1e-2 }
      : { min_top1_agreement: 1, max_abs_delta_p: 1e-3, near_tie_gap: 1e-4 });
    const good = await checkModel(dir, 'cpu');
    assert.equal(good.ok, true);
    assert.equal(good.executionProvider, 'cpu');
    assert.equal(good.top1Agreement, 1);
    assert.ok(good.maxAbsDeltaP < 1e-3, String(good.maxAbsDeltaP));
    assert.equal(good.cases.length, 2);

    const file = path.join(dir, 'self_check.json');
    const check = JSON.parse(fs.readFileSync(file, 'utf8'));
    const out = check.cases[1].outputs;
    const k = out.top_ids.shape.at(-1);
    out.top_ids.data[0] = (out.top_ids.data[0] + 1) % 100 + 3; // a wrong top-1 with a clear margin
    out.top_probs.data[k] += 0.05; // and a probability off by 0.05
    out.top_probs.data[0] = 0.9; out.top_probs.data[1] = 0.01;
    fs.writeFileSync(file, JSON.stringify(check));
    const bad = await checkModel(dir, 'cpu');
    assert.equal(bad.ok, false);
    assert.ok(bad.top1Agreement < 1);
    assert.ok(bad.maxAbsDeltaP >= 0.05);
    assert.equal(bad.cases[0].ok, true, 'the untouched case still passes');

    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
    const codes: number[] = [];
    try {
      codes.push(await main(['check-model', '--model', dir, '--ep', 'cpu']));
      fs.writeFileSync(file, JSON.stringify({ ...check, cases: [check.cases[0]] }));
      codes.push(await main(['check-model', '--model', dir, '--ep', 'cpu']));
    } finally {
      process.stdout.write = write;
    }
    assert.deepEqual(codes, [1, 0]);
    assert.match(printed, /execution provider: cpu/);
    assert.match(printed, /FAIL: top-1 agreement/);
    assert.match(printed, /PASS: top-1 agreement 1\.000/);
  });
}

test('check-model without a self-check says so', async () => {
  const { dir } = writeTinyModelDir(TOKENIZER);
  assert.equal(await codeOf(checkModel(dir, 'cpu')), 'MODEL_MISSING');
});

// Node 24 and recent Electron have Float16Array; onnxruntime-common then wraps float16 data in one, which the native
// binding reads as 0 bytes. The fp16 tests above run on this Node; this one runs them on a Node with Float16Array.
function nodeWithFloat16Array(): string | undefined {
  if (typeof (globalThis as Record<string, unknown>).Float16Array === 'function') return process.execPath;
  const cache = path.join(os.homedir(), '.cache', 'dllm-code');
  if (!fs.existsSync(cache)) return undefined;
  for (const dir of fs.readdirSync(cache).filter((d) => /^node-2[4-9]/.test(d))) {
    const bin = path.join(cache, dir, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
    if (fs.existsSync(bin)) return bin;
  }
  return undefined;
}

const float16Node = nodeWithFloat16Array();
test('fp16 K/V decode on a runtime with Float16Array (Node 24 / Electron)', { skip: float16Node ? false : 'no Node with Float16Array here (Node 24 from .ci/toolchain.mjs)' }, () => {
  const { dir } = writeTinyModelDir(TOKENIZER, { attention: 'block-causal', kvDtype: 'float16', logitShift: 1 });
  const engineJs = path.join(REPO_ROOT, 'out', 'src', 'engine', 'engine.js');
  const script = `
    if (typeof Float16Array !== 'function') throw new Error('no Float16Array');
    const { Engine } = require(${JSON.stringify(engineJs)});
    const engine = new Engine({ modelDir: ${JSON.stringify(dir)}, executionProvider: 'cpu' });
    engine.complete({ id: 'f16', prefix: 'function f(a) {\\n  return ', suffix: ';\\n}\\n', policy: 'r2', maxNewTokens: 24 })
      .then((r) => { console.log(JSON.stringify({ nfe: r.metrics.nfe })); return engine.dispose(); })
      .catch((e) => { console.error(e.message); process.exit(1); });`;
  const run = spawnSync(float16Node!, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(JSON.parse(run.stdout.trim().split('\n').pop()!).nfe >= 1);
});
