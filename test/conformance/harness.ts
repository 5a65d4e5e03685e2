// The shared conformance suite: protocol-neutral requests and outcomes, the adapter interface every protocol
// implements, the cases, and the `omaf serve` process they run against.
//
// Adding a protocol: write `adapters/<name>.ts` exporting `adapters: ProtocolAdapter[]` (conformance.test.ts finds
// every file in adapters/ by itself). Adding an environment: one entry in environments.ts.
//
// An adapter turns a NeutralRequest into its wire format, sends it to the running server and turns the answer back
// into an Outcome: the prediction as rows and columns (the GPPI matrix form), the provenance it carried, or the kind
// of error it reported. The cases compare Outcomes only, so every protocol is held to the same answers.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { createModel, type CreateModelOptions } from "../../src/runtime/load.js";
import type { MatrixOutput } from "../../src/runtime/model.js";
import type { Datatype, Tensor } from "../../src/tensor/tensor.js";
import { dataFromValues, valuesFromData } from "../../src/tensor/values.js";
import { omafSpawn } from "../helpers/cli.js";
import { cleanEnv } from "../helpers/serve.js";

// ---------------------------------------------------------------------------------------------------------------
// Requests and outcomes

/** A tensor in plain values: `data` flat, row-major. Row-oriented protocols send a 2-D tensor as its rows. */
export interface NeutralTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: (number | string | boolean)[];
}

/** A request's input: one tensor, or several named ones (a model with several inputs). */
export type NeutralInput = NeutralTensor | NeutralTensor[];

/** The input's tensors, as a list. */
export function tensorsOf(input: NeutralInput): NeutralTensor[] {
  return Array.isArray(input) ? input : [input];
}

/** One inference request, before any protocol shaped it. */
export interface NeutralRequest {
  /** Model name to address (protocols without a model name in the request ignore it). */
  model: string;
  /** Version to address; undefined = let the server pick. */
  version?: string;
  /**
   * The input: one tensor (for a matrix [rows, columns]), or several named ones; row-oriented protocols send several
   * as one row each, their columns side by side in the listed order.
   */
  input: NeutralInput;
  /** Send a body the protocol cannot parse (bad JSON, an undecodable message, ...) instead of `input`. */
  malformed?: boolean;
}

/** A neutral tensor in omaf's in-memory form. */
export function toTensor(t: NeutralTensor): Tensor {
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: dataFromValues(t.datatype, t.data, `tensor '${t.name}'`) };
}

/** What every prediction carries. */
export interface WireProvenance {
  modelName: string;
  modelVersion: string;
  artifactDigest: string;
}

/**
 * A prediction in the GPPI matrix form: one row per input row, one cell per output column. Tensor protocols map each
 * output tensor [N, ...] to one column (a scalar cell when it holds one value per row, else the row's slice as a
 * nested list) — except a tensor whose `parameters.columns` names its columns, which spreads over those columns.
 */
export interface Prediction {
  /** Output column names, when the protocol conveys them. */
  columns?: string[];
  rows: unknown[][];
}

/**
 * Protocol-neutral error kinds. HTTP: 400 bad_input, 404 not_found, 503 unavailable, 500 model_error, 504 timeout.
 * gRPC: INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED. OMI items: OMAF_ERR_BAD_INPUT,
 * OMAF_ERR_PREDICT, OMAF_ERR_MODEL_NOT_READY / OMAF_ERR_UNAVAILABLE, OMAF_ERR_TIMEOUT.
 */
export type ErrorKind = "bad_input" | "not_found" | "unavailable" | "model_error" | "timeout" | "other";

export type Outcome =
  | { ok: true; prediction: Prediction; provenance: WireProvenance }
  | { ok: false; kind: ErrorKind /** Status and message as the wire gave them, for failure messages. */; detail: string };

/** The HTTP status → ErrorKind mapping every HTTP protocol shares. */
export function kindOfHttpStatus(status: number): ErrorKind {
  switch (status) {
    case 400:
    case 422:
      return "bad_input";
    case 404:
      return "not_found";
    case 503:
      return "unavailable";
    case 500:
      return "model_error";
    case 504:
      return "timeout";
    default:
      return "other";
  }
}

/** The gRPC status → ErrorKind mapping every gRPC protocol shares. */
export function kindOfGrpcStatus(code: number): ErrorKind {
  switch (code) {
    case 3: // INVALID_ARGUMENT
      return "bad_input";
    case 5: // NOT_FOUND
      return "not_found";
    case 14: // UNAVAILABLE
      return "unavailable";
    case 13: // INTERNAL
      return "model_error";
    case 4: // DEADLINE_EXCEEDED
      return "timeout";
    default:
      return "other";
  }
}

/** The omaf error code → ErrorKind mapping (protocols that report codes per item, like OMI). */
export function kindOfOmafCode(code: string): ErrorKind {
  switch (code) {
    case "OMAF_ERR_BAD_INPUT":
      return "bad_input";
    case "OMAF_ERR_MODEL_NOT_FOUND":
      return "not_found";
    case "OMAF_ERR_MODEL_NOT_READY":
    case "OMAF_ERR_UNAVAILABLE":
      return "unavailable";
    case "OMAF_ERR_PREDICT":
      return "model_error";
    case "OMAF_ERR_TIMEOUT":
      return "timeout";
    default:
      return "other";
  }
}

/** A 2-D neutral tensor as rows (a 1-D one as a single row); several tensors side by side, row by row. */
export function rowsOf(input: NeutralInput): unknown[][] {
  if (Array.isArray(input)) {
    const parts = input.map((t) => rowsOf(t));
    return parts[0].map((_, r) => parts.flatMap((p) => p[r]));
  }
  const t = input;
  if (t.shape.length === 1) return [t.data.slice()];
  if (t.shape.length !== 2) throw new Error(`rowsOf: tensor '${t.name}' is ${t.shape.length}-D, not a matrix`);
  const [rows, cols] = t.shape;
  return Array.from({ length: rows }, (_, r) => t.data.slice(r * cols, (r + 1) * cols));
}

/** An output tensor as a tensor protocol hands it back, values already decoded to plain numbers/strings/booleans. */
export interface DecodedTensor {
  name: string;
  shape: number[];
  data: ArrayLike<unknown>;
  parameters?: Record<string, unknown>;
}

/** Output tensors → the matrix form (see Prediction). All tensors must have the same first dimension. */
export function predictionFromTensors(tensors: readonly DecodedTensor[]): Prediction {
  if (tensors.length === 0) return { columns: [], rows: [] };
  const n = tensors[0].shape[0] ?? 1;
  const rows: unknown[][] = Array.from({ length: n }, () => []);
  const columns: string[] = [];
  for (const t of tensors) {
    if ((t.shape[0] ?? 1) !== n) throw new Error(`output '${t.name}' has ${t.shape[0]} rows, '${tensors[0].name}' has ${n}`);
    const cellDims = t.shape.slice(1);
    const perRow = cellDims.reduce((a, b) => a * b, 1);
    const spread = columnsParameter(t.parameters);
    if (spread && cellDims.length === 1 && spread.length === cellDims[0]) {
      columns.push(...spread);
      for (let r = 0; r < n; r++) for (let c = 0; c < perRow; c++) rows[r].push(t.data[r * perRow + c]);
      continue;
    }
    columns.push(t.name);
    for (let r = 0; r < n; r++) rows[r].push(perRow === 1 && cellDims.length <= 1 ? t.data[r] : nest(t.data, r * perRow, cellDims));
  }
  return { columns, rows };
}

function columnsParameter(p: Record<string, unknown> | undefined): string[] | undefined {
  let v = p?.columns;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(v) && v.every((c) => typeof c === "string") ? (v as string[]) : undefined;
}

function nest(data: ArrayLike<unknown>, offset: number, dims: readonly number[]): unknown[] {
  const [d, ...rest] = dims;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: d }, (_, i) => (rest.length === 0 ? data[offset + i] : nest(data, offset + i * stride, rest)));
}

// ---------------------------------------------------------------------------------------------------------------
// Adapters

/** One model version a server announced in its listening line. */
export interface AnnouncedModel {
  name: string;
  version: string;
  artifactDigest: string;
  state: string;
}

/** The running server as adapters see it. */
export interface ServedModel {
  host: string;
  /** Bound port of each enabled interface, by interface name (`omi`, `oip-rest`, `oip-grpc`, `kserve-v1`, `odahu`). */
  ports: Record<string, number>;
  /** The model the cases address, and the version a request without a version reaches (its highest). */
  modelName: string;
  modelVersion: string;
  /** `sha256:<hex>` of that version as the server announced it. */
  artifactDigest: string;
  /** Every model version the server serves (several models, several versions of one). */
  models: AnnouncedModel[];
}

/** The shared cases, by name. */
export const CASES = [
  "good",
  "good-with-version",
  "wrong-shape",
  "wrong-datatype",
  "unknown-model",
  "unknown-version",
  "malformed-body",
  "model-error",
  "not-ready",
  "other-model",
] as const;
export type CaseName = (typeof CASES)[number];

/** A protocol's client for the suite. */
export interface AdapterClient {
  /** The protocol's readiness probe (model-level where it has one): true only when it answers "ready". */
  ready(): Promise<boolean>;
  /** Sends one request and answers what came back; never throws for an error the server reported. */
  infer(request: NeutralRequest): Promise<Outcome>;
  close(): Promise<void> | void;
}

/** One protocol (or one variant of it, e.g. OIP REST with binary tensors). */
export interface ProtocolAdapter {
  /** Unique name shown in test titles, e.g. `oip-rest-binary`. */
  name: string;
  /** The interface (OMAF_INTERFACES name) it talks to. */
  interface: string;
  /** Every case: `true` when it applies, or the reason it does not (e.g. "OMI requests name no model"). */
  supports: Record<CaseName, true | string>;
  /** Why the adapter cannot run on this machine (e.g. its client is not installed): its cases are skipped with it. */
  unavailable?: string;
  connect(server: ServedModel): AdapterClient;
}

// ---------------------------------------------------------------------------------------------------------------
// Environments

/** A model environment the suite runs every adapter against (see environments.ts). */
export interface ConformanceEnvironment {
  /** binaries.type, e.g. `node`, `onnx`, `python`. */
  name: string;
  /** Writes (or locates) the model to serve under `tmp`; answers the artifact path (folder or zip). */
  artifact(tmp: string): Promise<string>;
  /** Writes a model of this environment whose load fails; answers its path. */
  broken(tmp: string): Promise<string>;
  /** A valid input of 2 or more rows. */
  good: NeutralInput;
  /** Same datatype, a shape the model refuses. */
  wrongShape: NeutralInput;
  /** Right shape, a datatype the model refuses. */
  wrongDatatype: NeutralInput;
  /** An input the model raises an error for; undefined when the environment has no such model. */
  modelError?: NeutralInput;
  /** Environment variables both servers need (e.g. OMAF_PYTHON); the suite's servers otherwise get no OMAF_* from outside. */
  env?: Record<string, string>;
  /** Options for the in-process model that computes the expected answer (e.g. the python interpreter). */
  modelOptions?: Pick<CreateModelOptions, "onnx" | "pythonOptions" | "javaOptions">;
}

/** The model's own answer for `input`, computed in this process by the runtime (not through any protocol). */
export async function expectedPrediction(
  artifactPath: string,
  input: NeutralInput,
  cacheDir: string,
  modelOptions: Pick<CreateModelOptions, "onnx" | "pythonOptions"> = {},
): Promise<{ prediction: MatrixOutput; digest: string }> {
  const art = await materializeArtifact(artifactPath, { cacheDir });
  const model = createModel({ ...modelOptions, dir: art.dir, manifest: art.manifest, provenance: { artifactDigest: art.artifactDigest } });
  await model.load();
  try {
    if (model.predictTensors && model.takesTensors !== false && model.metadata().mode === "tensors") {
      // A tensors-mode model's own answer, in the form tensor protocols give it (see Prediction).
      const outputs = await model.predictTensors(tensorsOf(input).map(toTensor));
      const { rows, columns } = predictionFromTensors(outputs.map((t) => ({ ...t, data: valuesFromData(t.datatype, t.data) })));
      return { prediction: { prediction: rows, ...(columns ? { columns } : {}) }, digest: art.artifactDigest };
    }
    return { prediction: await model.predictMatrix({ data: rowsOf(input) }), digest: art.artifactDigest };
  } finally {
    await model.close();
  }
}

/** Recursively compares predictions; numbers within a relative 1e-6 (FP32 round trips), everything else exactly. */
export function sameValues(actual: unknown, expected: unknown, path = ""): string | undefined {
  if (typeof expected === "number" && typeof actual === "number") {
    const tol = 1e-6 * Math.max(1, Math.abs(expected));
    return Math.abs(actual - expected) <= tol || (Number.isNaN(actual) && Number.isNaN(expected)) ? undefined : `${path}: ${actual} ≠ ${expected}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: ${JSON.stringify(actual)} is not a list`;
    if (actual.length !== expected.length) return `${path}: ${actual.length} items ≠ ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = sameValues(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The server

/** Every interface the suite serves at once. */
export const ALL_INTERFACES = ["omi", "oip-rest", "oip-grpc", "kserve-v1", "odahu"] as const;

/** Port flags set to 0 so every listener picks a free port. */
export const PORT_FLAGS = ["--omi-port", "0", "--http-port", "0", "--oip-grpc-port", "0", "--odahu-port", "0"];

export interface ConformanceServer extends ServedModel {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

interface ListeningLine {
  event: "listening";
  models: AnnouncedModel[];
  listeners: { interface: string; interfaces?: string[]; port: number; host: string }[];
}

/**
 * Starts one `omaf serve` of `artifacts` with every interface on 127.0.0.1 (free ports), waits for its `--json`
 * listening line (printed once every model loaded or failed to) and answers the port of each interface. The model
 * the cases address is `opts.model` (at its highest version), else the first one announced.
 */
export async function startConformanceServer(
  artifacts: string | readonly string[],
  opts: { interfaces?: readonly string[]; args?: string[]; env?: Record<string, string>; timeoutMs?: number; model?: string } = {},
): Promise<ConformanceServer> {
  const interfaces = (opts.interfaces ?? ALL_INTERFACES).join(",");
  const sources = typeof artifacts === "string" ? [artifacts] : artifacts;
  const child = omafSpawn(["serve", ...sources, "--host", "127.0.0.1", "--json", "--no-inference-log", ...PORT_FLAGS, ...(opts.args ?? [])], {
    env: cleanEnv({ ...opts.env, OMAF_INTERFACES: interfaces }),
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = once(child, "exit");
  const line = await new Promise<ListeningLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`omaf serve did not start in time; stderr:\n${err}`)), opts.timeoutMs ?? 60_000);
    // The listening line is not always the first: log lines share stdout and may be flushed before it.
    const onData = () => {
      for (const text of out.split("\n").slice(0, -1)) {
        let parsed: Partial<ListeningLine> | undefined;
        try {
          parsed = JSON.parse(text) as Partial<ListeningLine>;
        } catch {
          continue;
        }
        if (parsed?.event !== "listening") continue;
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(parsed as ListeningLine);
        return;
      }
    };
    child.stdout!.on("data", onData);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`omaf serve exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  const ports: Record<string, number> = {};
  for (const l of line.listeners) for (const name of [l.interface, ...(l.interfaces ?? [])]) ports[name] ??= l.port;
  // The server announces each name's versions highest first.
  const main = (opts.model ? line.models.find((m) => m.name === opts.model) : line.models[0]) ?? { name: "", version: "", artifactDigest: "" };
  return {
    child,
    host: "127.0.0.1",
    ports,
    modelName: main.name,
    modelVersion: main.version,
    artifactDigest: main.artifactDigest,
    models: line.models,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}
