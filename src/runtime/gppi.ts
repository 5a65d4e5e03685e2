// Pure helpers for the GPPI conventions shared by every GPPI-style environment: reading info() schemas, deriving a
// tensor view from them, and normalising what predict_on_matrix() answers.
import type { Datatype, TensorSpec } from "../tensor/tensor.js";
import { OmafError } from "../errors.js";
import type { FieldSchema, MatrixInput, MatrixOutput } from "./model.js";

/** Why a value returned by a model function was refused; the caller wraps it in the right OmafError. */
export class GppiShapeError extends Error {}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function toArray(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>);
  return undefined;
}

function parseFields(value: unknown, which: string): FieldSchema[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new GppiShapeError(`the ${which} schema is not a list of fields`);
  return value.map((field, i) => {
    if (!field || typeof field !== "object") throw new GppiShapeError(`${which} schema field ${i} is not an object`);
    const f = field as Record<string, unknown>;
    if (typeof f.name !== "string" || f.name === "") {
      throw new GppiShapeError(`${which} schema field ${i} has no name`);
    }
    // Python GPPI models answer dtype names of any kind; keep them as text, "any" when absent.
    const out: FieldSchema = { name: f.name, type: f.type === undefined || f.type === null ? "any" : String(f.type) };
    if (typeof f.required === "boolean") out.required = f.required;
    if ("example" in f) out.example = f.example;
    return out;
  });
}

/** Reads what info()/get_info() answered: `[input, output]` or `{input, output}`. */
export function parseInfoSchemas(value: unknown): { inputSchema: FieldSchema[]; outputSchema: FieldSchema[] } {
  if (Array.isArray(value) && value.length === 2) {
    return { inputSchema: parseFields(value[0], "input"), outputSchema: parseFields(value[1], "output") };
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if ("input" in v || "output" in v) {
      return { inputSchema: parseFields(v.input, "input"), outputSchema: parseFields(v.output, "output") };
    }
  }
  throw new GppiShapeError("expected [inputSchema, outputSchema] or {input, output}");
}

const NUMERIC_TYPE = /^(number|numeric|float|double|decimal|real|int|integer|long|short|(u?int|float)(8|16|32|64)|fp(16|32|64)|u?int(8|16|32|64)_?t?)$/i;
const BOOL_TYPE = /^(bool|boolean)$/i;
const STRING_TYPE = /^(str|string|text|object|bytes)$/i;

/** The one datatype all fields share as a tensor column, or undefined when they are mixed or unknown. */
function columnDatatype(fields: FieldSchema[]): Datatype | undefined {
  if (fields.length === 0) return undefined;
  if (fields.every((f) => NUMERIC_TYPE.test(f.type))) return "FP64";
  if (fields.every((f) => BOOL_TYPE.test(f.type))) return "BOOL";
  if (fields.every((f) => STRING_TYPE.test(f.type))) return "BYTES";
  return undefined;
}

/** Name of the tensor a GPPI matrix model takes, and of the one it answers. */
export const MATRIX_INPUT_NAME = "input";
export const MATRIX_OUTPUT_NAME = "prediction";

/**
 * Tensor view of a matrix model from its schemas: N numeric columns become one `[-1, N]` FP64 tensor (BOOL or BYTES
 * when all columns are booleans or strings). Mixed or unknown column types give no tensor view.
 */
export function matrixTensorSpecs(
  inputSchema: FieldSchema[] | undefined,
  outputSchema: FieldSchema[] | undefined,
): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const spec = (name: string, fields: FieldSchema[] | undefined): TensorSpec[] => {
    const datatype = fields && columnDatatype(fields);
    return fields && datatype ? [{ name, datatype, shape: [-1, fields.length] }] : [];
  };
  return { inputs: spec(MATRIX_INPUT_NAME, inputSchema), outputs: spec(MATRIX_OUTPUT_NAME, outputSchema) };
}

/** Reads what predict_on_matrix() answered: `[prediction, columns]` or `{prediction, columns}`. */
export function normaliseMatrixResult(value: unknown): MatrixOutput {
  let prediction: unknown;
  let columns: unknown;
  if (Array.isArray(value) && value.length === 2 && toArray(value[0]) && (value[1] == null || isStringArray(value[1]))) {
    [prediction, columns] = value;
  } else if (value && typeof value === "object" && !Array.isArray(value) && "prediction" in value) {
    ({ prediction, columns } = value as { prediction: unknown; columns?: unknown });
  } else {
    throw new GppiShapeError("predict_on_matrix must return [prediction, columns] or {prediction, columns}");
  }
  const rows = toArray(prediction);
  if (!rows) throw new GppiShapeError("the prediction is not a list");
  if (columns != null && !isStringArray(columns)) throw new GppiShapeError("the output columns are not a list of strings");
  const out: MatrixOutput = { prediction: rows.map((row) => toArray(row) ?? row) };
  if (columns != null) out.columns = columns;
  return out;
}

/** Checks a matrix request is a non-empty 2-D array of equally long rows; answers the row width. */
export function checkMatrix(data: unknown, columns: unknown): { width: number } {
  if (!Array.isArray(data)) throw new GppiShapeError("the input matrix is not a list of rows");
  if (data.length === 0) throw new GppiShapeError("the input matrix has no rows");
  const first = data[0];
  if (!Array.isArray(first)) throw new GppiShapeError("row 0 of the input matrix is not a list");
  const width = first.length;
  for (let i = 1; i < data.length; i++) {
    const row = data[i];
    if (!Array.isArray(row)) throw new GppiShapeError(`row ${i} of the input matrix is not a list`);
    if (row.length !== width) {
      throw new GppiShapeError(`row ${i} of the input matrix has ${row.length} values, row 0 has ${width}`);
    }
  }
  if (columns !== undefined && columns !== null) {
    if (!isStringArray(columns)) throw new GppiShapeError("columns is not a list of strings");
    if (columns.length !== width) {
      throw new GppiShapeError(`${columns.length} column names were given for rows of ${width} values`);
    }
  }
  return { width };
}

/**
 * Checks a matrix request for a GPPI model: its shape (checkMatrix) and, when the model's info() lists input columns,
 * the row width against them. Throws OMAF_ERR_BAD_INPUT.
 */
export function checkMatrixRequest(input: MatrixInput | undefined, inputSchema: FieldSchema[] | undefined): MatrixInput {
  const { data, columns } = input ?? ({} as MatrixInput);
  let width: number;
  try {
    ({ width } = checkMatrix(data, columns));
  } catch (err) {
    throw new OmafError("OMAF_ERR_BAD_INPUT", (err as Error).message);
  }
  if (inputSchema && inputSchema.length > 0 && width !== inputSchema.length) {
    throw new OmafError(
      "OMAF_ERR_BAD_INPUT",
      `rows have ${width} values; the model's input schema has ${inputSchema.length} columns (${inputSchema.map((f) => f.name).join(", ")})`,
    );
  }
  return { data, columns };
}
