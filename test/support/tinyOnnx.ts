// Builds a tiny ONNX model (c = a + b over float[3]) by hand-encoding the protobuf, so tests can run
// a real onnxruntime inference without shipping a model file.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return out;
}
const bytes = (s: string) => [...Buffer.from(s, 'utf8')];
/** Length-delimited field (wire type 2). */
const ld = (field: number, payload: number[]) => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
/** Varint field (wire type 0). */
const vi = (field: number, value: number) => [...varint(field << 3), ...varint(value)];

const FLOAT = 1;
// ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2}; Shape{dim=1}; Dim{dim_value=1}
const floatVector = (name: string, length: number) =>
  [...ld(1, bytes(name)), ...ld(2, ld(1, [...vi(1, FLOAT), ...ld(2, ld(1, vi(1, length)))]))];

export function addModel(length = 3): Uint8Array {
  // NodeProto{input=1, output=2, op_type=4}
  const node = [...ld(1, bytes('a')), ...ld(1, bytes('b')), ...ld(2, bytes('c')), ...ld(4, bytes('Add'))];
  // GraphProto{node=1, name=2, input=11, output=12}
  const graph = [...ld(1, node), ...ld(2, bytes('add')),
    ...ld(11, floatVector('a', length)), ...ld(11, floatVector('b', length)), ...ld(12, floatVector('c', length))];
  // ModelProto{ir_version=1, graph=7, opset_import=8}; OperatorSetIdProto{domain=1, version=2}
  const model = [...vi(1, 8), ...ld(7, graph), ...ld(8, [...ld(1, []), ...vi(2, 13)])];
  return Uint8Array.from(model);
}
