// `omaf predict`: rows from a file or stdin go to the model through the dataplane in chunks, and the answers come
// out in input order. A few chunks are in flight at once (one per model worker, plus one being read), and reading
// waits for the oldest answer once that many are out, so memory stays bounded however long the input is.
// A chunk the model refuses is retried row by row to find the rows at fault; each is reported with its line and,
// with `onError: skip | null`, left out or answered with null while the rest goes on.
import type { Writable } from "node:stream";
import type { DataPlane, Provenance } from "../dataplane/dataplane.js";
import { inferTensors } from "../dataplane/tensor-inference.js";
import { OmafError, toOmafError, type ErrorCode } from "../errors.js";
import type { MatrixOutput } from "../runtime/model.js";
import { encodeInferResponse, parseInferBody } from "../tensor/binary.js";
import { inputError, type InputItem, type OipInput, type RowInput } from "./input.js";
import { createWriter, type OutputFormat, type OutputRow } from "./output.js";
import { provenanceParameters } from "../protocols/oip-v2/shared.js";

export type OnError = "stop" | "skip" | "null";

export interface PredictOptions {
  /** Rows per model call (default 1000). */
  batchSize?: number;
  onError?: OnError;
  /** Output format for row inputs (default: the input's). */
  outputFormat?: OutputFormat;
  /** Called after each chunk is written: rows answered so far. */
  onProgress?: (rows: number) => void;
  /** Stops the run (the caller removes the partial output). */
  signal?: AbortSignal;
}

/** One row that failed: where it is and why. */
export interface RowFailure {
  where: string;
  code: ErrorCode;
  message: string;
}

export interface PredictSummary {
  provenance: Provenance;
  inputFormat: string;
  outputFormat: string;
  /** Rows read (bad ones included). */
  rows: number;
  /** Rows answered by the model. */
  predicted: number;
  /** Rows skipped (onError skip) or answered with null (onError null). */
  failed: number;
  /** The first failures (at most 100), for the report. */
  failures: RowFailure[];
  /** Time from the loaded model to the last answer written. */
  seconds: number;
}

/** Most resident memory of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
}

const DEFAULT_BATCH_SIZE = 1000;
const MAX_LISTED_FAILURES = 100;
const CTX = { protocol: "predict" };

/** Runs every row of `input` through the model and writes the answers to `out`. */
export async function predictRows(dataplane: DataPlane, input: RowInput, out: Writable, opts: PredictOptions = {}): Promise<PredictSummary> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const onError = opts.onError ?? "stop";
  await dataplane.load();
  // Rows per second count from here: the model is loaded (dataplane.loadTimeMs says how long that took).
  const t0 = performance.now();
  const meta = dataplane.metadata();
  const outputFormat = opts.outputFormat ?? input.format;
  const writer = createWriter(outputFormat, dataplane.provenance);
  const summary: PredictSummary = {
    provenance: dataplane.provenance,
    inputFormat: input.format,
    outputFormat,
    rows: 0,
    predicted: 0,
    failed: 0,
    failures: [],
    seconds: 0,
  };
  const objectsMode = meta.mode === "objects";
  const maxInFlight = (dataplane.model.concurrency ?? 1) + 1;
  const pending: Promise<Answered>[] = [];
  let columns: string[] | undefined;
  /** Columns of JSON lines objects: the first object's keys. */
  let keys: string[] | undefined;

  const fail = (where: string, err: OmafError): void => {
    if (onError === "stop") {
      throw new OmafError(err.code, `${where}: ${err.message}`, { ...err.details, where });
    }
    summary.failed++;
    if (summary.failures.length < MAX_LISTED_FAILURES) summary.failures.push({ where, code: err.code, message: err.message });
  };

  /** Writes the oldest chunk's answers once they are in. */
  const flushOne = async (): Promise<void> => {
    const answered = await pending.shift()!;
    if (answered.columns && !columns) columns = answered.columns;
    const rows: OutputRow[] = [];
    for (const r of answered.rows) {
      if (r.error) {
        fail(r.where, r.error);
        if (onError === "null") rows.push({ prediction: null, keyed: r.keyed });
        continue;
      }
      summary.predicted++;
      rows.push({ prediction: r.prediction, keyed: r.keyed });
    }
    await write(out, writer.rows(rows, columns));
    opts.onProgress?.(summary.rows);
  };

  let chunk: Entry[] = [];
  const submit = async (): Promise<void> => {
    const entries = chunk;
    chunk = [];
    pending.push(objectsMode ? answerObjects(dataplane, entries) : answerMatrix(dataplane, entries, input.columns ?? keys));
    // Keep the promise from counting as unhandled while it waits its turn.
    pending[pending.length - 1].catch(() => {});
    while (pending.length >= maxInFlight) await flushOne();
  };

  try {
    for await (const items of input.items) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      for (const item of items) {
        summary.rows++;
        const entry = toEntry(
          item,
          objectsMode,
          input.columns,
          () => keys,
          (k) => (keys = k),
        );
        chunk.push(entry);
        if (chunk.length >= batchSize) await submit();
      }
    }
    if (chunk.length > 0) await submit();
    while (pending.length > 0) await flushOne();
  } finally {
    // A failed run still waits for its calls, so no answer arrives after the model is closed.
    await Promise.allSettled(pending);
  }
  await write(out, writer.end(columns));
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

/** A row on its way: the values for the model, or the error it already has. */
interface Entry {
  where: string;
  row?: unknown;
  keyed?: boolean;
  error?: OmafError;
}

interface AnsweredRow {
  where: string;
  keyed?: boolean;
  prediction?: unknown;
  error?: OmafError;
}

interface Answered {
  rows: AnsweredRow[];
  columns?: string[];
}

/**
 * Checks an input item's form for the model's mode. Matrix models: a JSON lines object becomes a row of its values by
 * column. Objects models: a row with named columns (CSV, a JSON document with columns) becomes an object of them.
 */
function toEntry(
  item: InputItem,
  objectsMode: boolean,
  columns: string[] | undefined,
  keys: () => string[] | undefined,
  setKeys: (k: string[]) => void,
): Entry {
  const where = item.where;
  if (item.error !== undefined) return { where, error: inputError(item.error) };
  const v = item.value;
  if (objectsMode) {
    if (!columns || !Array.isArray(v) || v.length !== columns.length) return { where, row: v };
    return { where, row: Object.fromEntries(columns.map((c, i) => [c, v[i]])) };
  }
  if (Array.isArray(v)) return { where, row: v };
  if (v !== null && typeof v === "object") {
    const obj = v as Record<string, unknown>;
    let k = keys();
    if (!k) {
      k = Object.keys(obj);
      setKeys(k);
    }
    const extra = Object.keys(obj).find((name) => !k.includes(name));
    if (extra !== undefined) return { where, error: inputError(`"${extra}" is not one of the columns of the first object (${k.join(", ")})`) };
    return { where, row: k.map((name) => (name in obj ? obj[name] : null)), keyed: true };
  }
  return { where, error: inputError(`a row is a list of values or an object of column values, not ${v === null ? "null" : typeof v}`) };
}

/** One model call for the chunk's good rows; a refused chunk is retried row by row to find the rows at fault. */
async function answerMatrix(dataplane: DataPlane, entries: Entry[], columns: string[] | undefined): Promise<Answered> {
  const good = entries.filter((e) => !e.error);
  const rows: AnsweredRow[] = entries.map((e) => ({ where: e.where, keyed: e.keyed, error: e.error }));
  if (good.length === 0) return { rows };
  const call = async (data: unknown[][]): Promise<MatrixOutput> => {
    const out = await dataplane.predictMatrix(columns ? { data, columns } : { data }, { ...CTX, requestId: "" });
    if (!Array.isArray(out.prediction) || out.prediction.length !== data.length) {
      throw new OmafError("OMAF_ERR_PREDICT", `the model answered ${Array.isArray(out.prediction) ? out.prediction.length : "no"} rows for ${data.length}`);
    }
    return out;
  };
  let answer: MatrixOutput | undefined;
  try {
    answer = await call(good.map((e) => e.row as unknown[]));
  } catch (err) {
    const e = toOmafError(err, "OMAF_ERR_PREDICT");
    if (good.length === 1 || !retryable(e)) {
      // Not the rows' fault (a timeout, a crashed worker) or nothing to narrow down: every row shares the error.
      for (const r of rows) if (!r.error) r.error = e;
      return { rows };
    }
  }
  let g = 0;
  let outColumns = answer?.columns;
  for (const r of rows) {
    if (r.error) continue;
    const entry = good[g];
    if (answer) r.prediction = answer.prediction[g];
    else {
      try {
        const one = await call([entry.row as unknown[]]);
        r.prediction = one.prediction[0];
        outColumns ??= one.columns;
      } catch (err) {
        r.error = toOmafError(err, "OMAF_ERR_PREDICT");
      }
    }
    g++;
  }
  return { rows, columns: outColumns };
}

/** Errors a row can cause; the others (timeouts, crashes, a model that is not ready) are not narrowed down. */
function retryable(e: OmafError): boolean {
  return e.code === "OMAF_ERR_BAD_INPUT" || e.code === "OMAF_ERR_PREDICT";
}

/** Objects models: one call per item (what an objects entrypoint takes is one input), a few at a time. */
async function answerObjects(dataplane: DataPlane, entries: Entry[]): Promise<Answered> {
  const width = Math.max(1, dataplane.model.concurrency ?? 1);
  const rows: AnsweredRow[] = entries.map((e) => ({ where: e.where, error: e.error }));
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      if (rows[i].error) continue;
      try {
        rows[i].prediction = await dataplane.predictObjects(entries[i].row, { ...CTX, requestId: "" });
      } catch (err) {
        rows[i].error = toOmafError(err, "OMAF_ERR_PREDICT");
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return { rows };
}

/** An OIP v2 inference request file: one call; the answer is an OIP v2 inference response with provenance. */
export async function predictOip(dataplane: DataPlane, input: OipInput, out: Writable): Promise<PredictSummary> {
  await dataplane.load();
  const t0 = performance.now();
  const body = await dataplane.infer({ ...CTX, requestId: "" }, async (inference) => {
    const { header, inputs } = parseInferBody(input.body);
    const requested = header.outputs?.length ? header.outputs.map((o) => o.name) : undefined;
    const outputs = await inferTensors(inference, inputs, requested, header.parameters);
    const p = dataplane.provenance;
    return encodeInferResponse({
      model_name: p.modelName,
      model_version: p.modelVersion,
      ...(header.id !== undefined ? { id: header.id } : {}),
      parameters: provenanceParameters(p),
      outputs,
    }).body;
  });
  await write(out, `${body.toString("utf8")}\n`);
  return {
    provenance: dataplane.provenance,
    inputFormat: "oip",
    outputFormat: "oip",
    rows: 1,
    predicted: 1,
    failed: 0,
    failures: [],
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Writes text, waiting when the stream's buffer is full (so a slow disk or pipe holds the reading back). */
function write(out: Writable, text: string): Promise<void> {
  if (text === "") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ok = out.write(text, (err) => {
      if (err) reject(new OmafError("OMAF_ERR_IO", `writing the output failed: ${err.message}`));
    });
    if (ok) resolve();
    else out.once("drain", resolve);
  });
}
