// Tensors over the Python worker pipe, for tensors-mode entrypoints: raw bytes, never JSON, so a binary OIP request's
// tensors reach numpy as they arrived. Both directions use one layout (python/omaf_worker.py reads and writes it):
//
//   body = u32 header length | JSON header | zero padding to 8 | tensor bytes, each starting 8-aligned
//   header = {"tensors": [{"name", "datatype", "shape", "size"}], "t"?}       ("t": model time in µs, answers only)
//
// Tensor bytes are OIP's raw form: little-endian elements; BYTES as a 4-byte length before each element.
import { tensorFromRaw, tensorToRaw } from "../../tensor/binary.js";
import type { Datatype, Tensor } from "../../tensor/tensor.js";
import { frame, FrameType } from "./protocol.js";

const HEAD = 9; // frame length + type + request id
const align8 = (n: number) => (n + 7) & ~7;

interface TensorEntry {
  name: string;
  datatype: Datatype;
  shape: number[];
  size: number;
}

/** The 't' request frame for named input tensors. */
export function tensorsFrame(inputs: readonly Tensor[]): Buffer {
  const raws = inputs.map((t) => tensorToRaw(t));
  const header = Buffer.from(JSON.stringify({ tensors: inputs.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, size: raws[i].length })) }));
  // Offsets inside the body (after the request id): header, then each tensor 8-aligned.
  let at = align8(4 + header.length);
  const offsets = raws.map((raw) => {
    const start = at;
    at = align8(at + raw.length);
    return start;
  });
  const buf = frame(FrameType.Tensors, at);
  buf.fill(0, HEAD);
  buf.writeUInt32LE(header.length, HEAD);
  header.copy(buf, HEAD + 4);
  raws.forEach((raw, i) => raw.copy(buf, HEAD + offsets[i]));
  return buf;
}

/** A 'T' answer body: the output tensors (views into `body` where aligned) and the model's time in µs. */
export function decodeTensorsResult(body: Buffer): { outputs: Tensor[]; t: number } {
  const headerLength = body.readUInt32LE(0);
  const header = JSON.parse(body.toString("utf8", 4, 4 + headerLength)) as { tensors: TensorEntry[]; t?: number };
  let at = align8(4 + headerLength);
  const outputs = header.tensors.map((e) => {
    if (at + e.size > body.length) throw new Error(`output '${e.name}' runs past the end of the answer`);
    const t = tensorFromRaw(e.name, e.datatype, e.shape, body.subarray(at, at + e.size));
    at = align8(at + e.size);
    return t;
  });
  return { outputs, t: header.t ?? 0 };
}
