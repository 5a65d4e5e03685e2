// The one adapter between named tensors and the model, shared by every tensor protocol (OIP v2 REST and gRPC), so
// they all accept and answer the same things:
// - tensor-native models (onnx) take the tensors as they are (dataplane.predictTensors);
// - GPPI matrix models get rows: one 2-D input [rows, columns] (a 1-D input is one row), or several 1-D inputs [N]
//   (or [N, 1]) that are the columns named by the inputs — also a single one when the request says
//   `parameters.content_type: "pd"` (MLServer's pandas codec); the answer is one tensor `prediction` [rows, columns]
//   (or [rows] for a flat answer) with the output column names in its `parameters.columns`;
// - GPPI objects models get each element of one BYTES input as a JSON document and answer a BYTES tensor of the
//   same shape holding each answer as JSON text.
// And the other way round, for matrix protocols (Odahu, KServe v1 rows, OMI) on tensor-native models: the rows become
// the model's single 2-D input, each value checked against its datatype (the same check as OIP JSON tensors), and the
// outputs become columns of the answer rows (matrixAsTensor / tensorsAsMatrix).
// tensorSignature() is the tensor view of the model that metadata endpoints report, consistent with the above.
import { badInput, OmafError } from "../errors.js";
import { toJsonText } from "../json.js";
import { parseJsonText } from "./json-input.js";
import { MATRIX_INPUT_NAME, MATRIX_OUTPUT_NAME } from "../runtime/gppi.js";
import type { MatrixInput, MatrixOutput, ModelMetadata } from "../runtime/model.js";
import { checkTensor } from "../tensor/datatype.js";
import { matrixFromTensor, rowsFromTensors, rowValuesFromData, tensorFromMatrix } from "../tensor/matrix.js";
import type { Datatype, Tensor, TensorSpec } from "../tensor/tensor.js";
import type { JsonElement } from "../tensor/values.js";
import type { Inference, ItemResult } from "./dataplane.js";
import { formatSpec, validateTensors } from "./validate.js";

/** Tensor parameter carrying column names: on a matrix model's input (optional) and on its `prediction` output. */
export const COLUMNS_PARAMETER = "columns";

/** Tensor parameter that marks a BYTES tensor whose elements are JSON texts (objects models, mixed predictions). */
export const CONTENT_TYPE_PARAMETER = "content_type";
export const JSON_CONTENT_TYPE = "json";

/** Input and output tensors a model takes and answers, as metadata endpoints report them (-1 = any size). */
export interface TensorSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * The tensor view of a loaded model: a tensor-native model's own inputs and outputs; a matrix model's `input` /
 * `prediction` specs derived from its GPPI schema (none when it has no schema of one kind of field: such a model
 * takes any datatype); an objects model's `input` / `prediction` BYTES [-1].
 */
export function tensorSignature(meta: ModelMetadata, takesTensors: boolean): TensorSignature {
  if (takesTensors || meta.mode === "matrix") return { inputs: meta.inputs, outputs: meta.outputs };
  return {
    inputs: [{ name: MATRIX_INPUT_NAME, datatype: "BYTES", shape: [-1] }],
    outputs: [OBJECTS_OUTPUT],
  };
}

const OBJECTS_OUTPUT: TensorSpec = { name: MATRIX_OUTPUT_NAME, datatype: "BYTES", shape: [-1] };
/** What a matrix model answers when its schema declares no output spec. */
const MATRIX_OUTPUT: TensorSpec = { name: MATRIX_OUTPUT_NAME, datatype: "FP64", shape: [-1, -1] };

/**
 * Runs one inference on named tensors, whatever kind of model is served; answers the output tensors (only those in
 * `outputNames` when given). Bad inputs are OMAF_ERR_BAD_INPUT; timeouts and model errors come from the dataplane as
 * for every other call.
 */
export function inferTensors(
  inference: Inference,
  inputs: Tensor[],
  outputNames: string[] | undefined,
  requestParameters?: Readonly<Record<string, unknown>>,
): Promise<Tensor[]> {
  // Tensor-native models: handed straight through, without another promise in between.
  if (inference.takesTensors) return inference.predictTensors(inputs, outputNames);
  return inferRows(inference, inputs, outputNames, requestParameters?.[CONTENT_TYPE_PARAMETER] === PANDAS_CONTENT_TYPE);
}

/** Request-level `content_type` of MLServer's pandas codec: every input is one column of a DataFrame. */
export const PANDAS_CONTENT_TYPE = "pd";

/** GPPI models: tensors become rows (matrix) or JSON documents (objects). */
async function inferRows(inference: Inference, inputs: Tensor[], outputNames: string[] | undefined, columnar: boolean): Promise<Tensor[]> {
  const meta = inference.metadata;
  if (meta.mode === "objects") return inferObjects(inference, inputs, outputNames);
  checkOutputNames(outputNames, meta.outputs.length > 0 ? meta.outputs : [MATRIX_OUTPUT]);
  // A declared contract is exact: names, datatypes and shapes as declared, not just a numeric kind.
  if (meta.declaredContract) validateTensors(inputs, outputNames, meta);
  const spec = meta.inputs.length === 1 ? meta.inputs[0] : undefined;
  const input = columnar || inputs.length > 1 ? columnsInput(inputs, spec) : matrixInput(inputs, spec);
  const output = await inference.predictMatrix(input);
  return [predictionTensor(output, meta.outputs[0])];
}

/**
 * A matrix request for a tensor-native model as its input tensors, in each input's datatype (a value that does not
 * fit — a string, 1e39 for FP32, 1.5 for INT64 — is OMAF_ERR_BAD_INPUT). One 2-D input takes the rows whole; several
 * inputs share each row's columns in declared order: a 2-D input of fixed width takes that many, a 1-D input one
 * (so Triton's "simple" model, INPUT0 and INPUT1 of [-1,16], takes rows of 32 values).
 */
export function matrixAsTensors(input: MatrixInput, meta: ModelMetadata): Tensor[] {
  const specs = meta.inputs;
  if (specs.length === 1 && specs[0].shape.length === 2) return [tensorFromMatrix(input.data, specs[0].name, specs[0].datatype)];
  const widths = rowWidths(specs);
  if (!widths) {
    const list = specs.map((s) => `${s.name} ${formatSpec(s)}`).join(", ") || "none declared";
    throw badInput(`the model's inputs (${list}) cannot be read from rows: matrix requests need one 2-D input, or inputs of fixed width — send named tensors`);
  }
  const total = widths.reduce((a, b) => a + b, 0);
  const rows = input.data;
  rows.forEach((row, r) => {
    if (row.length !== total) {
      throw badInput(
        `row ${r} has ${row.length} values; the model's inputs take ${total} per row (${specs.map((s, i) => `${s.name}: ${widths[i]}`).join(", ")})`,
      );
    }
  });
  let at = 0;
  return specs.map((spec, i) => {
    const w = widths[i];
    const from = at;
    at += w;
    const part = rows.map((row) => row.slice(from, from + w));
    return tensorFromMatrix(spec.shape.length === 1 ? part.map((p) => p[0]) : part, spec.name, spec.datatype);
  });
}

/** How many of a row's values each input takes (a 1-D input one), or undefined when rows cannot carry them. */
function rowWidths(specs: readonly TensorSpec[]): number[] | undefined {
  const widths = specs.map((s) => (s.shape.length === 1 ? 1 : s.shape.length === 2 && s.shape[1] > 0 ? s.shape[1] : undefined));
  return specs.length > 0 && widths.every((w) => w !== undefined) ? (widths as number[]) : undefined;
}

/** True when matrix requests can be read as the model's inputs (one 2-D input, or inputs of fixed width). */
export function rowsFitInputs(meta: ModelMetadata): boolean {
  return (meta.inputs.length === 1 && meta.inputs[0].shape.length === 2) || rowWidths(meta.inputs) !== undefined;
}

/** A tensor-native model's outputs as the matrix answer: one row per input row, one column per output. */
export function tensorsAsMatrix(outputs: readonly Tensor[], rows: number): MatrixOutput {
  return { prediction: rowsFromTensors(outputs, rows), columns: outputs.map((t) => t.name) };
}

/** Requested outputs must be ones the model answers. */
function checkOutputNames(outputNames: string[] | undefined, outputs: readonly TensorSpec[]): void {
  if (!outputNames) return;
  for (const name of outputNames) {
    if (!outputs.some((o) => o.name === name)) {
      throw badInput(`the model has no output '${name}'; outputs: ${outputs.map((o) => o.name).join(", ")}`, { output: name });
    }
  }
}

const NUMERIC: ReadonlySet<Datatype> = new Set(["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"]);

/** A matrix model's spec takes any numeric datatype when it is numeric (a number is a number in a row). */
function datatypeFits(datatype: Datatype, spec: TensorSpec): boolean {
  return NUMERIC.has(spec.datatype) ? NUMERIC.has(datatype) : datatype === spec.datatype;
}

/** Every input is well formed and of a datatype the model's declared input (if any) takes. */
function checkRowInputs(inputs: Tensor[], spec: TensorSpec | undefined): void {
  if (inputs.length === 0) throw badInput(`the request has no inputs; the model takes ${spec ? `${spec.name} ${formatSpec(spec)}` : "rows"}`);
  for (const t of inputs) {
    checkTensor(t, "OMAF_ERR_BAD_INPUT");
    if (spec && !datatypeFits(t.datatype, spec)) {
      const allowed = NUMERIC.has(spec.datatype) ? "a numeric datatype" : spec.datatype;
      throw badInput(`input '${t.name}' is ${t.datatype}; the model takes ${allowed} (${spec.name} ${formatSpec(spec)})`, { input: t.name });
    }
  }
}

/** One tensor → the rows (and column names) a matrix model takes; `spec` is the model's declared input, if any. */
function matrixInput(inputs: Tensor[], spec: TensorSpec | undefined): MatrixInput {
  checkRowInputs(inputs, spec);
  const t = inputs[0];
  let data: JsonElement[][];
  if (t.shape.length === 2) data = matrixFromTensor(t);
  else if (t.shape.length === 1) data = [rowValuesFromData(t.datatype, t.data)];
  else throw badInput(`input '${t.name}' has shape [${t.shape.join(",")}]; the model takes rows: [rows, columns], or [columns] for one row`, { input: t.name });
  const columns = columnsOf(t);
  return columns ? { data, columns } : { data };
}

/**
 * Each input is one column, named by the input, in request order (MLServer's pandas codec, or simply several inputs):
 * [N] or [N, 1] values each, datatypes free to differ, so rows can mix strings and numbers.
 */
function columnsInput(inputs: Tensor[], spec: TensorSpec | undefined): MatrixInput {
  checkRowInputs(inputs, spec);
  const n = inputs[0].shape[0];
  const columns: JsonElement[][] = [];
  const names = new Set<string>();
  for (const t of inputs) {
    if (names.has(t.name)) throw badInput(`input '${t.name}' is given twice`, { input: t.name });
    names.add(t.name);
    const column = t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1);
    if (!column || t.shape[0] !== n) {
      throw badInput(`input '${t.name}' has shape [${t.shape.join(",")}]; as columns, each input is [${n}] (or [${n},1]) values`, { input: t.name });
    }
    columns.push(rowValuesFromData(t.datatype, t.data));
  }
  const data = Array.from({ length: n }, (_, r) => columns.map((col) => col[r]));
  return { data, columns: inputs.map((t) => t.name) };
}

/** Column names from a tensor's `columns` parameter: a list of strings, or its JSON text (gRPC string_param). */
function columnsOf(t: Tensor): string[] | undefined {
  let v = t.parameters?.[COLUMNS_PARAMETER];
  if (v === undefined) return undefined;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      v = undefined;
    }
  }
  if (!Array.isArray(v) || !v.every((c) => typeof c === "string")) {
    throw badInput(`input '${t.name}': parameters.${COLUMNS_PARAMETER} must be a list of column names (or its JSON text)`, { input: t.name });
  }
  return v;
}

/**
 * A matrix answer as the `prediction` tensor. With a declared output (the model's info() schema), in that datatype:
 * an answer whose values do not fit it is the model's error (OMAF_ERR_PREDICT, naming both), never silently re-typed;
 * null stands for NaN in a float output (GPPI bridges answer NaN as null). Without one: FP64 for numbers, BOOL for
 * booleans, BYTES for strings; anything else (mixed kinds, nulls, nested cells) is BYTES holding each cell's JSON
 * text, marked `content_type: json`.
 */
function predictionTensor(output: MatrixOutput, declared: TensorSpec | undefined): Tensor {
  let t: Tensor;
  if (declared) {
    const float = declared.datatype === "FP16" || declared.datatype === "FP32" || declared.datatype === "FP64";
    try {
      t = tensorFromMatrix(float ? nullsAsNaN(output.prediction) : output.prediction, MATRIX_OUTPUT_NAME, declared.datatype);
    } catch (err) {
      throw new OmafError(
        "OMAF_ERR_PREDICT",
        `the model's answer does not fit its declared output ${declared.name} ${formatSpec(declared)}: ${(err as Error).message}`,
        {
          output: declared.name,
          datatype: declared.datatype,
        },
      );
    }
  } else {
    try {
      t = tensorFromMatrix(output.prediction, MATRIX_OUTPUT_NAME);
    } catch {
      t = jsonCellsTensor(output.prediction);
    }
  }
  if (output.columns) t.parameters = { ...t.parameters, [COLUMNS_PARAMETER]: output.columns };
  return t;
}

function nullsAsNaN(rows: readonly unknown[]): unknown[] {
  return rows.map((row) => (row === null ? NaN : Array.isArray(row) ? row.map((v) => (v === null ? NaN : v)) : row));
}

function jsonCellsTensor(prediction: unknown[]): Tensor {
  const rows = prediction.map((row) => (Array.isArray(row) ? row : [row]));
  const width = rows[0]?.length ?? 0;
  const flat: Uint8Array[] = [];
  for (let r = 0; r < rows.length; r++) {
    if (rows[r].length !== width) {
      throw new OmafError("OMAF_ERR_PREDICT", `the prediction's row ${r} has ${rows[r].length} values, row 0 has ${width}`);
    }
    for (const cell of rows[r]) flat.push(Buffer.from(jsonText(cell), "utf8"));
  }
  const flatAnswer = prediction.every((row) => !Array.isArray(row));
  return {
    name: MATRIX_OUTPUT_NAME,
    datatype: "BYTES",
    shape: flatAnswer ? [rows.length] : [rows.length, width],
    data: flat,
    parameters: { [CONTENT_TYPE_PARAMETER]: JSON_CONTENT_TYPE },
  };
}

/** Objects models: each element of one BYTES input is a JSON request; the answers come back in the same shape. */
async function inferObjects(inference: Inference, inputs: Tensor[], outputNames: string[] | undefined): Promise<Tensor[]> {
  checkOutputNames(outputNames, [OBJECTS_OUTPUT]);
  if (inputs.length !== 1) throw badInput(`an objects model takes one BYTES input of JSON documents; got ${inputs.length} inputs`);
  const t = checkTensor(inputs[0], "OMAF_ERR_BAD_INPUT");
  if (t.datatype !== "BYTES") throw badInput(`input '${t.name}' is ${t.datatype}; an objects model takes BYTES elements holding JSON`, { input: t.name });
  const items: ItemResult<unknown>[] = (t.data as Uint8Array[]).map((bytes, i) => {
    try {
      return { ok: true, value: parseJsonText(bytes, `input '${t.name}' element ${i}`) };
    } catch (err) {
      return { ok: false, error: err as OmafError };
    }
  });
  const results = await inference.predictJsonBatch(items);
  const data = results.map((r) => {
    if (!r.ok) throw r.error;
    return Buffer.from(jsonText(r.value.result), "utf8") as Uint8Array;
  });
  return [{ name: MATRIX_OUTPUT_NAME, datatype: "BYTES", shape: t.shape, data, parameters: { [CONTENT_TYPE_PARAMETER]: JSON_CONTENT_TYPE } }];
}

/** JSON text of a model's answer; BigInt and typed arrays are converted rather than refused. */
function jsonText(value: unknown): string {
  try {
    return toJsonText(value);
  } catch (err) {
    throw new OmafError("OMAF_ERR_PREDICT", `the prediction is not JSON-serialisable: ${(err as Error).message}`);
  }
}
