// Tensor <-> rows of values, for GPPI matrix models (predict_on_matrix takes and answers rows, not tensors).
import { badInput, OmafError } from "../errors.js";
import { checkTensor } from "./datatype.js";
import { halfToNumber } from "./half.js";
import type { Datatype, Tensor, TensorData } from "./tensor.js";
import { dataFromValues, valuesFromData, type JsonElement } from "./values.js";

/**
 * Tensor data as the values a model gets in a row: like valuesFromData, except that floats stay numbers when they
 * are not finite. NaN (a missing value, as tabular clients send it) and ±Infinity are numbers to a model; only JSON
 * needs them as text, and as text they would read as strings, which a numeric model refuses.
 */
export function rowValuesFromData(datatype: Datatype, data: TensorData): JsonElement[] {
  switch (datatype) {
    case "FP16":
      return Array.from(data as Uint16Array, halfToNumber);
    case "FP32":
    case "FP64":
      return Array.from(data as ArrayLike<number>);
    default:
      return valuesFromData(datatype, data);
  }
}

/**
 * A 2-D tensor [rows, columns] as rows of values: numbers for numeric datatypes (FP16 decoded, NaN and ±Infinity
 * kept as numbers; INT64/UINT64 beyond 2^53 as exact decimal strings), booleans for BOOL, UTF-8 strings for BYTES.
 * Other ranks are OMAF_ERR_BAD_INPUT.
 */
export function matrixFromTensor(t: Tensor): JsonElement[][] {
  checkTensor(t, "OMAF_ERR_BAD_INPUT");
  if (t.shape.length !== 2) {
    throw badInput(`tensor '${t.name}': a matrix model takes a 2-D tensor [rows, columns], not shape ${JSON.stringify(t.shape)}`, {
      tensor: t.name,
    });
  }
  const [rows, cols] = t.shape;
  const values = rowValuesFromData(t.datatype, t.data);
  const out = new Array<JsonElement[]>(rows);
  for (let r = 0; r < rows; r++) out[r] = values.slice(r * cols, (r + 1) * cols);
  return out;
}

/**
 * Rows of values (or a flat list, e.g. one prediction per row) as a tensor: equally long rows give shape
 * [rows, columns], a flat list [n]. Without `datatype`: numbers → FP64, strings → BYTES, booleans → BOOL; mixed kinds
 * are OMAF_ERR_BAD_INPUT, as are values that do not fit a given datatype. Typed-array rows are accepted.
 */
export function tensorFromMatrix(rows: readonly unknown[], name: string, datatype?: Datatype): Tensor {
  const where = `tensor '${name}'`;
  if (!Array.isArray(rows)) throw badInput(`${where}: a matrix must be a list of rows`, { tensor: name });
  const asRow = (v: unknown): unknown[] | undefined =>
    Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<unknown>) : undefined;
  let shape: number[];
  let flat: unknown[];
  const first = rows.length > 0 ? asRow(rows[0]) : undefined;
  if (first === undefined) {
    shape = [rows.length];
    flat = rows as unknown[];
    const nested = flat.findIndex((v) => asRow(v) !== undefined);
    if (nested >= 0) throw badInput(`${where}: item ${nested} is a list but item 0 is not (mixed rows and values)`, { tensor: name });
  } else {
    const width = first.length;
    flat = new Array<unknown>(rows.length * width);
    for (let r = 0; r < rows.length; r++) {
      const row = r === 0 ? first : asRow(rows[r]);
      if (row === undefined || row.length !== width) {
        const got = row === undefined ? "is not a list" : `has ${row.length} values`;
        throw badInput(`${where}: row ${r} ${got}, row 0 has ${width}`, { tensor: name, row: r });
      }
      for (let c = 0; c < width; c++) flat[r * width + c] = row[c];
    }
    shape = [rows.length, width];
  }
  const dt = datatype ?? inferDatatype(flat, where);
  const width = shape[1];
  const placeOf = width === undefined ? undefined : (i: number) => `row ${Math.floor(i / width)}, column ${i % width}`;
  return { name, datatype: dt, shape, data: dataFromValues(dt, flat, where, placeOf) };
}

function inferDatatype(values: readonly unknown[], where: string): Datatype {
  if (values.length === 0) return "FP64";
  const kind = typeof values[0];
  const dt: Datatype | undefined = kind === "number" ? "FP64" : kind === "string" ? "BYTES" : kind === "boolean" ? "BOOL" : undefined;
  const odd = dt === undefined ? 0 : values.findIndex((v) => typeof v !== kind);
  if (dt === undefined || odd >= 0) {
    throw badInput(`${where}: matrix values must be all numbers, all strings or all booleans (element ${odd} differs)`, { index: odd });
  }
  return dt;
}

/**
 * Output tensors as matrix rows: one row per input row (`rows`), one cell per output (in order) — a scalar when the
 * output holds one value per row (shape [N] or [N, 1]), else the row's slice as nested lists. Values as
 * rowValuesFromData gives them. An output without a first dimension of `rows` is OMAF_ERR_PREDICT: it has no rows to
 * split (named tensors carry it).
 */
export function rowsFromTensors(outputs: readonly Tensor[], rows: number): unknown[][] {
  const prediction = new Array<unknown[]>(rows);
  for (let r = 0; r < rows; r++) prediction[r] = new Array(outputs.length);
  for (let o = 0; o < outputs.length; o++) {
    const t = outputs[o];
    if (t.shape.length === 0 || t.shape[0] !== rows) {
      throw new OmafError("OMAF_ERR_PREDICT", `output '${t.name}' has shape [${t.shape.join(", ")}], not one row per input row; send named tensors to get it`);
    }
    // Read element by element from the typed data (no intermediate list of every value: this runs on the main
    // thread for answers of a million rows).
    const read = rowValueReader(t.datatype, t.data);
    const cellDims = t.shape.slice(1);
    const perRow = cellDims.reduce((n, d) => n * d, 1);
    for (let r = 0; r < rows; r++) prediction[r][o] = perRow === 1 ? read(r) : nested(read, r * perRow, cellDims, 0);
  }
  return prediction;
}

const utf8 = new TextDecoder("utf-8");

/** Element `i` of tensor data as rowValuesFromData would give it. */
function rowValueReader(datatype: Datatype, data: TensorData): (i: number) => JsonElement {
  switch (datatype) {
    case "FP16":
      return (i) => halfToNumber((data as Uint16Array)[i]);
    case "BOOL":
      return (i) => (data as Uint8Array)[i] !== 0;
    case "INT64":
    case "UINT64":
      return (i) => {
        const b = (data as BigInt64Array)[i];
        return b <= 9007199254740991n && b >= -9007199254740991n ? Number(b) : b.toString();
      };
    case "BYTES":
      return (i) => utf8.decode((data as Uint8Array[])[i]);
    default:
      return (i) => (data as Float64Array)[i];
  }
}

/** The elements from `offset` shaped by `dims` as nested lists. */
function nested(read: (i: number) => JsonElement, offset: number, dims: readonly number[], level: number): unknown[] {
  const n = dims[level];
  const out = new Array<unknown>(n);
  if (level === dims.length - 1) {
    for (let i = 0; i < n; i++) out[i] = read(offset + i);
    return out;
  }
  const stride = dims.slice(level + 1).reduce((a, d) => a * d, 1);
  for (let i = 0; i < n; i++) out[i] = nested(read, offset + i * stride, dims, level + 1);
  return out;
}
