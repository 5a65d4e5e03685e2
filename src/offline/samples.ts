// A model's sample input, as `omaf test` predicts on it and the docs page offers it as the example request: the
// manifest's `sample.input` (a file in the artifact: rows as CSV or JSON, or an OIP v2 inference request), or what
// the loaded model declares — its tensor-native inputs' shapes filled with sample values, or its info() examples (one
// row of a matrix model, one object of an objects model).
import path from "node:path";
import { OmafError, toOmafError } from "../errors.js";
import { resolveInside } from "../manifest/file-index.js";
import type { ModelMetadata } from "../runtime/model.js";
import { tensorFromJson } from "../tensor/json.js";
import type { Tensor, TensorSpec } from "../tensor/tensor.js";
import { openInput, type RowInput } from "./input.js";

/** A sample input, with a label saying where it came from. */
export type ModelSample =
  /** An OIP v2 inference request document. */
  | { kind: "oip"; label: string; body: Buffer }
  /** Rows (matrix models) or JSON documents (objects models), with column names when known. */
  | { kind: "rows"; label: string; columns?: string[]; data: unknown[] }
  /** Named tensors (tensor-native models). */
  | { kind: "tensors"; label: string; tensors: Tensor[] };

/** What a sample file holds: an OIP request or rows. */
export type FileSample = Exclude<ModelSample, { kind: "tensors" }>;

/** A file inside the artifact folder `dir`; OMAF_ERR_SAMPLE for one outside it. */
export function artifactPath(dir: string, rel: string, field: string): string {
  const inside = resolveInside(rel);
  if (inside === undefined) throw new OmafError("OMAF_ERR_SAMPLE", `${field} '${rel}' escapes the artifact root`);
  return path.join(dir, inside);
}

/** The manifest's `sample.input` file (a path from the artifact root `dir`), read whole; OMAF_ERR_SAMPLE when it cannot be read. */
export async function readManifestSample(dir: string, input: string): Promise<FileSample> {
  const file = artifactPath(dir, input, "sample.input");
  const label = `sample.input ${input}`;
  try {
    const opened = (await openInput(file)).input;
    if (opened.format === "oip") return { kind: "oip", label, body: opened.body };
    return { kind: "rows", label, ...(await collect(opened)) };
  } catch (err) {
    const e = toOmafError(err);
    throw new OmafError("OMAF_ERR_SAMPLE", `sample.input '${input}': ${e.message}`);
  }
}

/** The rows of a small row input, as one list. */
async function collect(input: RowInput): Promise<{ columns?: string[]; data: unknown[] }> {
  const data: unknown[] = [];
  for await (const group of input.items) {
    for (const item of group) {
      if (item.error !== undefined) throw new OmafError("OMAF_ERR_SAMPLE", `${item.where}: ${item.error}`);
      data.push(item.value);
    }
  }
  return input.columns ? { columns: input.columns, data } : { data };
}

/**
 * A sample from what the loaded model declares: a tensor-native model's inputs filled with sample values, else one
 * row (matrix) or one object (objects) of its info() examples when every field has one; undefined otherwise.
 */
export function declaredSample(meta: ModelMetadata, takesTensors: boolean): ModelSample | undefined {
  if (takesTensors && meta.inputs.length > 0) return { kind: "tensors", label: "sample values in the inputs' shapes", tensors: sampleTensors(meta.inputs) };
  const fields = meta.inputSchema;
  if (!fields?.length || !fields.every((f) => f.example !== undefined)) return undefined;
  if (meta.mode === "matrix") return { kind: "rows", label: "info() examples", columns: fields.map((f) => f.name), data: [fields.map((f) => f.example)] };
  if (meta.mode === "objects") return { kind: "rows", label: "info() examples", data: [Object.fromEntries(fields.map((f) => [f.name, f.example]))] };
  return undefined;
}

/** One batch row of every input, each variable dimension 1, filled with a value of its datatype. */
export function sampleTensors(specs: readonly TensorSpec[]): Tensor[] {
  return specs.map((spec) => {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const value = spec.datatype === "BOOL" ? true : spec.datatype === "BYTES" ? "sample" : spec.datatype.startsWith("FP") ? 0.5 : 1;
    return tensorFromJson({ name: spec.name, datatype: spec.datatype, shape, data: new Array(count).fill(value) }, "sample input");
  });
}
