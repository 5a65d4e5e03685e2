// KServe v1 predict bodies → dataplane calls → answers, by TensorFlow Serving's REST rules (row format `instances`
// answered as `predictions`, columnar format `inputs` answered as `outputs`). Tensor models read the body as named
// tensors (tensors.ts). Matrix models take the instances as rows of one prediction and answer the model's rows.
// Objects models take each instance as one predict_on_objects call (one prediction per instance, as KServe means it).
import { badInput, OmafError } from "../../errors.js";
import type { Inference } from "../../dataplane/dataplane.js";
import { describe } from "../../dataplane/json-input.js";
import type { MatrixInput } from "../../runtime/model.js";
import { columnarFromTensors, predictionsFromTensors, tensorsFromColumnar, tensorsFromInstances } from "./tensors.js";

/** What a predict body holds: the row format's instances, or the columnar format's `inputs` value. */
export type PredictRequest = { format: "row"; instances: unknown[] } | { format: "columnar"; inputs: unknown };

/** The answer body: `predictions` for the row format, `outputs` for the columnar one. */
export type PredictResponse = { predictions: unknown[] } | { outputs: unknown };

/** Reads `{"instances": [...]}` (a non-empty list) or `{"inputs": <value>}`. */
export function readPredictRequest(body: unknown): PredictRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badInput(`a predict request is {"instances": [...]} or {"inputs": ...}, not ${describe(body)}`);
  }
  const { instances, inputs } = body as { instances?: unknown; inputs?: unknown };
  if (instances !== undefined && inputs !== undefined) throw badInput(`give either "instances" or "inputs", not both`);
  if (inputs !== undefined) {
    if (inputs === null) throw badInput(`"inputs" is null`);
    return { format: "columnar", inputs };
  }
  if (instances === undefined) throw badInput(`a predict request needs "instances" (or "inputs")`);
  if (!Array.isArray(instances)) throw badInput(`"instances" must be an array, not ${describe(instances)}`);
  if (instances.length === 0) throw badInput(`"instances" is empty`);
  return { format: "row", instances };
}

/** The answer to a predict request, by the kind of model served. */
export async function predict(inference: Inference, request: PredictRequest): Promise<PredictResponse> {
  if (inference.takesTensors) return predictOnTensors(inference, request);
  if (inference.metadata.mode === "matrix") {
    const { prediction } = await inference.predictMatrix(toMatrixInput(request));
    return request.format === "row" ? { predictions: prediction } : { outputs: prediction };
  }
  return { predictions: await predictOnObjects(inference, request) };
}

async function predictOnTensors(inference: Inference, request: PredictRequest): Promise<PredictResponse> {
  const specs = inference.metadata.inputs;
  if (request.format === "columnar") {
    return { outputs: columnarFromTensors(await inference.predictTensors(tensorsFromColumnar(request.inputs, specs))) };
  }
  const outputs = await inference.predictTensors(tensorsFromInstances(request.instances, specs));
  return { predictions: predictionsFromTensors(outputs, request.instances.length) };
}

/** One predict_on_objects call per instance, under the one admission; the first failing instance fails the request. */
async function predictOnObjects(inference: Inference, request: PredictRequest): Promise<unknown[]> {
  if (request.format === "columnar") throw badInput(`this model takes objects: send {"instances": [{...}, ...]}, not columnar "inputs"`);
  const results = await inference.predictJsonBatch(request.instances.map((value) => ({ ok: true as const, value })));
  return results.map((r, i) => {
    if (r.ok) return r.value.result;
    if (results.length === 1) throw r.error;
    throw new OmafError(r.error.code, `instance ${i}: ${r.error.message}`, r.error.details, { cause: r.error });
  });
}

/**
 * Rows for a matrix model. Instances (and a list given as columnar `inputs`) are rows: arrays of values, or objects
 * mapping column names to values (the first instance's keys name the columns; every instance must have the same
 * keys). Columnar `inputs` as an object of columns `{"col": [values...]}` become rows too.
 */
export function toMatrixInput(request: PredictRequest): MatrixInput {
  if (request.format === "row") return rowsInput(request.instances);
  const { inputs } = request;
  if (Array.isArray(inputs)) return rowsInput(inputs);
  if (isPlainObject(inputs)) return columnsInput(inputs);
  throw badInput(`"inputs" of a matrix model is a list of rows or an object of columns {"col": [values...]}, not ${describe(inputs)}`);
}

function rowsInput(instances: unknown[]): MatrixInput {
  if (instances.every(Array.isArray)) return { data: instances as unknown[][] };
  if (instances.every(isPlainObject)) {
    const columns = Object.keys(instances[0] as object);
    const data = (instances as Array<Record<string, unknown>>).map((inst, i) => {
      const keys = Object.keys(inst);
      if (keys.length !== columns.length || !columns.every((c) => c in inst)) {
        throw badInput(`instance ${i} has keys (${keys.join(", ")}) but instance 0 has (${columns.join(", ")})`);
      }
      return columns.map((c) => inst[c]);
    });
    return { data, columns };
  }
  const odd = instances.findIndex((x) => !Array.isArray(x) && !isPlainObject(x));
  throw badInput(
    odd >= 0
      ? `instance ${odd} is ${describe(instances[odd])}; each instance of a matrix model is a row (an array) or an object of column values`
      : "instances mix rows (arrays) and objects; use one form",
  );
}

function columnsInput(inputs: Record<string, unknown>): MatrixInput {
  const columns = Object.keys(inputs);
  if (columns.length === 0) throw badInput(`"inputs" names no columns`);
  for (const c of columns) {
    if (!Array.isArray(inputs[c])) throw badInput(`column "${c}" of "inputs" must be an array of values, not ${describe(inputs[c])}`);
  }
  const values = inputs as Record<string, unknown[]>;
  const lengths = columns.map((c) => values[c].length);
  if (lengths.some((n) => n !== lengths[0])) throw badInput(`the columns of "inputs" differ in length (${lengths.join(", ")})`);
  const data = Array.from({ length: lengths[0] }, (_, i) => columns.map((c) => values[c][i]));
  return { data, columns };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}
