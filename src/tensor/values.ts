// Element-wise conversion between JSON-like values (numbers, booleans, strings, bigints) and tensor data. Shared by
// the JSON codec and the matrix conversions; the binary and gRPC codecs avoid it where a typed view does the job.
import { badInput } from "../errors.js";
import { DATATYPE_ARRAYS, INTEGER_RANGES, show } from "./datatype.js";
import { halfToNumber, numberToHalf } from "./half.js";
import type { Datatype, TensorData } from "./tensor.js";

/** A JSON value of one tensor element as omaf writes it. */
export type JsonElement = number | boolean | string;

/** Non-finite floats have no JSON number form; they travel as these strings (both ways). */
const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const INTEGER_TEXT = /^[+-]?\d+$/;

function expectation(datatype: Datatype): string {
  switch (datatype) {
    case "BOOL":
      return "a boolean (or 0/1)";
    case "BYTES":
      return "a string";
    case "FP16":
    case "FP32":
    case "FP64":
      return `a number within ${datatype} range (or "NaN", "Infinity", "-Infinity")`;
    default: {
      const [lo, hi] = INTEGER_RANGES[datatype]!;
      const text = datatype === "INT64" || datatype === "UINT64" ? " (or its decimal string)" : "";
      return `an integer in [${lo}, ${hi}]${text}`;
    }
  }
}

/**
 * Converts a flat list of values into data of the datatype. Values: booleans or 0/1 for BOOL; numbers for numeric
 * types (integers must be exact and in range; 64-bit integers also as decimal strings or bigints; floats also as
 * "NaN"/"Infinity"/"-Infinity"; a finite number that overflows FP16/FP32 is refused); strings (UTF-8) for BYTES.
 * A value that does not fit is OMAF_ERR_BAD_INPUT naming `where` and the element (`placeOf` words its index).
 */
export function dataFromValues(datatype: Datatype, values: readonly unknown[], where: string, placeOf: (i: number) => string = elementPlace): TensorData {
  const n = values.length;
  // Runs on every JSON tensor: nothing is allocated for the error unless an element does not fit.
  switch (datatype) {
    case "BYTES": {
      const out = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "string") valueError(datatype, values, where, placeOf, i);
        out[i] = Buffer.from(v as string, "utf8");
      }
      return out;
    }
    case "BOOL": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1) out[i] = 1;
        else if (v !== false && v !== 0) valueError(datatype, values, where, placeOf, i);
      }
      return out;
    }
    case "INT64":
    case "UINT64": {
      const out = datatype === "INT64" ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let b: bigint;
        if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === "string" && INTEGER_TEXT.test(v)) b = BigInt(v);
        else if (typeof v === "bigint") b = v;
        else return valueError(datatype, values, where, placeOf, i);
        out[i] = b;
        if (out[i] !== b) valueError(datatype, values, where, placeOf, i); // the typed array wrapped: out of range
      }
      return out;
    }
    case "FP16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = floatValue(values[i]);
        if (v === undefined) return valueError(datatype, values, where, placeOf, i);
        const h = numberToHalf(v);
        if ((h & 0x7fff) === 0x7c00 && Number.isFinite(v)) valueError(datatype, values, where, placeOf, i);
        out[i] = h;
      }
      return out;
    }
    case "FP32":
    case "FP64": {
      const out = datatype === "FP32" ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === "number") {
          out[i] = v;
          if (!Number.isFinite(out[i]) && Number.isFinite(v)) valueError(datatype, values, where, placeOf, i); // overflows FP32
        } else {
          const f = floatValue(v);
          if (f === undefined) return valueError(datatype, values, where, placeOf, i);
          out[i] = f;
        }
      }
      return out;
    }
    default: {
      // 8/16/32-bit integers: a typed array truncates and wraps silently, so reading back the same value proves the
      // number was an integer in range, in one comparison.
      const out = new DATATYPE_ARRAYS[datatype](n) as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "number") valueError(datatype, values, where, placeOf, i); // (a bigint would throw a TypeError on assignment)
        out[i] = v as number;
        if (out[i] !== v) valueError(datatype, values, where, placeOf, i);
      }
      return out;
    }
  }
}

function elementPlace(i: number): string {
  return `element ${i}`;
}

function valueError(datatype: Datatype, values: readonly unknown[], where: string, placeOf: (i: number) => string, i: number): never {
  throw badInput(`${where} (${datatype}) ${placeOf(i)}: expected ${expectation(datatype)}, got ${show(values[i])}`, {
    index: i,
  });
}

function floatValue(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && Object.hasOwn(NON_FINITE, v)) return NON_FINITE[v];
  return undefined;
}

const utf8 = new TextDecoder("utf-8");

/**
 * Tensor data as a flat list of JSON-safe values: booleans for BOOL, numbers for numeric types (FP16 decoded),
 * strings for BYTES (UTF-8, invalid sequences become U+FFFD). 64-bit integers are numbers when |v| <= 2^53 - 1 and
 * exact decimal strings beyond; non-finite floats are "NaN", "Infinity", "-Infinity".
 */
export function valuesFromData(datatype: Datatype, data: TensorData): JsonElement[] {
  switch (datatype) {
    case "BYTES":
      return (data as Uint8Array[]).map((b) => utf8.decode(b));
    case "BOOL":
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case "INT64":
    case "UINT64":
      return Array.from(data as BigInt64Array, (b) => (b <= 9007199254740991n && b >= -9007199254740991n ? Number(b) : b.toString()));
    case "FP16":
      return Array.from(data as Uint16Array, (h) => finiteOrText(halfToNumber(h)));
    case "FP32":
    case "FP64": {
      const src = data as Float64Array;
      const out = new Array<JsonElement>(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        out[i] = v - v === 0 ? v : String(v); // v - v is NaN only for NaN and ±Infinity
      }
      return out;
    }
    default:
      return numbersOf(data as Int32Array);
  }
}

/** Tensors up to this many elements get their JSON text written directly (see valuesJsonText); larger ones go through JSON.stringify, which builds long texts faster than concatenation. */
const DIRECT_TEXT_ELEMENTS = 64;

/**
 * The JSON text of `valuesFromData(datatype, data)`, character for character. A small tensor of numbers or booleans
 * (a typical model answer) is written directly, without the plain array and JSON.stringify's set-up per call; the
 * OIP REST answer writes its outputs' data with it.
 */
export function valuesJsonText(datatype: Datatype, data: TensorData): string {
  if (data.length > DIRECT_TEXT_ELEMENTS || datatype === "BYTES" || datatype === "FP16") return JSON.stringify(valuesFromData(datatype, data));
  let text = "[";
  switch (datatype) {
    case "BOOL":
      for (let i = 0; i < data.length; i++) text += (i > 0 ? "," : "") + ((data as Uint8Array)[i] !== 0 ? "true" : "false");
      break;
    case "INT64":
    case "UINT64":
      for (let i = 0; i < data.length; i++) {
        const b = (data as BigInt64Array)[i];
        // Beyond 2^53 - 1 a number would lose digits: the exact decimal travels as a string, as valuesFromData has it.
        text += (i > 0 ? "," : "") + (b <= 9007199254740991n && b >= -9007199254740991n ? `${b}` : `"${b}"`);
      }
      break;
    default:
      // Integers and FP32/FP64: a finite number's text is JSON's (String(-0) is "0", as in JSON); NaN and ±Infinity
      // are strings.
      for (let i = 0; i < data.length; i++) {
        const v = (data as Float64Array)[i];
        text += (i > 0 ? "," : "") + (v - v === 0 ? `${v}` : `"${v}"`);
      }
  }
  return `${text}]`;
}

/** A typed array's values as a plain array (a preallocated loop: about 3x faster than Array.from in V8). */
export function numbersOf(data: ArrayLike<number>): number[] {
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}

function finiteOrText(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}
