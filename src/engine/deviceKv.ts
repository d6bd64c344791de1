// K/V kept on the execution provider's device. With WebGPU, onnxruntime-node returns present_keys / present_values
// as device tensors (session option preferredOutputLocation: 'gpu-buffer') and takes them back as past_keys /
// past_values without a copy. Picking rows (the cache of a block) and appending rows (a block-causal model's finished
// block) run as two tiny graphs, Gather and Concat on the row axis, on the same provider, so no K/V row goes through
// JavaScript. What crosses the bus per cached pass: the fed ids and positions and the block's statistics; once per
// block, the row indices of the pick (8 bytes a row).
import * as ort from 'onnxruntime-node';
import { type KvCache, type KvDtype, KvRows } from './kvcache';
import { type GraphValue, onnxModel } from './onnxGraph';

/** Providers whose tensors onnxruntime-node can keep on the device ('gpu-buffer'). */
export const DEVICE_KV_PROVIDERS: readonly string[] = ['webgpu'];
export const DEVICE_LOCATION = 'gpu-buffer';
const ROW_AXIS = 3; // [n_layers, batch, n_kv_heads, rows, head_dim]

const kvValue = (name: string, dtype: KvDtype, rows: string): GraphValue =>
  ({ name, dtype, dims: ['layers', 'batch', 'heads', rows, 'head_dim'] });

function gatherGraph(dtype: KvDtype): Uint8Array {
  return onnxModel({
    name: 'kv_pick',
    nodes: [
      { op: 'Gather', inputs: ['keys', 'rows'], outputs: ['picked_keys'], attributes: { axis: ROW_AXIS } },
      { op: 'Gather', inputs: ['values', 'rows'], outputs: ['picked_values'], attributes: { axis: ROW_AXIS } },
    ],
    inputs: [kvValue('keys', dtype, 'n'), kvValue('values', dtype, 'n'), { name: 'rows', dtype: 'int64', dims: ['m'] }],
    outputs: [kvValue('picked_keys', dtype, 'm'), kvValue('picked_values', dtype, 'm')],
  });
}

function concatGraph(dtype: KvDtype): Uint8Array {
  return onnxModel({
    name: 'kv_append',
    nodes: [
      { op: 'Concat', inputs: ['keys', 'more_keys'], outputs: ['joined_keys'], attributes: { axis: ROW_AXIS } },
      { op: 'Concat', inputs: ['values', 'more_values'], outputs: ['joined_values'], attributes: { axis: ROW_AXIS } },
    ],
    inputs: [kvValue('keys', dtype, 'a'), kvValue('values', dtype, 'a'), kvValue('more_keys', dtype, 'b'), kvValue('more_values', dtype, 'b')],
    outputs: [kvValue('joined_keys', dtype, 'c'), kvValue('joined_values', dtype, 'c')],
  });
}

/** The pick and append graphs of one K/V element type on one provider, and the device caches made with them. */
export class DeviceKvOps {
  private readonly live = new Set<DeviceKv>();

  private constructor(
    private readonly gather: ort.InferenceSession,
    private readonly concat: ort.InferenceSession,
    readonly dtype: KvDtype,
  ) {}

  static async create(executionProvider: string, dtype: KvDtype): Promise<DeviceKvOps> {
    const options: ort.InferenceSession.SessionOptions = { executionProviders: [executionProvider], preferredOutputLocation: DEVICE_LOCATION, logSeverityLevel: 3 };
    const gather = await ort.InferenceSession.create(gatherGraph(dtype), options);
    const concat = await ort.InferenceSession.create(concatGraph(dtype), options).catch(async (err) => {
      await gather.release();
      throw err;
    });
    return new DeviceKvOps(gather, concat, dtype);
  }

  /** Device caches not yet released. */
  get liveCaches(): number {
    return this.live.size;
  }

  wrap(keys: ort.Tensor, values: ort.Tensor): DeviceKv {
    const kv = new DeviceKv(this, keys, values);
    this.live.add(kv);
    return kv;
  }

  async pick(kv: DeviceKv, rows: readonly number[]): Promise<DeviceKv> {
    const out = await this.gather.run({
      keys: kv.keys, values: kv.values, rows: new ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [rows.length]),
    });
    return this.wrap(out.picked_keys, out.picked_values);
  }

  async append(kv: DeviceKv, more: DeviceKv): Promise<DeviceKv> {
    const out = await this.concat.run({ keys: kv.keys, values: kv.values, more_keys: more.keys, more_values: more.values });
    return this.wrap(out.joined_keys, out.joined_values);
  }

  forget(kv: DeviceKv): void {
    this.live.delete(kv);
  }

  /** Frees every device cache still held (after a request, whatever the decoder kept). */
  releaseAll(): void {
    for (const kv of [...this.live]) kv.release();
  }

  async dispose(): Promise<void> {
    this.releaseAll();
    await Promise.all([this.gather.release(), this.concat.release()]);
  }
}

/** K/V rows held on the device as two tensors shaped [n_layers, 1, n_kv_heads, rows, head_dim]. */
export class DeviceKv implements KvCache {
  private released = false;

  constructor(private readonly ops: DeviceKvOps, readonly keys: ort.Tensor, readonly values: ort.Tensor) {}

  get length(): number {
    return this.keys.dims[ROW_AXIS];
  }

  get dtype(): KvDtype {
    return this.ops.dtype;
  }

  /** Throws when the tensors were released (onnxruntime would only say "Tensor.location is not supported"). */
  assertLive(): void {
    if (this.released) throw new Error('DeviceKv: this cache was released and cannot be fed again');
  }

  pick(rows: readonly number[]): Promise<KvCache> {
    this.assertLive();
    if (rows.length === 0) { // no zero-sized device buffers: an empty past is fed from the host, as on a first pass
      const [layers, , heads, , headDim] = this.keys.dims;
      return Promise.resolve(KvRows.empty(layers, heads, headDim, this.dtype));
    }
    return this.ops.pick(this, rows);
  }

  append(more: KvCache): Promise<KvCache> {
    this.assertLive();
    if (more.length === 0) return Promise.resolve(this);
    if (!(more instanceof DeviceKv)) throw new TypeError('DeviceKv.append: device rows cannot take host rows');
    more.assertLive();
    return this.ops.append(this, more);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.keys.dispose();
    this.values.dispose();
    this.ops.forget(this);
  }
}
