// GPU path: the same request on the WebGPU provider gives the same tokens as on the CPU.
// Without a GPU, `npm test` runs it on Mesa 25's lavapipe, a software Vulkan device Dawn accepts (.ci/lavapipe.mjs
// installs it into the cache; about 40× slower than the CPU provider; Debian 12's own Mesa 22 is rejected by Dawn).
// By hand: node .ci/lavapipe.mjs prints the VK_ICD_FILENAMES and LD_LIBRARY_PATH to run this file with.
// Skipped, with the reason printed, where onnxruntime finds no WebGPU adapter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
import { KvRows } from '../../../src/engine/kvcache';
import { modelPaths, readModelConfig } from '../../../src/engine/modelConfig';
import { ModelSession } from '../../../src/engine/session';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

test('webgpu: same tokens as the CPU provider', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 600_000 }, async (t) => {
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
    for (const policy of ['fast-dllm', 'r2'] as const) {
      const request = { id: policy, ...SAMPLE, maxNewTokens: 16, policy };
      const [a, b] = [await cpu.complete(request), await gpu.complete(request)];
      const positions = (r: typeof a) => r.trace.map((x) => `${x.index}:${x.text}`).sort();
      assert.deepEqual(positions(b), positions(a), `${policy}: webgpu tokens differ from cpu`);
      console.log(`  webgpu ${policy}: ${b.metrics.nfe} passes, ${b.metrics.ms.toFixed(0)} ms (cpu ${a.metrics.ms.toFixed(0)} ms)`);
    }
  } finally {
    await Promise.all([gpu.dispose(), cpu.dispose()]);
  }
});
