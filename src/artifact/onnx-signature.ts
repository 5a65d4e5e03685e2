// An ONNX model's own inputs and outputs, read from the file's protobuf without onnxruntime: `omaf validate` compares
// them with the declared contract. Only ModelProto.graph's input/output/initializer fields are walked; every other
// field (the weights included) is skipped by its length, so nothing but names, element types and shapes is decoded.
import { OmafError } from "../errors.js";
import type { Datatype } from "../tensor/tensor.js";

/** One graph input or output: datatype undefined when it is not a tensor omaf can carry; shape undefined when unknown. */
export interface OnnxValue {
  name: string;
  datatype?: Datatype;
  /** -1 for a symbolic or unknown dimension. */
  shape?: number[];
}

/** TensorProto.DataType → OIP datatype (types omaf cannot carry are absent). */
const ELEM_TYPES: Readonly<Record<number, Datatype>> = {
  1: "FP32",
  2: "UINT8",
  3: "INT8",
  4: "UINT16",
  5: "INT16",
  6: "INT32",
  7: "INT64",
  8: "BYTES",
  9: "BOOL",
  10: "FP16",
  11: "FP64",
  12: "UINT32",
  13: "UINT64",
};

/** One field of a protobuf message: its number and either a varint value or the bytes of a length-delimited one. */
type Field = { no: number; varint?: number; bytes?: Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        yield { no, varint: varint() };
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new Error("truncated field");
        yield { no, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unknown wire type ${key & 7}`);
    }
  }
}

const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

/** A varint as int64 (two's complement for negatives written as 10-byte varints). */
const int64 = (v: number) => (v >= 2 ** 63 ? v - 2 ** 64 : v);

function readShape(buf: Uint8Array): number[] {
  const dims: number[] = [];
  for (const f of fields(buf)) {
    if (f.no !== 1 || !f.bytes) continue;
    let dim = -1;
    for (const d of fields(f.bytes)) if (d.no === 1 && d.varint !== undefined) dim = int64(d.varint);
    dims.push(dim >= 0 ? dim : -1);
  }
  return dims;
}

function readValueInfo(buf: Uint8Array): OnnxValue {
  const value: OnnxValue = { name: "" };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) value.name = text(f.bytes);
    if (f.no !== 2 || !f.bytes) continue;
    for (const t of fields(f.bytes)) {
      if (t.no !== 1 || !t.bytes) continue; // TypeProto.tensor_type; sequences and maps stay without datatype
      for (const tt of fields(t.bytes)) {
        if (tt.no === 1 && tt.varint !== undefined) value.datatype = ELEM_TYPES[tt.varint];
        if (tt.no === 2 && tt.bytes) value.shape = readShape(tt.bytes);
      }
    }
  }
  return value;
}

/**
 * The graph inputs (without those that are initializers: weights, as onnxruntime leaves them out too) and outputs of
 * an ONNX ModelProto. Throws OMAF_ERR_ENTRYPOINT when the bytes are not one.
 */
export function readOnnxSignature(model: Uint8Array, file: string): { inputs: OnnxValue[]; outputs: OnnxValue[] } {
  try {
    let graph: Uint8Array | undefined;
    for (const f of fields(model)) if (f.no === 7 && f.bytes) graph = f.bytes;
    if (!graph) throw new Error("it has no graph");
    const inputs: OnnxValue[] = [];
    const outputs: OnnxValue[] = [];
    const initializers = new Set<string>();
    for (const f of fields(graph)) {
      if (!f.bytes) continue;
      if (f.no === 11) inputs.push(readValueInfo(f.bytes));
      else if (f.no === 12) outputs.push(readValueInfo(f.bytes));
      else if (f.no === 5) for (const t of fields(f.bytes)) if (t.no === 8 && t.bytes) initializers.add(text(t.bytes));
    }
    return { inputs: inputs.filter((v) => !initializers.has(v.name)), outputs };
  } catch (err) {
    throw new OmafError("OMAF_ERR_ENTRYPOINT", `${file} is not a readable ONNX model: ${(err as Error).message}`, { file });
  }
}
