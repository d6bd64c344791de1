// GPU path: the same request on the WebGPU provider gives the same tokens as on the CPU.
// Skipped, with the reason printed, where onnxruntime finds no WebGPU adapter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../../../src/engine/engine';
import { EngineError } from '../../../src/engine/errors';
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
