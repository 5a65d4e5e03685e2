// Conversions between omaf's tensor form and onnxruntime's: element type names and BYTES <-> string
// tensors. No onnxruntime import here (types only).
import type { Datatype } from "../tensor/tensor.js";

/** onnxruntime element type → omaf datatype (types omaf cannot carry are absent). */
export const ORT_TO_DATATYPE: Readonly<Record<string, Datatype>> = {
  float32: "FP32",
  float64: "FP64",
  float16: "FP16",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  bool: "BOOL",
  string: "BYTES",
};

/** omaf datatype → onnxruntime element type. */
export const DATATYPE_TO_ORT: Readonly<Record<Datatype, string>> = Object.fromEntries(Object.entries(ORT_TO_DATATYPE).map(([ort, dt]) => [dt, ort])) as Record<
  Datatype,
  string
>;

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** BYTES elements as the strings an onnxruntime string tensor holds; throws on bytes that are not UTF-8. */
export function bytesToStrings(data: Uint8Array[]): string[] {
  return data.map((b) => utf8Decoder.decode(b));
}

/** Strings of an onnxruntime string tensor as BYTES elements. */
export function stringsToBytes(data: readonly string[]): Uint8Array[] {
  return data.map((s) => utf8Encoder.encode(s));
}
