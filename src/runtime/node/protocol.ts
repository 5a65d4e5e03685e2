// Messages between the server's thread and a node worker thread. They cross by structured clone, which copies a
// nested array value by value; a numeric matrix is sent instead as one Float64Array whose buffer is transferred
// (moved, not copied), like the Python bridge's binary frames. For 1,000 rows of 3 numbers the round trip, packing
// included, costs about 30 µs against 580 µs for cloning the arrays; for a row or four both cost the same
// (bench/node-worker.ts).
import { OmafError, type ErrorCode } from "../../errors.js";
import type { MatrixOutput } from "../model.js";
import { messageOf } from "../source.js";
import type { EntrypointReport, EntrypointSpec, ModelTensor } from "./entrypoint-module.js";

/** workerData of a node worker thread. */
export interface ThreadStart {
  /** Marks omaf's worker threads, so a module loaded in any other thread never starts serving. */
  omafNodeWorker: true;
  entry: EntrypointSpec;
}

/** A numeric matrix as one transferable block of values, row after row. */
export interface PackedMatrix {
  values: Float64Array;
  rows: number;
  /** Values per row; -1 for a flat list of numbers (a prediction that is not a matrix). */
  cols: number;
}

/** server → thread: one request; `stop` asks the thread to end once idle. */
export type ThreadRequest =
  | { kind: "matrix"; id: number; data: PackedMatrix | unknown[][]; columns?: string[] }
  | { kind: "objects"; id: number; input: unknown }
  | { kind: "tensors"; id: number; inputs: Record<string, ModelTensor> }
  | { kind: "stop" };

/** thread → server. */
export type ThreadMessage =
  | { type: "ready"; report: EntrypointReport }
  | { type: "failed"; error: ErrorRecord }
  | { type: "matrix"; id: number; prediction: PackedMatrix | unknown[]; columns?: string[] }
  | { type: "objects"; id: number; result: unknown }
  | { type: "tensors"; id: number; outputs: unknown }
  | { type: "error"; id: number; error: ErrorRecord };

/** An OmafError as plain data. */
export interface ErrorRecord {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export function errorRecord(err: unknown): ErrorRecord {
  if (err instanceof OmafError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { code: "OMAF_ERR_INTERNAL", message: messageOf(err) };
}

export function fromErrorRecord(record: ErrorRecord): OmafError {
  const code = (record.code.startsWith("OMAF_ERR_") ? record.code : "OMAF_ERR_INTERNAL") as ErrorCode;
  return new OmafError(code, record.message, record.details);
}

/** Packs rows of numbers (a rectangle of at least one value); undefined when any value is not a number. */
export function packRows(rows: readonly unknown[]): PackedMatrix | undefined {
  const first = rows[0];
  if (!Array.isArray(first) || first.length === 0) return undefined;
  const cols = first.length;
  const values = new Float64Array(rows.length * cols);
  let k = 0;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== cols) return undefined;
    for (let c = 0; c < cols; c++) {
      const v: unknown = row[c];
      if (typeof v !== "number") return undefined;
      values[k++] = v;
    }
  }
  return { values, rows: rows.length, cols };
}

/** Packs a prediction: rows of numbers, or a flat list of numbers; undefined for anything else. */
export function packPrediction(prediction: readonly unknown[]): PackedMatrix | undefined {
  if (prediction.length === 0) return undefined;
  if (Array.isArray(prediction[0])) return packRows(prediction);
  const values = new Float64Array(prediction.length);
  for (let i = 0; i < prediction.length; i++) {
    const v = prediction[i];
    if (typeof v !== "number") return undefined;
    values[i] = v;
  }
  return { values, rows: prediction.length, cols: -1 };
}

/** Plain arrays back from a packed matrix. */
export function unpack({ values, rows, cols }: PackedMatrix): unknown[] {
  if (cols < 0) return Array.from(values);
  const out = new Array<number[]>(rows);
  for (let r = 0, k = 0; r < rows; r++) {
    const row = new Array<number>(cols);
    for (let c = 0; c < cols; c++) row[c] = values[k++]!;
    out[r] = row;
  }
  return out;
}

export const isPacked = (value: unknown): value is PackedMatrix =>
  typeof value === "object" && value !== null && (value as PackedMatrix).values instanceof Float64Array;

/** The buffers a message can hand over instead of copying. */
export function transferList(value: PackedMatrix | unknown): ArrayBuffer[] {
  return isPacked(value) ? [value.values.buffer as ArrayBuffer] : [];
}

/** A matrix answer as the thread posts it. */
export function matrixAnswer(id: number, out: MatrixOutput): Extract<ThreadMessage, { type: "matrix" }> {
  const packed = packPrediction(out.prediction);
  return { type: "matrix", id, prediction: packed ?? out.prediction, ...(out.columns ? { columns: out.columns } : {}) };
}
