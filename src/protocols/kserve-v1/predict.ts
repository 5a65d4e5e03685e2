// KServe v1 predict bodies → dataplane calls. Matrix models take the instances as rows of one prediction; objects
// models take each instance as one predict_on_objects call (one prediction per instance, as KServe means it).
import { OmafError } from "../../errors.js";
import type { Inference } from "../../dataplane/dataplane.js";
import { describe } from "../../dataplane/json-input.js";
import type { MatrixInput } from "../../runtime/model.js";

/** What a predict body holds: the list of instances, or TF-style columnar `inputs` (`{"col": [values...]}`). */
export type PredictRequest = { kind: "instances"; instances: unknown[] } | { kind: "columnar"; columns: Record<string, unknown[]> };

/** Reads `{"instances": [...]}` or `{"inputs": [...]}` (or columnar `{"inputs": {"col": [...]}}`). */
export function readPredictRequest(body: unknown): PredictRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw bad(`a predict request is {"instances": [...]} or {"inputs": [...]}, not ${describe(body)}`);
  }
  const { instances, inputs } = body as { instances?: unknown; inputs?: unknown };
  if (instances !== undefined && inputs !== undefined) throw bad(`give either "instances" or "inputs", not both`);
  const value = instances ?? inputs;
  const key = instances !== undefined ? "instances" : "inputs";
  if (value === undefined) throw bad(`a predict request needs "instances" (or "inputs")`);
  if (Array.isArray(value)) {
    if (value.length === 0) throw bad(`"${key}" is empty`);
    return { kind: "instances", instances: value };
  }
  if (key === "inputs" && value !== null && typeof value === "object") {
    const columns = value as Record<string, unknown>;
    if (Object.keys(columns).length === 0) throw bad(`"inputs" names no columns`);
    for (const [name, values] of Object.entries(columns)) {
      if (!Array.isArray(values)) throw bad(`column "${name}" of "inputs" must be an array of values, not ${describe(values)}`);
    }
    return { kind: "columnar", columns: columns as Record<string, unknown[]> };
  }
  throw bad(`"${key}" must be an array, not ${describe(value)}`);
}

/**
 * Rows for a matrix model. Instances are rows: arrays of values, or objects mapping column names to values (the
 * first instance's keys name the columns; every instance must have the same keys). Columnar inputs become rows.
 */
export function toMatrixInput(request: PredictRequest): MatrixInput {
  if (request.kind === "columnar") {
    const columns = Object.keys(request.columns);
    const lengths = columns.map((c) => request.columns[c].length);
    if (lengths.some((n) => n !== lengths[0])) throw bad(`the columns of "inputs" differ in length (${lengths.join(", ")})`);
    const data = Array.from({ length: lengths[0] }, (_, i) => columns.map((c) => request.columns[c][i]));
    return { data, columns };
  }
  const { instances } = request;
  if (instances.every(Array.isArray)) return { data: instances as unknown[][] };
  if (instances.every(isPlainObject)) {
    const columns = Object.keys(instances[0] as object);
    const data = (instances as Array<Record<string, unknown>>).map((inst, i) => {
      const keys = Object.keys(inst);
      if (keys.length !== columns.length || !columns.every((c) => c in inst)) {
        throw bad(`instance ${i} has keys (${keys.join(", ")}) but instance 0 has (${columns.join(", ")})`);
      }
      return columns.map((c) => inst[c]);
    });
    return { data, columns };
  }
  const odd = instances.findIndex((x) => !Array.isArray(x) && !isPlainObject(x));
  throw bad(
    odd >= 0
      ? `instance ${odd} is ${describe(instances[odd])}; each instance of a matrix model is a row (an array) or an object of column values`
      : "instances mix rows (arrays) and objects; use one form",
  );
}

/** The `predictions` for a request: the prediction rows (matrix) or one result per instance (objects). */
export async function predict(inference: Inference, request: PredictRequest): Promise<unknown[]> {
  const meta = inference.metadata;
  if (meta.mode === "matrix") return (await inference.predictMatrix(toMatrixInput(request))).prediction;
  if (request.kind === "columnar") throw bad(`this model takes objects: send {"instances": [{...}, ...]}, not columnar "inputs"`);
  const results = await inference.predictJsonBatch(request.instances.map((value) => ({ ok: true as const, value })));
  return results.map((r, i) => {
    if (r.ok) return r.value.result;
    if (results.length === 1) throw r.error;
    throw new OmafError(r.error.code, `instance ${i}: ${r.error.message}`, r.error.details, { cause: r.error });
  });
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function bad(message: string): OmafError {
  return new OmafError("OMAF_ERR_BAD_INPUT", message);
}
