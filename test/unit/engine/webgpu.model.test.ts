// GPU path: the same request on the WebGPU provider gives the same tokens as on the CPU, with the K/V kept on the
// device (picked and appended there, never copied through JavaScript) for every cache mode, Fill All and a
// block-causal decode.
// Without a GPU, `npm test` runs it on Mesa 25's lavapipe, a software Vulkan device Dawn accepts (.ci/lavapipe.mjs
// installs it into the cache; about 40× slower than the CPU provider; Debian 12's own Mesa 22 is rejected by Dawn).
// By hand: node .ci/lavapipe.mjs prints the VK_ICD_FILENAMES and LD_LIBRARY_PATH to run this file with.
// Skipped, with the reason printed, where onnxruntime finds no WebGPU adapter.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type DecodeModel, decodeBlockCausal } from '../../../src/engine/decoder';
import { defaultDecodeOptions, DEFAULT_THRESHOLDS } from '../../../src/engine/defaults';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
import { KvRows } from '../../../src/engine/kvcache';
import { modelPaths, readModelConfig } from '../../../src/engine/modelConfig';
import { policySpec } from '../../../src/engine/policies';
import type { CacheMode, PolicyName } from '../../../src/engine/protocol';
import { type ForwardRequest, ModelSession, type PassTiming } from '../../../src/engine/session';
import { REPO_ROOT } from '../../support/repoRoot';
import { type TinyModelOptions, writeTinyModelDir } from '../../support/tinyDllm';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

// Whole decodes of the bundled int8 model on both providers, compared by the next test. The int8 graph quantizes its
// activations at run time and the WebGPU kernels round them differently, so a near tie can flip one commit and the
// rest of the decode follows it: token identity of whole decodes is a property of the model, not of the device K/V,
// whose exactness the tiny fp32/fp16 graphs below check. The first model shipped on 2026-12-04 flipped one (r2/prefix);
// the one shipped after it decodes identically on both.
const decodeComparisons: { what: string; cpu: string[]; gpu: string[] }[] = [];

test('webgpu: one pass agrees with the CPU provider; every cache mode and Fill All decode with K/V on the device', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 600_000 }, async (t) => {
  const gpu = new Engine({ modelDir: MODEL_DIR, executionProvider: 'webgpu' }, { strictProvider: true });
  try {
    await gpu.load();
  } catch (err) {
    if (err instanceof EngineError && err.code === 'UNKNOWN_EP') {
      console.log(`  webgpu parity skipped: ${err.message}`);
      t.skip(err.message);
      return;
    }
    throw err;
  }
  const cpu = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
  try {
    assert.equal(gpu.status().executionProvider, 'webgpu');
    // One forward pass, position by position.
    const paths = modelPaths(MODEL_DIR);
    const config = readModelConfig(paths.config);
    const [gpuSession, cpuSession] = await Promise.all(['webgpu', 'cpu'].map((ep) =>
      ModelSession.create(paths.model, config, { executionProvider: ep as 'cpu', strictProvider: true })));
    const ids = [config.bosId, ...Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 3000)), ...Array(16).fill(config.maskId), 400, 401];
    const forward = { inputIds: ids, positions: ids.map((_, i) => i), past: KvRows.empty(config.nLayers, config.nHeads, config.headDim), outputRows: ids.map((_, i) => i) };
    const [g, c] = [await gpuSession.forward(forward), await cpuSession.forward(forward)];
    // The agreement: an int8 graph quantizes its activations at run time, and the WebGPU kernels round them
    // differently from the CPU's (measured on lavapipe: max |Δp1| 0.029, top-1 identical on all 59 rows); fp32
    // graphs agree to 1e-2.
    const tolerance = config.precision === 'fp32' ? 1e-2 : 5e-2;
    c.stats.forEach((s, i) => {
      assert.ok(Math.abs(s.p1 - g.stats[i].p1) < tolerance, `row ${i}: p1 ${g.stats[i].p1} vs ${s.p1}`);
      if (s.p1 - s.p2 > tolerance) assert.equal(g.stats[i].tokenId, s.tokenId, `row ${i}`);
    });
    await Promise.all([gpuSession.release(), cpuSession.release()]);
    const { session: engineSession } = await gpu.load();
    assert.equal(engineSession.kvPlacement, 'device', `K/V on the device (${engineSession.kvHostReason ?? ''})`);
    const runs: [PolicyName, CacheMode][] = [['fast-dllm', 'dual'], ['r2', 'dual'], ['r2', 'prefix'], ['r2', 'none']];
    for (const [policy, cache] of runs) {
      const request = { id: `${policy}-${cache}`, ...SAMPLE, maxNewTokens: 16, policy, options: { cache } } as const;
      const [a, b] = [await cpu.complete(request), await gpu.complete(request)];
      const positions = (r: typeof a) => r.trace.map((x) => `${x.index}:${x.text}`).sort();
      decodeComparisons.push({ what: `${policy}/${cache}`, cpu: positions(a), gpu: positions(b) });
      assert.equal(b.metrics.cache, cache);
      assert.equal(engineSession.liveDeviceCaches, 0, `${policy}/${cache}: device K/V left after the request`);
      console.log(`  webgpu ${policy}/${cache}: ${b.metrics.nfe} passes, ${b.metrics.ms.toFixed(0)} ms (cpu ${a.metrics.ms.toFixed(0)} ms)`);
    }
    const fill = { id: 'fill', prefix: '', suffix: '', maxNewTokens: 48, policy: 'r2' as const,
      fill: { pieces: ['def area(w, h):\n    ', '\n\ndef perimeter(w, h):\n    ', '\n'], holeTokens: [8, 8] } };
    const [fa, fb] = [await cpu.complete(fill), await gpu.complete(fill)];
    decodeComparisons.push({ what: 'Fill All', cpu: fa.fill?.holes.map((h) => h.text) ?? [], gpu: fb.fill?.holes.map((h) => h.text) ?? [] });
    assert.equal(engineSession.liveDeviceCaches, 0, 'Fill All: device K/V left after the request');
  } finally {
    await Promise.all([gpu.dispose(), cpu.dispose()]);
  }
});

test('webgpu: whole decodes of the bundled model give the same tokens as on the CPU provider',
  { skip: HAVE_MODEL ? false : NO_MODEL_REASON },
  (t) => {
    if (decodeComparisons.length === 0) { t.skip('the decodes above did not run'); return; }
    for (const c of decodeComparisons) assert.deepEqual(c.gpu, c.cpu, `${c.what}: webgpu tokens differ from cpu`);
  });

/** A device session and a CPU session of the bundled model, or the reason there is no WebGPU adapter. */
async function sessionPair(): Promise<{ gpu: ModelSession; cpu: ModelSession } | string> {
  const paths = modelPaths(MODEL_DIR);
  const config = readModelConfig(paths.config);
  try {
    const gpu = await ModelSession.create(paths.model, config, { executionProvider: 'webgpu', strictProvider: true });
    return { gpu, cpu: await ModelSession.create(paths.model, config, { executionProvider: 'cpu' }) };
  } catch (err) {
    if (err instanceof EngineError && err.code === 'UNKNOWN_EP') return err.message;
    throw err;
  }
}

test('webgpu, K/V on the device: a cached pass moves only ids, positions and the block\'s statistics', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 600_000 }, async (t) => {
  const pair = await sessionPair();
  if (typeof pair === 'string') { t.skip(pair); return; }
  const { gpu, cpu } = pair;
  try {
    const config = readModelConfig(modelPaths(MODEL_DIR).config);
    const n = 120;
    const ids = [config.bosId, ...Array.from({ length: n - 1 }, (_, i) => 100 + ((i * 53) % 3000))];
    const all = ids.map((_, i) => i);
    const [s, e] = [60, 92];
    const block = all.filter((p) => p >= s && p < e);
    const outside = all.filter((p) => p < s || p >= e);
    const empty = KvRows.empty(config.nLayers, config.nKvHeads, config.headDim);
    const bytes: PassTiming[] = [];
    const results = [];
    for (const session of [gpu, cpu]) {
      const full = await session.forward({ inputIds: ids, positions: all, past: empty, outputRows: [0], keepPresent: true });
      const past = await full.present.pick(outside);
      full.present.release();
      const cached: ForwardRequest = { inputIds: block.map((p) => ids[p]), positions: block, past, outputRows: block.map((_, i) => i) };
      session.onPass = (timing) => bytes.push(timing);
      results.push(await session.forward(cached));
      session.onPass = undefined;
      past.release();
    }
    assert.equal(gpu.kvPlacement, 'device');
    assert.equal(gpu.liveDeviceCaches, 0, 'every device cache released');
    const [onDevice, onHost] = bytes;
    const statistics = block.length * config.topK * (8 + 4) + block.length * 4; // top_ids, top_probs, neg_entropy
    assert.equal(onDevice.hostBytesIn, 8 * (2 * block.length + block.length), 'in: input_ids, position_ids, output_positions');
    assert.equal(onDevice.hostBytesOut, statistics, 'out: the statistics only');
    const kvRow = 2 * config.nLayers * config.nKvHeads * config.headDim * 4;
    assert.equal(onHost.hostBytesIn - onDevice.hostBytesIn, kvRow * outside.length, 'the CPU session copies the past');
    console.log(`  cached pass, ${block.length} fed + ${outside.length} cached: device ${onDevice.hostBytesIn} B in / ${onDevice.hostBytesOut} B out; ` +
      `host K/V ${onHost.hostBytesIn} B in / ${onHost.hostBytesOut} B out`);
    const [g, c] = results;
    c.stats.forEach((st, i) => { if (st.p1 - st.p2 > 5e-2) assert.equal(g.stats[i].tokenId, st.tokenId, `row ${i}`); });
  } finally {
    await Promise.all([gpu.release(), cpu.release()]);
  }
});

test('webgpu, K/V on the device: a block-causal decode appends each finished block there', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 600_000 }, async (t) => {
  const pair = await sessionPair();
  if (typeof pair === 'string') { t.skip(pair); return; }
  const { gpu, cpu } = pair;
  try {
    const config = readModelConfig(modelPaths(MODEL_DIR).config);
    // The bundled graph attends to whatever past it is given, so the block-causal schedule (context chunks
    // prefilled, each finished block appended) runs on it as on SDAR; only the mechanics are compared here.
    const model = (session: ModelSession): DecodeModel => ({
      forward: session.forward, maskId: config.maskId, endId: config.padId, logitShift: 0, kvCache: true,
      attention: 'block-causal', blockSize: 8, nLayers: config.nLayers, nHeads: config.nKvHeads, headDim: config.headDim,
    });
    const prompt = Array.from({ length: 37 }, (_, i) => 100 + ((i * 71) % 3000));
    const outcomes = [];
    for (const session of [gpu, cpu]) {
      const sequence = Int32Array.from([config.bosId, ...prompt, ...Array(24).fill(config.maskId), 500, 501, 502]);
      const options = defaultDecodeOptions('r2');
      outcomes.push(await decodeBlockCausal(model(session), {
        sequence, canvasStart: prompt.length + 1, canvasEnd: prompt.length + 25, hasBos: true,
        spec: policySpec('r2', options), thresholds: DEFAULT_THRESHOLDS, options,
      }));
    }
    const [g, c] = outcomes;
    assert.ok(g.contextPasses >= 4, `context chunks appended: ${g.contextPasses}`);
    assert.deepEqual(Array.from(g.canvas), Array.from(c.canvas), 'block-causal: webgpu tokens differ from cpu');
    assert.equal(gpu.liveDeviceCaches, 0, 'the decoder releases its cache');
  } finally {
    await Promise.all([gpu.release(), cpu.release()]);
  }
});

test('webgpu, K/V on the device: tiny open-dLLM graphs with float16 K/V (bidirectional with GQA, block-causal) decode as on the CPU', { timeout: 600_000 }, async (t) => {
  const tokenizer = path.join(REPO_ROOT, 'models', 'dllm-code-small', 'tokenizer.json');
  const variants: [string, TinyModelOptions][] = [
    ['bidirectional, 2 K/V heads, float16 K/V', { kvDtype: 'float16', nKvHeads: 2 }],
    ['block-causal, float16 K/V', { attention: 'block-causal', kvDtype: 'float16' }],
  ];
  for (const [name, options] of variants) {
    const { dir } = writeTinyModelDir(tokenizer, options);
    const gpu = new Engine({ modelDir: dir, executionProvider: 'webgpu' }, { strictProvider: true });
    const cpu = new Engine({ modelDir: dir, executionProvider: 'cpu' });
    try {
      let session: ModelSession;
      try {
        ({ session } = await gpu.load());
      } catch (err) {
        if (err instanceof EngineError && err.code === 'UNKNOWN_EP') { t.skip(err.message); return; }
        throw err;
      }
      assert.equal(session.kvPlacement, 'device', name);
      assert.equal(session.kvDtype, 'float16', name);
      for (const policy of ['r2', 'llada'] as const) {
        const request = { id: `${name}-${policy}`, ...SAMPLE, maxNewTokens: 16, policy };
        const [a, b] = [await cpu.complete(request), await gpu.complete(request)];
        assert.deepEqual(b.tokenIds, a.tokenIds, `${name} / ${policy}: webgpu tokens differ from cpu`);
        assert.equal(session.liveDeviceCaches, 0, `${name} / ${policy}: device K/V left after the request`);
        console.log(`  tiny ${name} / ${policy}: ${b.metrics.nfe} passes (+${b.metrics.contextPasses ?? 0} context), same ${b.tokenIds.length} tokens`);
      }
    } finally {
      await Promise.all([gpu.dispose(), cpu.dispose()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
