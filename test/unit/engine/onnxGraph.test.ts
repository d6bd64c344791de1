// The hand-written ONNX graphs load in onnxruntime and compute what the device K/V cache relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { onnxModel } from '../../../src/engine/onnxGraph';

const kv = (name: string, rows: string) => ({ name, dtype: 'float32' as const, dims: ['layers', 'batch', 'heads', rows, 'head_dim'] });

/** [2 layers, 1, 2 heads, rows, 3]: element = 1000·layer + 100·head + 10·row + d. */
function rowsTensor(rows: number, base = 0): ort.Tensor {
  const data = new Float32Array(2 * 2 * rows * 3);
  let i = 0;
  for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) for (let r = 0; r < rows; r++) for (let d = 0; d < 3; d++) data[i++] = base + 1000 * l + 100 * h + 10 * r + d;
  return new ort.Tensor('float32', data, [2, 1, 2, rows, 3]);
}

/** Row indices along axis 3, read back from the element values. */
function rowsOf(t: ort.Tensor, base = 0): number[] {
  const data = t.data as Float32Array;
  const rows = t.dims[3];
  return Array.from({ length: rows }, (_, r) => Math.round(((data[r * 3] - base) % 100) / 10));
}

test('onnxModel: a Gather on the row axis picks rows in the order asked, in every layer and head', async () => {
  const bytes = onnxModel({ name: 'pick', nodes: [{ op: 'Gather', inputs: ['keys', 'rows'], outputs: ['picked'], attributes: { axis: 3 } }],
    inputs: [kv('keys', 'n'), { name: 'rows', dtype: 'int64', dims: ['m'] }], outputs: [kv('picked', 'm')] });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const out = await session.run({ keys: rowsTensor(6), rows: new ort.Tensor('int64', BigInt64Array.from([4n, 0n, 5n]), [3]) });
    assert.deepEqual(out.picked.dims, [2, 1, 2, 3, 3]);
    const data = out.picked.data as Float32Array;
    assert.equal(data[0], 40); // layer 0, head 0, row 4, d 0
    assert.equal(data[data.length - 1], 1000 + 100 + 50 + 2); // layer 1, head 1, row 5, d 2
    assert.deepEqual(rowsOf(out.picked), [4, 0, 5]);
  } finally {
    await session.release();
  }
});

test('onnxModel: a Concat on the row axis (given as −2) appends rows after rows', async () => {
  const bytes = onnxModel({ name: 'append', nodes: [{ op: 'Concat', inputs: ['a', 'b'], outputs: ['joined'], attributes: { axis: -2 } }],
    inputs: [kv('a', 'x'), kv('b', 'y')], outputs: [kv('joined', 'z')] });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const out = await session.run({ a: rowsTensor(2), b: rowsTensor(3) });
    assert.deepEqual(out.joined.dims, [2, 1, 2, 5, 3]);
    assert.deepEqual(rowsOf(out.joined), [0, 1, 0, 1, 2]);
    assert.equal((out.joined.data as Float32Array)[5 * 3], 100, 'head 1 starts after all 5 rows of head 0');
  } finally {
    await session.release();
  }
});

test('onnxModel: float16 inputs and a fixed dimension are declared as given (a wrong feed is refused)', async () => {
  const bytes = onnxModel({ name: 'f16', nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    inputs: [{ name: 'x', dtype: 'float16', dims: [2, 'n'] }], outputs: [{ name: 'y', dtype: 'float16', dims: [2, 'n'] }] });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    assert.deepEqual(session.inputMetadata.map((m) => m.isTensor && m.type), ['float16']);
    await assert.rejects(session.run({ x: new ort.Tensor('float32', new Float32Array(4), [2, 2]) }), /type|float/i);
    await assert.rejects(session.run({ x: new ort.Tensor('float16', new Uint16Array(6), [3, 2]) }), /dim|shape|index/i);
  } finally {
    await session.release();
  }
});

test('onnxModel: initializers and integer-list attributes (Transpose perm) are written as given', async () => {
  const bytes = onnxModel({
    name: 'init', opset: 17,
    nodes: [{ op: 'Add', inputs: ['x', 'offset'], outputs: ['sum'] }, { op: 'Transpose', inputs: ['sum'], outputs: ['y'], attributes: { perm: [1, 0] } }],
    initializers: [{ name: 'offset', dims: [2, 3], data: Float32Array.from([0, 1, 2, 10, 11, 12]) }],
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }], outputs: [{ name: 'y', dtype: 'float32', dims: [3, 2] }],
  });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(6).fill(100), [2, 3]) });
    assert.deepEqual(out.y.dims, [3, 2]);
    assert.deepEqual(Array.from(out.y.data as Float32Array), [100, 110, 101, 111, 102, 112]);
  } finally {
    await session.release();
  }
});

test('onnxModel: a fractional integer is refused', () => {
  assert.throws(() => onnxModel({ name: 'bad', nodes: [], inputs: [{ name: 'x', dtype: 'float32', dims: [1.5] }], outputs: [] }), RangeError);
});
