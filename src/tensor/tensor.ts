// The one in-memory form of a tensor: a typed array (or strings/bytes for BYTES) plus shape and datatype.
// Every wire format converts to and from this form (see the protocol modules).

/** Open Inference Protocol data types. */
export const DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"] as const;
export type Datatype = (typeof DATATYPES)[number];

export type TensorData =
  | Uint8Array // BOOL (0/1), UINT8
  | Uint16Array // UINT16, FP16 (raw IEEE half bits)
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | Uint8Array[]; // BYTES: one byte string per element

export interface Tensor {
  name: string;
  datatype: Datatype;
  /** Dimensions; the product equals the element count. */
  shape: number[];
  data: TensorData;
  /** Protocol parameters of the tensor (e.g. `content_type`); wire-format keys such as binary_data_size are never kept. */
  parameters?: Record<string, unknown>;
}

/** Name, datatype and shape of a model input or output; -1 marks a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Parameters a declared contract gives the tensor (e.g. `content_type`), reported in metadata. */
  parameters?: Record<string, unknown>;
}

/** `input FP32 [-1, 4]`: a tensor spec as people read it (docs page, `omaf test`). */
export function specText(s: TensorSpec): string {
  return `${s.name} ${s.datatype} [${s.shape.join(", ")}]`;
}

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}
