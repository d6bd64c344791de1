import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { addModel } from '../support/tinyOnnx';

test('onnxruntime-node loads and lists the CPU backend', () => {
  const backends = ort.listSupportedBackends().map((b: { name: string }) => b.name);
  assert.ok(backends.includes('cpu'), `backends: ${backends.join(', ')}`);
});

test('onnxruntime-node runs a real inference (hand-built Add model)', async () => {
  const session = await ort.InferenceSession.create(addModel(3));
  const a = new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]);
  const b = new ort.Tensor('float32', Float32Array.from([10, 20, 30]), [3]);
  const { c } = await session.run({ a, b });
  assert.deepEqual([...(c.data as Float32Array)], [11, 22, 33]);
  await session.release();
});
