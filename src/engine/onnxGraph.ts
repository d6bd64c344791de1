// The bytes of a tiny ONNX model (protobuf wire format, written by hand): the device K/V cache's row gather and
// concatenation run as graphs on the model's own execution provider. Only what those graphs need is written: nodes
// with int attributes, typed inputs and outputs with symbolic or fixed dimensions, one opset.

export type GraphDtype = 'float32' | 'float16' | 'int64';
export type Dim = number | string;

export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (e.g. axis). */
  attributes?: Record<string, number>;
}

export interface GraphValue {
  name: string;
  dtype: GraphDtype;
  dims: Dim[];
}

const ELEMENT_TYPE: Record<GraphDtype, number> = { float32: 1, int64: 7, float16: 10 };
const IR_VERSION = 8;
const OPSET = 13;
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const ATTRIBUTE_INT = 2;

function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`onnxGraph: ${value} is not a small non-negative integer`);
  const out: number[] = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

const intField = (field: number, value: number) => [...varint((field << 3) | WIRE_VARINT), ...varint(value)];
const bytesField = (field: number, data: number[]) => [...varint((field << 3) | WIRE_BYTES), ...varint(data.length), ...data];
const stringField = (field: number, text: string) => bytesField(field, [...new TextEncoder().encode(text)]);
const messageField = (field: number, parts: number[][]) => bytesField(field, parts.flat());

// Field numbers of onnx.proto: ModelProto, GraphProto, NodeProto, AttributeProto, ValueInfoProto, TypeProto.
function valueInfo(field: number, v: GraphValue): number[] {
  const dims = v.dims.map((d) => messageField(1, [typeof d === 'number' ? intField(1, d) : stringField(2, d)]));
  const tensorType = messageField(1, [intField(1, ELEMENT_TYPE[v.dtype]), messageField(2, dims)]);
  return messageField(field, [stringField(1, v.name), messageField(2, [tensorType])]);
}

function node(n: GraphNode): number[] {
  const attributes = Object.entries(n.attributes ?? {}).map(([name, value]) =>
    messageField(5, [stringField(1, name), intField(3, value), intField(20, ATTRIBUTE_INT)]));
  return messageField(1, [...n.inputs.map((i) => stringField(1, i)), ...n.outputs.map((o) => stringField(2, o)), stringField(4, n.op), ...attributes]);
}

/** A serialized ModelProto of one graph (default opset 13). */
export function onnxModel(name: string, nodes: GraphNode[], inputs: GraphValue[], outputs: GraphValue[]): Uint8Array {
  const graph = messageField(7, [...nodes.map(node), stringField(2, name), ...inputs.map((v) => valueInfo(11, v)),
    ...outputs.map((v) => valueInfo(12, v))]);
  const opset = messageField(8, [stringField(1, ''), intField(2, OPSET)]);
  return Uint8Array.from([...intField(1, IR_VERSION), ...graph, ...opset]);
}
