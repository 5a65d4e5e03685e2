// The example requests of the docs page: a model's sample input (offline/samples.ts — the manifest's sample.input, else
// what the loaded model declares) written as the body of an OIP v2 inference request and of a KServe v1 predict
// request, in the forms those routes read for that kind of model (see dataplane/tensor-inference.ts and
// protocols/kserve-v1/predict.ts). An example that cannot be written for the model is left out, never guessed. A
// sample file is a page's example only when it is small (a sample of many rows gives its first few).
import { stat } from "node:fs/promises";
import { matrixAsTensors, rowsFitInputs } from "../../dataplane/tensor-inference.js";
import { artifactPath, declaredSample, type ModelSample, readManifestSample } from "../../offline/samples.js";
import { MATRIX_INPUT_NAME } from "../../runtime/gppi.js";
import type { ModelMetadata } from "../../runtime/model.js";
import { parseInferBody } from "../../tensor/binary.js";
import { type JsonTensor, tensorToJson } from "../../tensor/json.js";
import { matrixFromTensor, rowsFromTensors, tensorFromMatrix } from "../../tensor/matrix.js";
import type { Tensor } from "../../tensor/tensor.js";

/** A model's example requests, and where they came from. */
export interface ModelExamples {
  /** e.g. `sample.input samples/rows.csv`, `info() examples`. */
  label: string;
  /** An OIP v2 inference request body. */
  oip?: { inputs: JsonTensor[]; parameters?: Record<string, unknown> };
  /** A KServe v1 predict request body. */
  kserve?: { instances: unknown[] };
}

/** Largest sample file read for an example; a larger one is left for `omaf test`, and the model's declarations used. */
export const MAX_SAMPLE_FILE_BYTES = 1024 * 1024;
/** Rows (or documents) of a sample an example keeps. */
export const EXAMPLE_ROWS = 5;

/** What the examples need to know of a served model version. */
export interface ExampleSource {
  meta: ModelMetadata;
  takesTensors: boolean;
  /** The unpacked artifact folder and the manifest's sample.input, when there are both. */
  dir?: string;
  sampleInput?: string;
}

/**
 * The examples of a model: from its manifest sample when that gives an OIP example, else from what it declares;
 * undefined when neither gives one.
 */
export async function examplesOf(source: ExampleSource): Promise<ModelExamples | undefined> {
  if (source.dir && source.sampleInput) {
    const sample = await smallSample(source.dir, source.sampleInput);
    const examples = sample && requestsOf(sample, source.meta, source.takesTensors);
    if (examples?.oip) return examples;
  }
  const declared = declaredSample(source.meta, source.takesTensors);
  return declared && requestsOf(declared, source.meta, source.takesTensors);
}

/** The manifest's sample when its file is small enough, its rows cut to the first few; undefined when it cannot be read. */
async function smallSample(dir: string, input: string): Promise<ModelSample | undefined> {
  try {
    if ((await stat(artifactPath(dir, input, "sample.input"))).size > MAX_SAMPLE_FILE_BYTES) return undefined;
    const sample = await readManifestSample(dir, input);
    return sample.kind === "rows" ? { ...sample, data: sample.data.slice(0, EXAMPLE_ROWS) } : sample;
  } catch {
    return undefined;
  }
}

/** A sample as request bodies; parts that do not convert are left out. */
export function requestsOf(sample: ModelSample, meta: ModelMetadata, takesTensors: boolean): ModelExamples {
  const out: ModelExamples = { label: sample.label };
  const attempt = (write: () => void) => {
    try {
      write();
    } catch {
      // This request form cannot carry the sample for this model.
    }
  };
  if (sample.kind === "tensors") {
    out.oip = { inputs: sample.tensors.map(tensorToJson) };
    attempt(() => (out.kserve = { instances: instancesOf(sample.tensors) }));
  } else if (sample.kind === "oip") {
    attempt(() => {
      const { header, inputs: tensors } = parseInferBody(sample.body);
      out.oip = { inputs: tensors.map(tensorToJson), ...(header.parameters ? { parameters: header.parameters } : {}) };
      if (takesTensors || meta.mode === "matrix") out.kserve = { instances: instancesOf(tensors) };
    });
  } else if (!takesTensors && meta.mode === "objects") {
    // Each document is one element of one BYTES input; KServe takes each as an instance.
    out.oip = { inputs: [{ name: MATRIX_INPUT_NAME, shape: [sample.data.length], datatype: "BYTES", data: sample.data.map((d) => JSON.stringify(d)) }] };
    out.kserve = { instances: sample.data };
  } else {
    attempt(() => {
      const { data, columns } = rowsOf(sample.data, sample.columns);
      const tensors = rowTensors(data, columns, meta, takesTensors);
      out.oip = { inputs: tensors.map(tensorToJson) };
      // A matrix model takes instances as rows, named columns as objects; a tensor model its inputs' rows.
      out.kserve = {
        instances: takesTensors ? instancesOf(tensors) : columns ? data.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))) : data,
      };
    });
  }
  return out;
}

/** Rows as lists of values: objects (JSON lines) become rows in the first object's key order, which names the columns. */
function rowsOf(data: unknown[], columns: string[] | undefined): { data: unknown[][]; columns?: string[] } {
  if (data.every(Array.isArray)) return columns ? { data, columns } : { data };
  const first = data[0];
  if (first === null || typeof first !== "object") throw new Error("rows are lists or objects");
  const keys = Object.keys(first);
  return { data: data.map((row) => keys.map((k) => (row as Record<string, unknown>)[k])), columns: keys };
}

/**
 * Rows as the input tensors of an OIP request: a tensor-native model's (or a declared contract's) inputs; else one 2-D
 * `input` tensor naming its columns, or — rows mixing strings and numbers — one 1-D input per named column.
 */
function rowTensors(data: unknown[][], columns: string[] | undefined, meta: ModelMetadata, takesTensors: boolean): Tensor[] {
  if (takesTensors || (meta.declaredContract && rowsFitInputs(meta))) return matrixAsTensors({ data }, meta);
  try {
    const t = tensorFromMatrix(data, MATRIX_INPUT_NAME);
    return [columns ? { ...t, parameters: { columns } } : t];
  } catch (err) {
    if (!columns) throw err;
    return columns.map((c, i) =>
      tensorFromMatrix(
        data.map((row) => row[i]),
        c,
      ),
    );
  }
}

/**
 * Tensors as KServe v1 instances: one input's rows, or one object per row naming each input; a single 2-D input that
 * names its columns (`parameters.columns`) gives objects of column values.
 */
function instancesOf(tensors: readonly Tensor[]): unknown[] {
  const columns = tensors.length === 1 ? tensors[0].parameters?.columns : undefined;
  if (Array.isArray(columns) && tensors[0].shape.length === 2) {
    return matrixFromTensor(tensors[0]).map((row) => Object.fromEntries(columns.map((c, i) => [String(c), row[i]])));
  }
  const rows = tensors[0]?.shape[0];
  if (rows === undefined) throw new Error("no inputs");
  const cells = rowsFromTensors(tensors, rows);
  return tensors.length === 1 ? cells.map((row) => row[0]) : cells.map((row) => Object.fromEntries(tensors.map((t, i) => [t.name, row[i]])));
}
