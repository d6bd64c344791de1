// `auto`: large models go to a hardware GPU, the bundled model and machines without one stay on the CPU.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AUTO_GPU_MIN_MODEL_BYTES, chooseProviders, modelBytesOf } from '../../../src/engine/session';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON } from './modelFixture';

const large = { modelBytes: AUTO_GPU_MIN_MODEL_BYTES, hardwareGpu: true };

test('auto: a small model runs on the CPU even with a GPU', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    assert.deepEqual(chooseProviders('auto', platform, { modelBytes: AUTO_GPU_MIN_MODEL_BYTES - 1, hardwareGpu: true }).candidates, ['cpu']);
  }
});

test('auto: a large model without a hardware GPU (software Vulkan only) runs on the CPU', () => {
  assert.deepEqual(chooseProviders('auto', 'linux', { ...large, hardwareGpu: false }).candidates, ['cpu']);
});

test('auto: a large model with a GPU tries the platform GPU provider first, then the CPU', () => {
  // This onnxruntime-node build has no CUDA (the install script that fetches it is skipped): WebGPU on Linux.
  assert.deepEqual(chooseProviders('auto', 'linux', large).candidates, ['webgpu', 'cpu']);
  assert.deepEqual(chooseProviders('auto', 'win32', large).candidates.at(-1), 'cpu');
  assert.ok(chooseProviders('auto', 'win32', large).candidates.every((ep) => ep === 'dml' || ep === 'cpu'));
});

test('an explicit provider is what is tried, whatever the model size', () => {
  assert.deepEqual(chooseProviders('cpu', 'linux', large).candidates, ['cpu']);
  assert.deepEqual(chooseProviders('webgpu', 'linux').candidates, ['webgpu', 'cpu']);
});

test('modelBytesOf counts the graph and its external weights, not other files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-bytes-'));
  try {
    fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(100));
    fs.writeFileSync(path.join(dir, 'model.onnx.data'), Buffer.alloc(1000));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), Buffer.alloc(5000));
    assert.equal(modelBytesOf(path.join(dir, 'model.onnx')), 1100);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled model is below the GPU threshold (auto keeps it on the CPU)', { skip: HAVE_MODEL ? false : NO_MODEL_REASON }, () => {
  assert.ok(modelBytesOf(path.join(MODEL_DIR, 'model.onnx')) < AUTO_GPU_MIN_MODEL_BYTES);
});
