// Per-datatype facts (element size, typed array, integer range), datatype and shape parsing, and the one check that a
// Tensor's data fits its datatype and shape. Every codec builds on these.
import { badInput, OmafError, type ErrorCode } from "../errors.js";
import { DATATYPES, elementCount, type Datatype, type Tensor, type TensorData } from "./tensor.js";

/** Datatypes with a fixed element size (all but BYTES). */
export type FixedDatatype = Exclude<Datatype, "BYTES">;

/** A constructor of the typed arrays omaf keeps tensor data in. */
export interface TypedArrayConstructor {
  new (length: number): Exclude<TensorData, Uint8Array[]>;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): Exclude<TensorData, Uint8Array[]>;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** The typed array each fixed-size datatype lives in. BOOL is 0/1 bytes; FP16 is raw IEEE half bits. */
export const DATATYPE_ARRAYS: Readonly<Record<FixedDatatype, TypedArrayConstructor>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** Inclusive value range of each integer datatype (bigint so the 64-bit bounds are exact). */
export const INTEGER_RANGES: Readonly<Partial<Record<Datatype, readonly [bigint, bigint]>>> = {
  UINT8: [0n, 0xffn],
  UINT16: [0n, 0xffffn],
  UINT32: [0n, 0xffffffffn],
  UINT64: [0n, 0xffffffffffffffffn],
  INT8: [-0x80n, 0x7fn],
  INT16: [-0x8000n, 0x7fffn],
  INT32: [-0x80000000n, 0x7fffffffn],
  INT64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

/** True when `value` is one of the OIP datatype names (exact, upper case). */
export function isDatatype(value: unknown): value is Datatype {
  return typeof value === "string" && DATATYPE_SET.has(value);
}

/** True for every datatype but BYTES. */
export function isFixedDatatype(datatype: Datatype): datatype is FixedDatatype {
  return datatype !== "BYTES";
}

/**
 * Reads a datatype name. Case does not matter ("fp32" is FP32) because clients differ; anything else is
 * OMAF_ERR_BAD_INPUT naming `where` (e.g. "input 'x'").
 */
export function parseDatatype(value: unknown, where = "tensor"): Datatype {
  if (typeof value === "string") {
    // Nearly every client sends upper case: look it up as it is before making an upper-case copy.
    if (DATATYPE_SET.has(value)) return value as Datatype;
    const upper = value.toUpperCase();
    if (DATATYPE_SET.has(upper)) return upper as Datatype;
  }
  throw badInput(`${where}: datatype must be one of ${DATATYPES.join(", ")}, not ${show(value)}`, { datatype: value });
}

/** Bytes one element takes on the wire and in memory; undefined for BYTES (variable length). */
export function bytesPerElement(datatype: Datatype): number | undefined {
  return datatype === "BYTES" ? undefined : DATATYPE_ARRAYS[datatype].BYTES_PER_ELEMENT;
}

/** The typed array constructor of a fixed-size datatype. */
export function typedArrayFor(datatype: FixedDatatype): TypedArrayConstructor {
  return DATATYPE_ARRAYS[datatype];
}

/** Zero-filled data for `count` elements (BYTES: `count` empty byte strings). */
export function allocData(datatype: Datatype, count: number): TensorData {
  if (datatype === "BYTES") return Array.from({ length: count }, () => new Uint8Array(0));
  return new DATATYPE_ARRAYS[datatype](count);
}

/**
 * Most elements a tensor may hold. Every element takes at least one byte of a request, and no request may be 2 GiB,
 * so a larger shape can only be a lie; refusing it here keeps decoders from attempting allocations JavaScript cannot
 * make ("Invalid array length").
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/**
 * Checks a tensor shape from the wire and answers it as numbers: a list of non-negative integers whose product is at
 * most MAX_TENSOR_ELEMENTS. Dimensions may be numbers, bigints or decimal strings (gRPC int64 fields arrive as strings with
 * OIP_PROTO_LOADER_OPTIONS). -1 (variable) belongs in TensorSpec, never in a tensor.
 */
export function checkShape(shape: unknown, where = "tensor"): number[] {
  // A shape of plain numbers (JSON requests, tensors omaf built) that passes is answered as it is, without a copy.
  if (numberShapeCount(shape) >= 0) return shape as number[];
  if (!Array.isArray(shape)) throw badInput(`${where}: shape must be a list of dimensions, not ${show(shape)}`, { shape });
  const out = new Array<number>(shape.length);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const raw: unknown = shape[i];
    const d = typeof raw === "number" ? raw : typeof raw === "bigint" ? Number(raw) : typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(d) || d < 0) {
      throw badInput(`${where}: shape[${i}] must be a non-negative integer, not ${show(raw)}`, { shape, index: i });
    }
    out[i] = d;
    count *= d;
  }
  if (!(count <= MAX_TENSOR_ELEMENTS)) {
    throw badInput(`${where}: shape ${JSON.stringify(out)} holds ${count} elements; a tensor holds at most ${MAX_TENSOR_ELEMENTS}`, { shape: out });
  }
  return out;
}

/**
 * The element count of a shape of plain numbers that checkShape accepts as it is (non-negative safe integers, at most
 * MAX_TENSOR_ELEMENTS elements); -1 for anything else, which checkShape then reads or refuses.
 */
function numberShapeCount(shape: unknown): number {
  if (!Array.isArray(shape)) return -1;
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) return -1;
    count *= d;
  }
  return count <= MAX_TENSOR_ELEMENTS ? count : -1;
}

/**
 * Checks that a tensor is well formed: known datatype, valid shape, data of the datatype's kind (the typed array for
 * fixed types, a list of Uint8Array for BYTES) with exactly product(shape) elements. Encoders call it on tensors a
 * model produced, so the default code is OMAF_ERR_INTERNAL; pass another code to blame the caller instead.
 */
export function checkTensor<T extends Tensor>(t: T, code: ErrorCode = "OMAF_ERR_INTERNAL"): T {
  // Runs on every tensor in and out of a request: the checks allocate nothing unless one fails.
  if (!t || typeof t !== "object") return tensorError(t, code, "is not a tensor object");
  if (typeof t.name !== "string") tensorError(t, code, "name must be a string");
  if (!isDatatype(t.datatype)) tensorError(t, code, `unknown datatype ${show(t.datatype)}`);
  let count = numberShapeCount(t.shape);
  if (count < 0) {
    try {
      count = elementCount(checkShape(t.shape, `tensor '${t.name}'`));
    } catch (err) {
      throw new OmafError(code, (err as Error).message, { tensor: t.name });
    }
  }
  const data = t.data;
  if (t.datatype === "BYTES") {
    if (!Array.isArray(data)) return tensorError(t, code, "BYTES data must be a list of Uint8Array");
    for (let i = 0; i < data.length; i++) if (!(data[i] instanceof Uint8Array)) tensorError(t, code, `BYTES element ${i} is not a Uint8Array`);
  } else {
    const Ctor = DATATYPE_ARRAYS[t.datatype];
    if (!(data instanceof Ctor)) tensorError(t, code, `${t.datatype} data must be a ${Ctor.name}`);
  }
  if (data.length !== count) tensorError(t, code, `shape ${JSON.stringify(t.shape)} holds ${count} elements but data has ${data.length}`);
  return t;
}

function tensorError(t: Tensor | undefined, code: ErrorCode, message: string): never {
  throw new OmafError(code, `tensor '${t?.name}': ${message}`, { tensor: t?.name });
}

/** A short, bounded rendering of a wire value for error messages; never throws, whatever the value holds. */
export function show(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep for JSON.stringify (or a BigInt inside): name the kind only, since String() would recurse as deep.
    s = Array.isArray(value) ? `an array of ${value.length}` : typeof value === "object" && value !== null ? "an object" : typeof value;
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
