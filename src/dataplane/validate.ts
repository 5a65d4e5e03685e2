// Request checks done once, before the model is called, so every protocol rejects the same bad input the same way.
import { badInput } from "../errors.js";
import type { MatrixInput, ModelMetadata } from "../runtime/model.js";
import { checkTensor } from "../tensor/datatype.js";
import type { Tensor, TensorSpec } from "../tensor/tensor.js";
import { describe } from "./json-input.js";

/** Rows are arrays of equal width, columns (if any) match that width, and a fixed model width is respected. */
export function validateMatrix(input: MatrixInput, meta: ModelMetadata): void {
  if (input === null || typeof input !== "object") throw badInput(`a matrix request is {"data": [[...]], "columns"?: [...]}, not ${describe(input)}`);
  const { data, columns } = input;
  if (!Array.isArray(data)) throw badInput(`"data" must be a 2-D array (rows of values), not ${describe(data)}`);
  if (data.length === 0) throw badInput(`"data" has no rows`);
  const first = data[0];
  if (!Array.isArray(first)) throw badInput(`"data" must be a 2-D array: row 0 is ${describe(first)}`);
  const width = first.length;
  for (let i = 1; i < data.length; i++) {
    const row = data[i];
    if (!Array.isArray(row)) throw badInput(`"data" must be a 2-D array: row ${i} is ${describe(row)}`);
    if (row.length !== width) throw badInput(`"data" rows differ in length: row 0 has ${width} values, row ${i} has ${row.length}`);
  }
  if (columns && columns.length !== width) throw badInput(`"columns" names ${columns.length} columns but rows have ${width} values`);
  const expected = fixedMatrixWidth(meta);
  if (expected !== undefined && width !== expected) {
    throw badInput(`the model takes rows of ${expected} values (input ${meta.inputs[0].name} ${formatSpec(meta.inputs[0])}); got ${width}`);
  }
  if (meta.inputs.length === 1 && meta.inputs[0].shape.length === 2) checkCellKinds(data, meta.inputs[0]);
}

/**
 * A matrix model whose input declares a datatype (an ONNX input, or a GPPI schema of all-number, all-boolean or
 * all-string fields) takes cells of that kind only, so a string sent to a numeric model is the caller's error, not
 * something the model may silently concatenate. null stays allowed (a missing value is the model's to handle).
 */
function checkCellKinds(data: unknown[][], spec: TensorSpec): void {
  const kind = cellKind(spec);
  if (!kind) return;
  for (let r = 0; r < data.length; r++) {
    const row = data[r];
    for (let c = 0; c < row.length; c++) {
      const v = row[c];
      if (v === null || kind.accepts(v)) continue;
      throw badInput(`row ${r}, column ${c} is ${describe(v)}; input ${spec.name} ${formatSpec(spec)} takes ${kind.expects}`);
    }
  }
}

function cellKind(spec: TensorSpec): { accepts: (v: unknown) => boolean; expects: string } | undefined {
  switch (spec.datatype) {
    case "BYTES":
      return { accepts: (v) => typeof v === "string", expects: "strings" };
    case "BOOL":
      return { accepts: (v) => typeof v === "boolean" || v === 0 || v === 1, expects: "booleans" };
    default:
      return { accepts: (v) => typeof v === "number" || typeof v === "bigint", expects: "numbers" };
  }
}

/** The row width a matrix model fixes: its only input is 2-D with a known second dimension. */
function fixedMatrixWidth(meta: ModelMetadata): number | undefined {
  if (meta.inputs.length !== 1) return undefined;
  const shape = meta.inputs[0].shape;
  return shape.length === 2 && shape[1] > 0 ? shape[1] : undefined;
}

/** Names, datatypes and shapes match the model's inputs; every input is given once; requested outputs exist. */
export function validateTensors(inputs: Tensor[], outputNames: string[] | undefined, meta: ModelMetadata): void {
  if (!Array.isArray(inputs)) throw badInput("inputs must be a list of tensors");
  // Runs on every tensor request, most of which carry one input or a few: plain loops over the lists, no sets or
  // callbacks (a set only for the rare request with many inputs).
  const specs = meta.inputs;
  const seen = inputs.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    // Well-formed: a known datatype, a valid shape, data of the datatype's kind holding product(shape) elements.
    checkTensor(t, "OMAF_ERR_BAD_INPUT");
    if (seen ? seen.has(t.name) : indexOfName(inputs, t.name) < i) throw badInput(`input ${t.name} is given twice`);
    seen?.add(t.name);
    if (specs.length === 0) continue;
    const at = indexOfName(specs, t.name);
    if (at < 0) throw badInput(`the model has no input ${t.name}; inputs: ${specs.map((s) => s.name).join(", ")}`);
    const spec = specs[at];
    if (spec.datatype !== t.datatype) throw badInput(`input ${t.name} must be ${spec.datatype}, got ${t.datatype}`);
    if (!shapeFits(t.shape, spec.shape)) throw badInput(`input ${t.name} must have shape ${formatShape(spec.shape)}, got [${t.shape.join(",")}]`);
  }
  for (let i = 0; i < specs.length; i++) {
    if (!(seen ? seen.has(specs[i].name) : indexOfName(inputs, specs[i].name) >= 0))
      throw badInput(`input ${specs[i].name} ${formatSpec(specs[i])} is missing`);
  }
  if (outputNames && meta.outputs.length > 0) {
    for (const name of outputNames) {
      if (indexOfName(meta.outputs, name) < 0) throw badInput(`the model has no output ${name}; outputs: ${meta.outputs.map((s) => s.name).join(", ")}`);
    }
  }
}

/** The index of the first item named `name`, or -1. */
function indexOfName(items: ReadonlyArray<{ name: string }>, name: string): number {
  for (let i = 0; i < items.length; i++) if (items[i].name === name) return i;
  return -1;
}

/** Same rank and every fixed dimension equal (-1 matches anything). */
export function shapeFits(shape: readonly number[], spec: readonly number[]): boolean {
  if (shape.length !== spec.length) return false;
  for (let i = 0; i < spec.length; i++) if (spec[i] >= 0 && spec[i] !== shape[i]) return false;
  return true;
}

/** `FP32 [-1,4]`. */
export function formatSpec(spec: TensorSpec): string {
  return `${spec.datatype} ${formatShape(spec.shape)}`;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
