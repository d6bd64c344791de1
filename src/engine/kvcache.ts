// Host-side key/value cache rows. The graph's keys are post-RoPE, so rows can be kept, dropped and reordered freely:
// a cache is just the rows of the positions that are not in the current query. Rows are float32, or float16 bit
// patterns (Uint16Array) when the graph declares float16 K/V; they are only copied here, never converted.

export type KvData = Float32Array | Uint16Array;
export type KvDtype = 'float32' | 'float16';

/**
 * Cached K/V rows wherever they live: host arrays (KvRows) or tensors kept on the execution provider's device
 * (DeviceKv, deviceKv.ts). The decoders only pick rows, append rows and release what they no longer use.
 */
export interface KvCache {
  readonly length: number;
  readonly dtype: KvDtype;
  /** A new cache of the given rows (indices into this.length), in that order. */
  pick(rows: readonly number[]): Promise<KvCache>;
  /** A new cache of these rows followed by `more`'s (`more` itself when this one is empty). */
  append(more: KvCache): Promise<KvCache>;
  /** Frees the device memory behind it (nothing on the host); it must not be used after. */
  release(): void;
}

function alloc(like: KvData, n: number): KvData {
  return like instanceof Uint16Array ? new Uint16Array(n) : new Float32Array(n);
}

/** K/V rows of some canvas positions, laid out like the graph's tensors: [n_layers, 1, n_kv_heads, length, head_dim]. */
export class KvRows implements KvCache {
  constructor(
    readonly layers: number,
    readonly heads: number,
    readonly headDim: number,
    readonly length: number,
    readonly keys: KvData,
    readonly values: KvData,
  ) {
    const expected = layers * heads * length * headDim;
    if (keys.length !== expected || values.length !== expected) {
      throw new RangeError(`KvRows: expected ${expected} floats, got keys ${keys.length}, values ${values.length}`);
    }
  }

  static empty(layers: number, heads: number, headDim: number, dtype: KvDtype = 'float32'): KvRows {
    const make = () => (dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0));
    return new KvRows(layers, heads, headDim, 0, make(), make());
  }

  get dtype(): KvDtype {
    return this.keys instanceof Uint16Array ? 'float16' : 'float32';
  }

  get dims(): [number, number, number, number, number] {
    return [this.layers, 1, this.heads, this.length, this.headDim];
  }

  pick(rows: readonly number[]): Promise<KvCache> {
    return Promise.resolve(this.select(rows));
  }

  append(more: KvCache): Promise<KvCache> {
    if (this.length === 0) return Promise.resolve(more);
    if (!(more instanceof KvRows)) throw new TypeError('KvRows.append: host rows cannot take device rows');
    return Promise.resolve(KvRows.concat([this, more]));
  }

  release(): void {}

  /** The given rows (indices into this.length), in that order. Consecutive runs are copied in one go. */
  select(rows: readonly number[]): KvRows {
    const { layers, heads, headDim: d, length } = this;
    const n = rows.length;
    const keys = alloc(this.keys, layers * heads * n * d);
    const values = alloc(this.keys, keys.length);
    for (let lh = 0; lh < layers * heads; lh++) {
      const src = lh * length * d;
      const dst = lh * n * d;
      let r = 0;
      while (r < n) {
        let run = 1;
        while (r + run < n && rows[r + run] === rows[r] + run) run++;
        const from = src + rows[r] * d;
        keys.set(this.keys.subarray(from, from + run * d), dst + r * d);
        values.set(this.values.subarray(from, from + run * d), dst + r * d);
        r += run;
      }
    }
    return new KvRows(layers, heads, d, n, keys, values);
  }

  /** Rows of `parts` one after another. */
  static concat(parts: readonly KvRows[]): KvRows {
    const [first] = parts;
    const { layers, heads, headDim: d } = first;
    const n = parts.reduce((a, p) => a + p.length, 0);
    const keys = alloc(first.keys, layers * heads * n * d);
    const values = alloc(first.keys, keys.length);
    for (let lh = 0; lh < layers * heads; lh++) {
      let offset = lh * n * d;
      for (const p of parts) {
        const from = lh * p.length * d;
        keys.set(p.keys.subarray(from, from + p.length * d), offset);
        values.set(p.values.subarray(from, from + p.length * d), offset);
        offset += p.length * d;
      }
    }
    return new KvRows(layers, heads, d, n, keys, values);
  }
}
