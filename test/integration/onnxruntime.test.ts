import assert from 'node:assert/strict';
import { addModel } from '../support/tinyOnnx';

suite('onnxruntime-node in the extension host', () => {
  test('loads and lists its backends', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node');
    const backends = ort.listSupportedBackends();
    console.log(`onnxruntime-node backends: ${JSON.stringify(backends)}`);
    assert.ok(backends.some((b: { name: string }) => b.name === 'cpu'));
  });

  test('runs a real inference', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node');
    const session = await ort.InferenceSession.create(addModel(3));
    const { c } = await session.run({
      a: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]),
      b: new ort.Tensor('float32', Float32Array.from([10, 20, 30]), [3]),
    });
    assert.deepEqual([...c.data], [11, 22, 33]);
  });
});
