// The two kinds of model call adaptive batching merges (see batcher.ts): named tensors for tensor-native models whose
// every input and output has a variable first dimension, and rows for matrix-mode entrypoints that say their rows are
// independent (manifest `serving.batch_rows`, or --batch-rows).
import { OmafError } from "../errors.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../runtime/model.js";
import { DATATYPE_ARRAYS } from "../tensor/datatype.js";
import type { Tensor, TensorData } from "../tensor/tensor.js";
import type { BatchLane } from "./batcher.js";

/** A tensor call: the inputs and the outputs asked for. */
export interface TensorCall {
  inputs: Tensor[];
  outputNames?: string[];
}

/**
 * True when a tensor model's answers split by rows: every declared input and output has a variable first dimension
 * (a batch axis). A model that declares none (or a fixed first dimension) is never batched.
 */
export function hasBatchAxis(meta: ModelMetadata): boolean {
  const batchAxis = (specs: ModelMetadata["inputs"]) => specs.length > 0 && specs.every((s) => s.shape.length > 0 && s.shape[0] === -1);
  return batchAxis(meta.inputs) && batchAxis(meta.outputs);
}

/** Named tensors merged along their first dimension. */
export function tensorLane(model: Model): BatchLane<TensorCall, Tensor[]> {
  return {
    key({ inputs, outputNames }) {
      const rows = inputs[0]?.shape[0];
      if (rows === undefined) return undefined;
      const parts: string[] = [];
      for (const t of [...inputs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (t.shape.length === 0 || t.shape[0] !== rows) return undefined;
        parts.push(`${t.name}:${t.datatype}:${t.shape.slice(1).join("x")}`);
      }
      return `${parts.join(",")}|${outputNames?.join(",") ?? "*"}`;
    },
    rows: ({ inputs }) => inputs[0]?.shape[0] ?? 1,
    merge(calls) {
      const first = calls[0];
      const inputs = first.inputs.map((t) => {
        const parts = calls.map((c) => c.inputs.find((x) => x.name === t.name)!);
        const rows = parts.reduce((n, p) => n + p.shape[0], 0);
        return {
          name: t.name,
          datatype: t.datatype,
          shape: [rows, ...t.shape.slice(1)],
          data: concatData(
            t.datatype,
            parts.map((p) => p.data),
          ),
        };
      });
      return { inputs, outputNames: first.outputNames };
    },
    run: ({ inputs, outputNames }) => model.predictTensors!(inputs, outputNames),
    split(outputs, rows) {
      const total = rows.reduce((a, b) => a + b, 0);
      for (const t of outputs) {
        if (t.shape.length === 0 || t.shape[0] !== total) {
          throw new OmafError("OMAF_ERR_PREDICT", `output '${t.name}' has shape [${t.shape.join(",")}], not one row per input row`);
        }
      }
      let at = 0;
      return rows.map((n) => {
        const from = at;
        at += n;
        return outputs.map((t) => sliceRows(t, from, n));
      });
    },
  };
}

/** Matrix rows merged into one predict_on_matrix call. */
export function rowsLane(model: Model): BatchLane<MatrixInput, MatrixOutput> {
  return {
    key: ({ data, columns }) => `${(data[0] as unknown[] | undefined)?.length ?? 0}|${columns ? JSON.stringify(columns) : ""}`,
    rows: ({ data }) => data.length,
    merge: (inputs) => ({ data: inputs.flatMap((i) => i.data), ...(inputs[0].columns ? { columns: inputs[0].columns } : {}) }),
    run: (input) => model.predictMatrix(input),
    split(output, rows) {
      const total = rows.reduce((a, b) => a + b, 0);
      if (output.prediction.length !== total) {
        throw new OmafError("OMAF_ERR_PREDICT", `the model answered ${output.prediction.length} rows for ${total}`);
      }
      let at = 0;
      return rows.map((n) => {
        const prediction = output.prediction.slice(at, at + n);
        at += n;
        return output.columns ? { prediction, columns: output.columns } : { prediction };
      });
    },
  };
}

/** One typed array (or list of byte strings) holding the parts one after the other. */
function concatData(datatype: Tensor["datatype"], parts: readonly TensorData[]): TensorData {
  if (datatype === "BYTES") return (parts as Uint8Array[][]).flat();
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new DATATYPE_ARRAYS[datatype](length) as Float64Array;
  let at = 0;
  for (const p of parts as Float64Array[]) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Rows [from, from + n) of a tensor (a view for typed data). */
function sliceRows(t: Tensor, from: number, n: number): Tensor {
  const perRow = t.shape.slice(1).reduce((a, d) => a * d, 1);
  const data =
    t.datatype === "BYTES"
      ? (t.data as Uint8Array[]).slice(from * perRow, (from + n) * perRow)
      : (t.data as Float64Array).subarray(from * perRow, (from + n) * perRow);
  return { ...t, shape: [n, ...t.shape.slice(1)], data };
}
