// The bytes of a small ONNX model, written by hand in protobuf's wire format: the device K/V cache's row pick and
// append run as graphs on the model's own execution provider (deviceKv.ts), and the tests build tiny dLLM graphs
// with it. Only what those graphs need is written: nodes with int / ints attributes, initializers with raw data,
// typed inputs and outputs with symbolic or fixed dimensions, one opset of the default domain.

export type GraphDtype = 'float32' | 'float16' | 'int64';
export type Dim = number | string;

export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer and integer-list attributes (axis, perm, to, keepdims, ...). */
  attributes?: Record<string, number | number[]>;
}

export interface GraphValue {
  name: string;
  dtype: GraphDtype;
  dims: Dim[];
}

export interface GraphInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface GraphSpec {
  name: string;
  nodes: GraphNode[];
  inputs: GraphValue[];
  outputs: GraphValue[];
  initializers?: GraphInitializer[];
  /** Opset of the default domain (default 13). */
  opset?: number;
}

/** onnx.proto's TensorProto.DataType numbers. */
export const ELEMENT_TYPE: Record<GraphDtype, number> = { float32: 1, int64: 7, float16: 10 };
const IR_VERSION = 8;
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** A varint; negative numbers as their 64-bit two's complement, as protobuf writes int64. */
function varint(value: number): number[] {
  if (!Number.isSafeInteger(value)) throw new RangeError(`onnxGraph: ${value} is not an integer`);
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const intField = (field: number, value: number) => [...varint((field << 3) | WIRE_VARINT), ...varint(value)];
const bytesField = (field: number, data: ArrayLike<number>) => [...varint((field << 3) | WIRE_BYTES), ...varint(data.length), ...Array.from(data)];
const stringField = (field: number, text: string) => bytesField(field, new TextEncoder().encode(text));
const messageField = (field: number, parts: number[][]) => bytesField(field, parts.flat());

// Field numbers of onnx.proto: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto.
function valueInfo(field: number, v: GraphValue): number[] {
  const dims = v.dims.map((d) => messageField(1, [typeof d === 'number' ? intField(1, d) : stringField(2, d)]));
  const tensorType = messageField(1, [intField(1, ELEMENT_TYPE[v.dtype]), messageField(2, dims)]);
  return messageField(field, [stringField(1, v.name), messageField(2, [tensorType])]);
}

function attribute(name: string, value: number | number[]): number[] {
  if (Array.isArray(value)) return messageField(5, [stringField(1, name), ...value.map((v) => intField(8, v)), intField(20, ATTRIBUTE_INTS)]);
  return messageField(5, [stringField(1, name), intField(3, value), intField(20, ATTRIBUTE_INT)]);
}

function node(n: GraphNode): number[] {
  return messageField(1, [...n.inputs.map((i) => stringField(1, i)), ...n.outputs.map((o) => stringField(2, o)),
    stringField(4, n.op), ...Object.entries(n.attributes ?? {}).map(([name, value]) => attribute(name, value))]);
}

function initializer(t: GraphInitializer): number[] {
  const dtype = t.data instanceof Float32Array ? ELEMENT_TYPE.float32 : ELEMENT_TYPE.int64;
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return messageField(5, [...t.dims.map((d) => intField(1, d)), intField(2, dtype), stringField(8, t.name), bytesField(9, raw)]);
}

/** A serialized ModelProto of one graph. */
export function onnxModel(g: GraphSpec): Uint8Array {
  const graph = messageField(7, [...g.nodes.map(node), stringField(2, g.name), ...(g.initializers ?? []).map(initializer),
    ...g.inputs.map((v) => valueInfo(11, v)), ...g.outputs.map((v) => valueInfo(12, v))]);
  const opset = messageField(8, [stringField(1, ''), intField(2, g.opset ?? 13)]);
  return Uint8Array.from([...intField(1, IR_VERSION), ...graph, ...opset]);
}
