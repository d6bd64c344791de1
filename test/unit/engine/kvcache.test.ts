// Host K/V rows: what the decoders ask of every cache (pick, append, release), checked on hand-built rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvRows } from '../../../src/engine/kvcache';

/** 2 layers × 1 head × `rows` rows × 2 dims; a row's values encode (layer, row) so that picks can be read back. */
function rows(n: number, tag = 0, dtype: 'float32' | 'float16' = 'float32'): KvRows {
  const make = () => (dtype === 'float16' ? new Uint16Array(2 * n * 2) : new Float32Array(2 * n * 2));
  const keys = make();
  const values = make();
  for (let l = 0; l < 2; l++) for (let r = 0; r < n; r++) for (let d = 0; d < 2; d++) {
    keys[(l * n + r) * 2 + d] = 100 * tag + 10 * l + r;
    values[(l * n + r) * 2 + d] = 1000 + 100 * tag + 10 * l + r;
  }
  return new KvRows(2, 1, 2, n, keys, values);
}
const rowTags = (kv: KvRows, layer: number) => Array.from({ length: kv.length }, (_, r) => kv.keys[(layer * kv.length + r) * 2]);

test('pick: the rows asked for, in that order, in every layer, keys and values alike; a new cache', async () => {
  const kv = rows(5);
  const picked = (await kv.pick([3, 0, 1])) as KvRows;
  assert.notEqual(picked, kv);
  assert.deepEqual(rowTags(picked, 0), [3, 0, 1]);
  assert.deepEqual(rowTags(picked, 1), [13, 10, 11]);
  assert.equal(picked.values[0], 1003);
  assert.equal(kv.length, 5, 'the source is unchanged');
});

test('append: rows after rows per layer; an empty cache hands back the appended one itself', async () => {
  const a = rows(2, 1);
  const b = rows(3, 2);
  const joined = (await a.append(b)) as KvRows;
  assert.deepEqual(rowTags(joined, 0), [100, 101, 200, 201, 202]);
  assert.deepEqual(rowTags(joined, 1), [110, 111, 210, 211, 212]);
  const empty = KvRows.empty(2, 1, 2);
  assert.equal(await empty.append(b), b);
});

test('float16 rows stay raw bit patterns through pick and append', async () => {
  const a = rows(3, 0, 'float16');
  const picked = (await a.pick([2])) as KvRows;
  assert.ok(picked.keys instanceof Uint16Array);
  assert.equal(picked.dtype, 'float16');
  assert.deepEqual(rowTags((await picked.append(rows(1, 1, 'float16'))) as KvRows, 0), [2, 100]);
});

test('release does nothing on the host: rows stay readable', async () => {
  const kv = rows(2);
  kv.release();
  assert.deepEqual(rowTags((await kv.pick([1])) as KvRows, 0), [1]);
});
