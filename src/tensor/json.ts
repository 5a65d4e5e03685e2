// Open Inference Protocol REST JSON tensors ({name, shape, datatype, parameters?, data}) <-> Tensor.
import { badInput } from "../errors.js";
import { checkShape, checkTensor, parseDatatype, show } from "./datatype.js";
import { elementCount, type Datatype, type Tensor } from "./tensor.js";
import { dataFromValues, valuesFromData, valuesJsonText, type JsonElement } from "./values.js";

/** A tensor as OIP REST JSON carries it (`data` flat, row-major). */
export interface JsonTensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  data: JsonElement[];
  parameters?: Record<string, unknown>;
}

/** Name, datatype, shape and parameters of a JSON tensor, checked; `data` is left to the caller. */
export interface JsonTensorHeader {
  name: string;
  datatype: Datatype;
  shape: number[];
  parameters?: Record<string, unknown>;
  /** "tensor 'name'", for error messages. */
  where: string;
}

/** Reads and checks everything of a JSON tensor but its data. `kind` names it in errors ("input", "output"). */
export function readTensorHeader(value: unknown, kind = "tensor"): JsonTensorHeader {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badInput(`${kind} must be an object {name, shape, datatype, data}, not ${show(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v.name !== "string" || v.name === "") throw badInput(`${kind}: name must be a non-empty string, not ${show(v.name)}`);
  const where = `${kind} '${v.name}'`;
  const datatype = parseDatatype(v.datatype, where);
  const shape = checkShape(v.shape, where);
  const header: JsonTensorHeader = { name: v.name, datatype, shape, where };
  if (v.parameters !== undefined && v.parameters !== null) {
    if (typeof v.parameters !== "object" || Array.isArray(v.parameters)) {
      throw badInput(`${where}: parameters must be an object, not ${show(v.parameters)}`, { tensor: v.name });
    }
    header.parameters = v.parameters as Record<string, unknown>;
  }
  return header;
}

/**
 * Flattens OIP `data` to a row-major list of product(shape) values. Flat data must have exactly that many values.
 * Nested data must nest exactly like the shape (one list level per dimension, each with that dimension's length);
 * partial nesting is refused rather than guessed. A scalar (shape []) may also be given bare.
 */
export function flattenData(data: unknown, shape: readonly number[], where = "tensor"): unknown[] {
  const count = elementCount(shape);
  if (!Array.isArray(data)) {
    if (shape.length === 0 && data !== undefined) return [data];
    throw badInput(`${where}: data must be a list of values, not ${show(data)}`);
  }
  if (data.length === 0 || !Array.isArray(data[0])) {
    if (data.length !== count) {
      throw badInput(`${where}: shape ${JSON.stringify(shape)} holds ${count} elements but data has ${data.length} values`, {
        expected: count,
        actual: data.length,
      });
    }
    return data;
  }
  const rank = shape.length;
  if (rank === 0) throw badInput(`${where}: data nests deeper than shape []`);
  const out = new Array<unknown>(count);
  let k = 0;
  // Walks the nesting depth-first; `at` holds the current index per level, only read to name the place of an error.
  const at = new Array<number>(rank).fill(0);
  const place = (depth: number) =>
    at
      .slice(0, depth)
      .map((i) => `[${i}]`)
      .join("");
  const walk = (v: unknown, dim: number): void => {
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      const got = Array.isArray(v) ? `${v.length} values` : show(v);
      throw badInput(`${where}: data${place(dim)} must be a list of ${shape[dim]} (shape ${JSON.stringify(shape)}), got ${got}`);
    }
    if (dim === rank - 1) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (Array.isArray(x)) {
          at[dim] = i;
          throw badInput(`${where}: data${place(rank)} nests deeper than shape ${JSON.stringify(shape)}`);
        }
        out[k++] = x;
      }
      return;
    }
    for (let i = 0; i < v.length; i++) {
      at[dim] = i;
      walk(v[i], dim + 1);
    }
  };
  walk(data, 0);
  return out;
}

/**
 * An OIP REST JSON tensor as a Tensor. `data` may be flat or nested (see flattenData); values per datatype:
 * BOOL true/false (0 and 1 are accepted too), integers as exact in-range numbers (INT64/UINT64 also as decimal
 * strings, needed beyond 2^53), floats as numbers or "NaN"/"Infinity"/"-Infinity" (FP16 numbers are rounded to half
 * bits), BYTES as strings (stored UTF-8). Anything else is OMAF_ERR_BAD_INPUT naming the tensor and element index.
 * `parameters` are kept on the tensor.
 */
export function tensorFromJson(input: unknown, kind = "tensor"): Tensor {
  const h = readTensorHeader(input, kind);
  const values = flattenData((input as { data?: unknown }).data, h.shape, h.where);
  return withParameters({ name: h.name, datatype: h.datatype, shape: h.shape, data: dataFromValues(h.datatype, values, h.where) }, h.parameters);
}

/**
 * A Tensor as an OIP REST JSON tensor with flat `data` (what Triton and MLServer emit): booleans for BOOL, numbers
 * for numeric types (FP16 decoded), UTF-8 strings for BYTES. INT64/UINT64 values are numbers when they are safe
 * integers (|v| <= 2^53 - 1) and exact decimal strings beyond, so JSON.stringify can write every tensor and no value
 * silently changes; non-finite floats become "NaN"/"Infinity"/"-Infinity". tensorFromJson reads all of these back.
 */
export function tensorToJson(t: Tensor): JsonTensor {
  checkTensor(t);
  const out: JsonTensor = { name: t.name, shape: t.shape, datatype: t.datatype, data: valuesFromData(t.datatype, t.data) };
  if (t.parameters && Object.keys(t.parameters).length > 0) out.parameters = t.parameters;
  return out;
}

/** Tensor names as JSON strings: a model's answers repeat the same few. Bounded, for models that name outputs freely. */
const quotedNames = new Map<string, string>();

/** `JSON.stringify(name)`, remembered. */
export function quotedName(name: string): string {
  let quoted = quotedNames.get(name);
  if (quoted === undefined) {
    quoted = JSON.stringify(name);
    if (quotedNames.size < 1024) quotedNames.set(name, quoted);
  }
  return quoted;
}

/**
 * `JSON.stringify(tensorToJson(t))`, character for character (same checks, values and key order), written directly
 * instead of through an object per tensor: every JSON answer of OIP REST is made of these.
 */
export function tensorJsonText(t: Tensor): string {
  checkTensor(t);
  // checkTensor vouched for the datatype, one of a fixed set of plain names, and for the shape: non-negative
  // integers (checkShape answers them as numbers), whose join is their JSON text.
  const text = `{"name":${quotedName(t.name)},"shape":[${checkShape(t.shape).join(",")}],"datatype":"${t.datatype}","data":${valuesJsonText(t.datatype, t.data)}`;
  return t.parameters && Object.keys(t.parameters).length > 0 ? `${text},"parameters":${JSON.stringify(t.parameters)}}` : `${text}}`;
}

/** Sets `parameters` on a tensor when there are any (so tensors without parameters stay without the key). */
export function withParameters(t: Tensor, parameters: Record<string, unknown> | undefined): Tensor {
  if (parameters && Object.keys(parameters).length > 0) t.parameters = parameters;
  return t;
}
