// The engine on the real shipped model: completions, bookkeeping, cache agreement, cancel, bad inputs, providers.
import assert from 'node:assert/strict';
import { knownFailure } from '../../support/knownFailure';
import { after, test } from 'node:test';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
import { KvRows } from '../../../src/engine/kvcache';
import { modelPaths, readModelConfig } from '../../../src/engine/modelConfig';
import { type CompletionRequest, POLICY_NAMES } from '../../../src/engine/protocol';
import { ModelSession } from '../../../src/engine/session';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE, brokenModelDir, modelConfigJson } from './modelFixture';

const skip = HAVE_MODEL ? false : NO_MODEL_REASON;
const engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
after(() => engine.dispose());

const request = (over: Partial<CompletionRequest> = {}): CompletionRequest =>
  ({ id: 't', ...SAMPLE, maxNewTokens: 24, ...over });

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
    assert.ok(err.message.length > 10, 'the message explains the error');
    return err.code;
  }
}

test('model: every policy returns a completion with consistent bookkeeping', { skip }, async () => {
  for (const policy of POLICY_NAMES) {
    const r = await engine.complete(request({ policy }));
    const m = r.metrics;
    assert.equal(typeof r.completion, 'string');
    assert.ok(!r.completion.includes('\uE000'), 'no special tokens in the completion');
    assert.equal(r.commitsPerStep.length, m.nfe, policy);
    assert.equal(r.trace.length, m.committedPositions, policy);
    assert.equal(r.commitsPerStep.reduce((a, b) => a + b, 0), m.committedPositions, policy);
    assert.equal(m.tokens, r.tokenIds.length);
    assert.equal(m.lladaNfe, 24);
    assert.ok(Math.abs(m.stepsSavedVsLladaPct - 100 * (1 - m.nfe / 24)) < 1e-9);
    assert.ok(Math.abs(m.tokensPerStep - m.committedPositions / m.nfe) < 1e-9);
    if (r.stopReason === 'complete') assert.equal(m.committedPositions, 24, `${policy}: every canvas position decoded`);
    else assert.equal(r.stopReason, 'early-exit', policy);
    if (policy === 'llada') assert.equal(m.nfe, 24, 'llada: one token per step');
    else assert.ok(m.nfe <= 24, `${policy}: at most one step per token`);
    assert.ok(r.trace.every((t) => t.step >= 1 && t.step <= m.nfe && t.confidence >= 0 && t.confidence <= 1));
  }
});

test('model: step events report commits with rule and confidence, and a growing stable prefix', { skip }, async () => {
  const events: Array<{ step: number; n: number; masked: number }> = [];
  const r = await engine.complete(request({ policy: 'r2' }), {
    onStep: (e) => {
      assert.ok(e.commits.length > 0 && e.commits.every((c) => typeof c.rule === 'string' && c.confidence > 0));
      assert.equal(e.canvas.length, 24);
      events.push({ step: e.step, n: e.commits.length, masked: e.maskedRemaining });
    },
  });
  assert.deepEqual(events.map((e) => e.step), Array.from({ length: r.metrics.nfe }, (_, i) => i + 1));
  assert.deepEqual(events.map((e) => e.n), r.commitsPerStep);
  for (let i = 1; i < events.length; i++) assert.ok(events[i].masked < events[i - 1].masked);
});

test('model: measureBaselines gives the steps of the same request decoded under llada and fast-dllm', { skip }, async () => {
  const plain = await engine.complete(request({ policy: 'r2', measureBaselines: true }));
  assert.equal(plain.metrics.lladaNfe, 24, 'no early stop asked for: llada decodes every position');
  // As the editor asks (the answer's end stops the decode, the end guard on, one line): the baselines stop by the same rules.
  const editorLike: Partial<CompletionRequest> = {
    singleLine: true, options: { stopWhenAnswerFinal: true, endRule: 'behind-answer', minAnswerTokens: 1 },
  };
  for (const over of [{}, editorLike]) {
    const r = await engine.complete(request({ ...over, policy: 'r2', measureBaselines: true }));
    const fast = await engine.complete(request({ ...over, policy: 'fast-dllm' }));
    const llada = await engine.complete(request({ ...over, policy: 'llada' }));
    assert.equal(r.metrics.fastDllmNfe, fast.metrics.nfe, `fast-dllm baseline ${JSON.stringify(over)}`);
    assert.equal(r.metrics.lladaNfe, llada.metrics.nfe, `llada baseline ${JSON.stringify(over)}`);
    assert.ok(Math.abs(r.metrics.stepsSavedVsFastDllmPct! - 100 * (1 - r.metrics.nfe / fast.metrics.nfe)) < 1e-9);
  }
});

test('model: a dual-cache pass on unchanged tokens reproduces the full pass (post-RoPE K/V plumbing)', { skip }, async () => {
  const paths = modelPaths(MODEL_DIR);
  const config = readModelConfig(paths.config);
  const session = await ModelSession.create(paths.model, config, { executionProvider: 'cpu' });
  try {
    const ids = [config.bosId, 40, 41, 300, 500, 700, config.maskId, config.maskId, config.maskId, config.maskId, 900, 77, 13];
    const all = ids.map((_, i) => i);
    const empty = KvRows.empty(config.nLayers, config.nHeads, config.headDim);
    const full = await session.forward({ inputIds: ids, positions: all, past: empty, outputRows: all });
    const [s, e] = [5, 10];
    const outside = all.filter((p) => p < s || p >= e);
    const block = all.filter((p) => p >= s && p < e);
    const dual = await session.forward({
      inputIds: block.map((p) => ids[p]), positions: block, past: (full.present as KvRows).select(outside),
      outputRows: block.map((_, i) => i),
    });
    // Not bit-exact: the int8 graph quantizes activations per tensor (DynamicQuantizeLinear), so a shorter query
    // gets slightly different scales (int8 vs fp32 differs by up to ~0.02 in p1, models/train/parity.mjs). Wrong
    // K/V plumbing moves probabilities far more than that; the argmax agrees unless top-1/top-2 nearly tie.
    const tolerance = 0.05;
    block.forEach((p, i) => {
      const [a, b] = [dual.stats[i], full.stats[p]];
      assert.ok(Math.abs(a.p1 - b.p1) < tolerance, `position ${p}: p1 ${a.p1} vs ${b.p1}`);
      if (b.p1 - b.p2 > tolerance) assert.equal(a.tokenId, b.tokenId, `position ${p}`);
    });
  } finally {
    await session.release();
  }
});

// The caches are approximate once the canvas changes (Fast-dLLM), so how far a cached decode drifts is a property of
// the model; the exact K/V plumbing is the test above. The 2026-12-03 model agreed at 99% of positions.
test('model: prefix and dual caches give (nearly) the same tokens as no cache',
  skip ? { skip } : knownFailure('the models of 2026-12-04: fast-dllm\'s cached decodes agree with the uncached one at 67% (first), 85% (second), 87.5% (third) and 75.8% (the GPU model) of committed positions (a changed commit changes the rest of the decode)'),
  async () => {
  const prompts = [
    SAMPLE,
    { prefix: 'def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return ', suffix: '\n' },
    { prefix: 'const names = users.map((user) => ', suffix: ');\nconsole.log(names.join(", "));\n' },
  ];
  for (const policy of ['fast-dllm', 'r2', 'streaming'] as const) {
    let same = 0;
    let total = 0;
    for (const p of prompts) {
      const canvases = [];
      for (const cache of ['none', 'prefix', 'dual'] as const) {
        const r = await engine.complete(request({ ...p, policy, maxNewTokens: 40, options: { cache } }));
        canvases.push(r.trace.map((t) => `${t.index}:${t.text}`).sort());
      }
      for (const other of canvases.slice(1)) {
        const base = new Set(canvases[0]);
        same += other.filter((t) => base.has(t)).length;
        total += Math.max(other.length, canvases[0].length);
      }
    }
    const agreement = same / total;
    console.log(`  cache agreement (${policy}): ${(100 * agreement).toFixed(1)}% of committed positions`);
    assert.ok(agreement >= 0.95, `${policy}: cached decoding drifted too far (${agreement})`);
  }
});

test('model: a cancel takes effect before the next forward pass', { skip }, async () => {
  let steps = 0;
  const r = await engine.complete(request({ policy: 'llada' }), { onStep: () => { steps++; }, isCancelled: () => steps >= 2 });
  assert.equal(r.cancelled, true);
  assert.equal(r.stopReason, 'cancelled');
  assert.equal(r.metrics.nfe, 2);
});

test('model: single-line mode stops at the end of the line', { skip }, async () => {
  // The end guard (as the editor asks) keeps the answer from being empty, so the check has a line to look at.
  const r = await engine.complete(request({ policy: 'r2', singleLine: true, maxNewTokens: 32, options: { endRule: 'behind-answer', minAnswerTokens: 1 } }));
  assert.ok(r.completion.length > 0, 'an answer to check');
  assert.ok(!/\n/.test(r.completion), JSON.stringify(r.completion));
});

test('model: with the end guard no policy answers nothing after `return ` in clamp()', { skip }, async () => {
  for (const policy of POLICY_NAMES) {
    const r = await engine.complete(request({ policy, maxNewTokens: 32, options: { endRule: 'behind-answer', minAnswerTokens: 1, stopWhenAnswerFinal: true } }));
    assert.ok(r.completion.length > 0, `${policy}: empty answer`);
  }
});

test('model: an answer between two line starts is whole lines (ends with a line break)', { skip }, async () => {
  const cuts = [
    { prefix: 'import os\n\n\ndef list_files(root):\n    """Return the files under root."""\n    found = []\n', suffix: '    return found\n' },
    { prefix: 'def count_words(text):\n    """Count how often each word occurs."""\n    counts = {}\n',
      suffix: '        counts[word] = counts.get(word, 0) + 1\n    return counts\n' },
    { prefix: 'function mean(values) {\n  // Average of the numbers in values.\n  let total = 0;\n',
      suffix: '  return total / values.length;\n}\n' },
  ];
  const answers = [];
  for (const cut of cuts) {
    const options = { endRule: 'behind-answer' as const, minAnswerTokens: 1 }; // as the editor asks: never empty
    answers.push((await engine.complete(request({ ...cut, policy: 'r2', maxNewTokens: 32, options }))).completion);
  }
  for (const a of answers) assert.ok(a.trim() !== '' && a.endsWith('\n'), JSON.stringify(a));
});

test('model: text longer than the window is truncated around the cursor, keeping a share for the suffix', { skip }, async () => {
  const line = 'const value = compute(input, options); // keep going\n';
  const r = await engine.complete(request({ prefix: line.repeat(3000) + 'return ', suffix: '\n' + line.repeat(3000) }));
  const m = r.metrics;
  assert.ok(m.truncatedPrefixChars > 100_000 && m.truncatedSuffixChars > 100_000);
  assert.ok(m.prefixTokens + m.suffixTokens + 24 <= 512);
  assert.ok(m.suffixTokens >= Math.floor((512 - 24) * 0.25) - 1, `suffix share kept: ${m.suffixTokens}`);
  assert.ok(m.prefixTokens > m.suffixTokens);
});

test('model: special-token characters in user text are stripped, not decoded as specials', { skip }, async () => {
  const r = await engine.complete(request({ prefix: 'const s = "<\uE000mask><\uE000pad>";\nconst t = ', suffix: ';\n' }));
  assert.equal(typeof r.completion, 'string');
  assert.equal(r.metrics.truncatedPrefixChars, 0);
});

test('model: bad requests get clear error codes and the engine keeps working', { skip }, async () => {
  assert.equal(await errorCode(engine.complete(request({ policy: 'beam' as never }))), 'UNKNOWN_POLICY');
  assert.equal(await errorCode(engine.complete(request({ prefix: '', suffix: '' }))), 'BAD_INPUT');
  assert.equal(await errorCode(engine.complete(request({ maxNewTokens: 5000 }))), 'BAD_INPUT');
  assert.equal(await errorCode(engine.complete(request({ prefix: '' }))), 'OK');
  assert.equal(await errorCode(engine.complete(request({ suffix: '' }))), 'OK');
});

test('model: unknown execution provider is UNKNOWN_EP; unavailable ones fall back to CPU with a reason', { skip }, async () => {
  assert.equal(await errorCode(new Engine({ modelDir: MODEL_DIR, executionProvider: 'tpu' as never }).load()), 'UNKNOWN_EP');
  for (const ep of ['cuda', process.platform === 'win32' ? 'coreml' : 'dml'] as const) {
    const e = new Engine({ modelDir: MODEL_DIR, executionProvider: ep });
    await e.load();
    const s = e.status();
    assert.equal(s.executionProvider, 'cpu');
    assert.match(s.fallbackReason ?? '', ep === 'cuda' ? /CUDA|cuda/ : /only available on|not part of/);
    console.log(`  ${ep}: ${s.fallbackReason}`);
    await e.dispose();
  }
});

test('model: missing model files are MODEL_MISSING', { skip }, async () => {
  assert.equal(await errorCode(new Engine({ modelDir: '/nonexistent/dllm', executionProvider: 'cpu' }).load()), 'MODEL_MISSING');
  const dir = brokenModelDir({ 'model.onnx': null });
  const err = await new Engine({ modelDir: dir, executionProvider: 'cpu' }).load().catch((e: EngineError) => e);
  assert.equal((err as EngineError).code, 'MODEL_MISSING');
  assert.match((err as EngineError).message, /model\.onnx/);
});

test('model: corrupt model.onnx, config.json or tokenizer.json are MODEL_CORRUPT', { skip }, async () => {
  const corrupt: Array<Record<string, string | Buffer>> = [
    { 'model.onnx': Buffer.from('this is not an onnx model') },
    { 'config.json': '{ "vocab_size": ' },
    { 'config.json': JSON.stringify({ ...modelConfigJson(), n_layers: 3 }) },
    { 'tokenizer.json': '{"model": 42}' },
  ];
  for (const changes of corrupt) {
    const code = await errorCode(new Engine({ modelDir: brokenModelDir(changes), executionProvider: 'cpu' }).load());
    assert.equal(code, 'MODEL_CORRUPT', Object.keys(changes)[0]);
  }
});

test('model: tokenizer and model vocabularies that disagree are VOCAB_MISMATCH', { skip }, async () => {
  const dir = brokenModelDir({ 'config.json': JSON.stringify({ ...modelConfigJson(), vocab_size: 9000 }) });
  assert.equal(await errorCode(new Engine({ modelDir: dir, executionProvider: 'cpu' }).load()), 'VOCAB_MISMATCH');
});

test('model: a failed load is reported in status and retried by the next request', { skip }, async () => {
  const e = new Engine({ modelDir: '/nonexistent/dllm', executionProvider: 'cpu' });
  await e.load().catch(() => undefined);
  assert.equal(e.status().state, 'error');
  assert.equal(e.status().errorCode, 'MODEL_MISSING');
});
