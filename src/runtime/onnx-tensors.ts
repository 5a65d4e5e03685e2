// Conversions between omaf's tensor form and onnxruntime's: element type names, typed-array checks, BYTES <-> string
// tensors, FP16 half bits, and JSON cell values for the matrix path. No onnxruntime import here (types only).
import type { Datatype, TensorData } from "../tensor/tensor.js";
import { DATATYPE_ARRAYS } from "../tensor/datatype.js";
import { halfToNumber, numberToHalf } from "../tensor/half.js";

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
export const DATATYPE_TO_ORT: Readonly<Record<Datatype, string>> = Object.fromEntries(
  Object.entries(ORT_TO_DATATYPE).map(([ort, dt]) => [dt, ort]),
) as Record<Datatype, string>;

/** Why data does not fit its datatype, or undefined when it does. */
export function dataMismatch(datatype: Datatype, data: TensorData): string | undefined {
  if (datatype === "BYTES") {
    return Array.isArray(data) && data.every((d) => d instanceof Uint8Array) ? undefined : "BYTES data must be a list of byte strings";
  }
  const ctor = DATATYPE_ARRAYS[datatype];
  return data instanceof (ctor as unknown as typeof Uint8Array) && data.constructor === ctor
    ? undefined
    : `${datatype} data must be a ${ctor.name}`;
}

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

/** Reads element `i` of onnxruntime tensor data as a JSON value (bigints become numbers, bools booleans). */
export type CellReader = (data: unknown, i: number) => unknown;

/** The CellReader for an onnxruntime element type. */
export function cellReader(ortType: string): CellReader {
  switch (ortType) {
    case "int64":
    case "uint64":
      return (d, i) => Number((d as BigInt64Array)[i]);
    case "bool":
      return (d, i) => (d as Uint8Array)[i] !== 0;
    case "float16":
      return (d, i) => {
        const v = (d as ArrayLike<number>)[i];
        return d instanceof Uint16Array ? halfToNumber(v) : v;
      };
    default:
      return (d, i) => (d as ArrayLike<unknown>)[i];
  }
}

/** Writes a JSON cell value into a buffer being built for an input of the given datatype; false when it does not fit. */
export type CellWriter = (buf: unknown, i: number, value: unknown) => boolean;

/** A buffer factory and CellWriter for the matrix path, per omaf datatype. */
export function cellWriter(datatype: Datatype): { alloc: (n: number) => unknown; write: CellWriter; expects: string } {
  switch (datatype) {
    case "BYTES":
      return {
        alloc: (n) => new Array<string>(n),
        write: (b, i, v) => typeof v === "string" && (((b as string[])[i] = v), true),
        expects: "a string",
      };
    case "BOOL":
      return {
        alloc: (n) => new Uint8Array(n),
        write: (b, i, v) => {
          if (v === true || v === 1) (b as Uint8Array)[i] = 1;
          else if (v === false || v === 0) (b as Uint8Array)[i] = 0;
          else return false;
          return true;
        },
        expects: "a boolean",
      };
    case "INT64":
    case "UINT64": {
      const Ctor = datatype === "INT64" ? BigInt64Array : BigUint64Array;
      return {
        alloc: (n) => new Ctor(n),
        write: (b, i, v) => {
          if (typeof v === "bigint") (b as BigInt64Array)[i] = v;
          else if (typeof v === "number" && Number.isInteger(v)) (b as BigInt64Array)[i] = BigInt(v);
          else return false;
          return true;
        },
        expects: "an integer",
      };
    }
    case "FP16":
      return {
        alloc: (n) => new Uint16Array(n),
        write: (b, i, v) => typeof v === "number" && (((b as Uint16Array)[i] = numberToHalf(v)), true),
        expects: "a number",
      };
    case "FP32":
    case "FP64":
      return {
        alloc: (n) => new DATATYPE_ARRAYS[datatype](n),
        write: (b, i, v) => typeof v === "number" && (((b as Float32Array)[i] = v), true),
        expects: "a number",
      };
    default: {
      const Ctor = DATATYPE_ARRAYS[datatype];
      return {
        alloc: (n) => new Ctor(n),
        // Read back to refuse values the integer type cannot hold (typed arrays wrap silently).
        write: (b, i, v) => typeof v === "number" && (((b as Int32Array)[i] = v), (b as Int32Array)[i] === v),
        expects: `an integer that fits ${datatype}`,
      };
    }
  }
}
