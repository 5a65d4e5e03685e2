// The onnx environment: an `.onnx` file run by onnxruntime-node. The runtime package is imported inside load() only,
// so the rest of omaf never pays for (or needs) it.
//
// Matrix requests map onto the model's single 2-D input. The answer has one row per input row and one column per
// tensor output (columns = output names); a cell is a scalar when that output holds one value per row
// (shape [N] or [N, 1]), else the row's slice of the output as a nested list. int64 values become JSON numbers.
import type * as Ort from "onnxruntime-node";
import { join } from "node:path";
import { OmafError } from "../errors.js";
import { elementCount, type Tensor, type TensorSpec } from "../tensor/tensor.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "./model.js";
import {
  bytesToStrings,
  cellReader,
  cellWriter,
  dataMismatch,
  ORT_TO_DATATYPE,
  stringsToBytes,
  type CellReader,
  type CellWriter,
} from "./onnx-tensors.js";
import { entrypointFile, manifestMetadata, messageOf, notReady, sharedLoad, type ModelSource } from "./source.js";

type OrtModule = typeof Ort;

/** Tuning for ONNX sessions. */
export interface OnnxModelOptions {
  /** Threads one operator may use (default 1: best for small models on few cores, measured). */
  intraOpNumThreads?: number;
  /** Threads for running independent operators in parallel (default 1). */
  interOpNumThreads?: number;
  /** Module to import instead of `onnxruntime-node` (a compatible build, or a missing name in tests). */
  runtimeModule?: string;
}

interface ValueInfo {
  spec: TensorSpec;
  ortType: string;
}

/** Everything the single-input matrix path needs, computed once at load. */
interface MatrixPlan {
  inputName: string;
  ortType: string;
  /** Fixed row width, or -1 when the model leaves it open. */
  width: number;
  /** Fixed row count, or -1. */
  rows: number;
  alloc: (n: number) => unknown;
  write: CellWriter;
  expects: string;
}

interface Session {
  ort: OrtModule;
  session: Ort.InferenceSession;
  metadata: ModelMetadata;
  inputs: Map<string, ValueInfo>;
  outputs: Map<string, ValueInfo>;
  /** Tensor outputs fetched by default, in model order. */
  fetches: string[];
  readers: CellReader[];
  /** Why matrix requests cannot be served, or the plan for serving them. */
  matrix: MatrixPlan | string;
}

const bad = (message: string, details?: Record<string, unknown>) => new OmafError("OMAF_ERR_BAD_INPUT", message, details);

/** onnxruntime's message for a request that does not fit the model (as opposed to a failure inside it). */
const ORT_INPUT_ERROR =
  /INVALID_ARGUMENT|invalid (dimensions|rank|input|shape)|unexpected input data type|missing in 'feeds'|not a valid (input|output)|tensor's data must be|data length/i;

/** The omaf code for an error onnxruntime raised while running: the caller's fault or the model's. */
export function ortErrorCode(message: string): "OMAF_ERR_BAD_INPUT" | "OMAF_ERR_PREDICT" {
  return ORT_INPUT_ERROR.test(message) ? "OMAF_ERR_BAD_INPUT" : "OMAF_ERR_PREDICT";
}

async function importOrt(spec: string): Promise<OrtModule> {
  try {
    const mod = (await import(spec)) as OrtModule & { default?: OrtModule };
    return mod.InferenceSession ? mod : (mod.default as OrtModule);
  } catch (err) {
    throw new OmafError(
      "OMAF_ERR_ONNXRUNTIME_MISSING",
      `serving an ONNX model needs the optional package '${spec}', which could not be loaded: ${messageOf(err)}`,
      { module: spec },
      { cause: err },
    );
  }
}

/** Tensor specs from onnxruntime's value metadata; symbolic and unknown dimensions become -1. */
function valueInfos(
  metadata: readonly Ort.InferenceSession.ValueMetadata[],
  kind: "input" | "output",
  file: string,
): Map<string, ValueInfo> {
  const out = new Map<string, ValueInfo>();
  for (const m of metadata) {
    const datatype = m.isTensor ? ORT_TO_DATATYPE[m.type] : undefined;
    if (!m.isTensor || !datatype) {
      // Non-tensor outputs (e.g. sequences of maps) are left out: they are neither listed nor fetched.
      if (kind === "output") continue;
      const what = m.isTensor ? `a ${m.type} tensor` : "not a tensor";
      throw new OmafError("OMAF_ERR_ENTRYPOINT_LOAD", `input '${m.name}' of ${file} is ${what}, which omaf cannot feed`, {
        file,
        input: m.name,
      });
    }
    const shape = m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
    out.set(m.name, { spec: { name: m.name, datatype, shape }, ortType: m.type });
  }
  return out;
}

function matrixPlan(inputs: Map<string, ValueInfo>): MatrixPlan | string {
  if (inputs.size !== 1) {
    return `the model has ${inputs.size} inputs (${[...inputs.keys()].join(", ")}); matrix requests need exactly one — send named tensors`;
  }
  const [{ spec, ortType }] = inputs.values();
  if (spec.shape.length !== 2 && spec.shape.length !== 0) {
    return `the model's input '${spec.name}' has shape [${spec.shape.join(", ")}]; matrix requests need a 2-D input — send named tensors`;
  }
  const [rows = -1, width = -1] = spec.shape;
  return { inputName: spec.name, ortType, rows, width, ...cellWriter(spec.datatype) };
}

/** Nested list of `count` cells of `data` starting at `offset`, shaped by `dims`. */
function nested(read: CellReader, data: unknown, offset: number, dims: readonly number[], level: number): unknown[] {
  const n = dims[level];
  const out = new Array(n);
  if (level === dims.length - 1) {
    for (let i = 0; i < n; i++) out[i] = read(data, offset + i);
    return out;
  }
  const stride = elementCount(dims.slice(level + 1));
  for (let i = 0; i < n; i++) out[i] = nested(read, data, offset + i * stride, dims, level + 1);
  return out;
}

/** A model stored as an `.onnx` file (`binaries.type: onnx`). */
export class OnnxModel implements Model {
  private s?: Session;

  constructor(
    private readonly source: ModelSource,
    private readonly options: OnnxModelOptions = {},
  ) {}

  /** Loads the session; after close() the next load() creates a new one. */
  load = sharedLoad(() => this.doLoad());

  private async doLoad(): Promise<void> {
    const { dir } = this.source;
    const { rel: file } = entrypointFile(this.source, "onnx");
    const ort = await importOrt(this.options.runtimeModule ?? "onnxruntime-node");
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(join(dir, file), {
        intraOpNumThreads: this.options.intraOpNumThreads ?? 1,
        interOpNumThreads: this.options.interOpNumThreads ?? 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
    } catch (err) {
      throw new OmafError("OMAF_ERR_ENTRYPOINT_LOAD", `cannot load ONNX model ${file}: ${messageOf(err)}`, { file }, {
        cause: err,
      });
    }
    try {
      const inputs = valueInfos(session.inputMetadata, "input", file);
      const outputs = valueInfos(session.outputMetadata, "output", file);
      const fetches = [...outputs.keys()];
      this.s = {
        ort,
        session,
        inputs,
        outputs,
        fetches,
        readers: fetches.map((name) => cellReader(outputs.get(name)!.ortType)),
        matrix: matrixPlan(inputs),
        metadata: {
          ...manifestMetadata(this.source),
          mode: "matrix",
          inputs: [...inputs.values()].map((v) => v.spec),
          outputs: [...outputs.values()].map((v) => v.spec),
        },
      };
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  metadata(): ModelMetadata {
    return this.ready().metadata;
  }

  async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    const s = this.ready();
    const plan = s.matrix;
    if (typeof plan === "string") throw bad(plan);
    const data = input?.data;
    if (!Array.isArray(data) || data.length === 0) throw bad("the input matrix must be a non-empty list of rows");
    const n = data.length;
    if (plan.rows !== -1 && n !== plan.rows) throw bad(`the model takes exactly ${plan.rows} rows; got ${n}`);
    const first = data[0];
    if (!Array.isArray(first)) throw bad("row 0 of the input matrix is not a list");
    const width = first.length;
    if (plan.width !== -1 && width !== plan.width) {
      throw bad(`rows must have ${plan.width} values for input '${plan.inputName}'; row 0 has ${width}`);
    }

    const buf = plan.alloc(n * width);
    for (let r = 0, k = 0; r < n; r++) {
      const row = data[r];
      if (!Array.isArray(row) || row.length !== width) {
        throw bad(`row ${r} of the input matrix ${Array.isArray(row) ? `has ${row.length} values, row 0 has ${width}` : "is not a list"}`);
      }
      for (let c = 0; c < width; c++, k++) {
        if (!plan.write(buf, k, row[c])) throw bad(`row ${r}, column ${c} is ${JSON.stringify(row[c]) ?? String(row[c])}; expected ${plan.expects}`);
      }
    }

    let results: Ort.InferenceSession.ReturnType;
    try {
      const feed = new s.ort.Tensor(plan.ortType as "float32", buf as Float32Array, [n, width]);
      results = await s.session.run({ [plan.inputName]: feed }, s.fetches);
    } catch (err) {
      throw this.runError(err);
    }

    const prediction = new Array<unknown[]>(n);
    for (let r = 0; r < n; r++) prediction[r] = new Array(s.fetches.length);
    for (let o = 0; o < s.fetches.length; o++) {
      const name = s.fetches[o];
      const t = results[name] as Ort.Tensor;
      const dims = t.dims;
      if (dims.length === 0 || dims[0] !== n) {
        throw new OmafError(
          "OMAF_ERR_PREDICT",
          `output '${name}' has shape [${dims.join(", ")}], not one row per input row; send named tensors to get it`,
        );
      }
      const read = s.readers[o];
      const data = t.data;
      const cellDims = dims.slice(1);
      const perRow = elementCount(cellDims);
      for (let r = 0; r < n; r++) {
        prediction[r][o] = perRow === 1 ? read(data, r) : nested(read, data, r * perRow, cellDims, 0);
      }
    }
    return { prediction, columns: s.fetches.slice() };
  }

  async predictObjects(_input: unknown): Promise<unknown> {
    this.ready();
    throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", "ONNX models serve matrix and tensor predictions, not objects");
  }

  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const s = this.ready();
    if (!Array.isArray(inputs)) throw bad("inputs must be a list of tensors");
    const feeds: Record<string, Ort.Tensor> = {};
    for (const t of inputs) {
      const info = t && typeof t === "object" ? s.inputs.get(t.name) : undefined;
      if (!info) {
        throw bad(`unknown input '${t?.name}'; the model's inputs are: ${[...s.inputs.keys()].join(", ")}`, { input: t?.name });
      }
      if (t.name in feeds) throw bad(`input '${t.name}' is given twice`, { input: t.name });
      feeds[t.name] = this.toOrt(s, t, info);
    }
    const missing = [...s.inputs.keys()].filter((name) => !(name in feeds));
    if (missing.length > 0) throw bad(`missing input${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`, { missing });

    let fetches = s.fetches;
    if (outputNames && outputNames.length > 0) {
      const unknown = outputNames.filter((name) => !s.outputs.has(name));
      if (unknown.length > 0) {
        throw bad(`unknown output${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `'${u}'`).join(", ")}; the model's outputs are: ${s.fetches.join(", ")}`);
      }
      fetches = [...new Set(outputNames)];
    }

    let results: Ort.InferenceSession.ReturnType;
    try {
      results = await s.session.run(feeds, fetches);
    } catch (err) {
      throw this.runError(err);
    }
    return fetches.map((name) => fromOrt(name, results[name] as Ort.Tensor));
  }

  async close(): Promise<void> {
    const s = this.s;
    this.s = undefined;
    this.load = sharedLoad(() => this.doLoad());
    await s?.session.release();
  }

  private ready(): Session {
    if (!this.s) throw notReady(this.source.manifest.model.name);
    return this.s;
  }

  /** Checks one request tensor against the model input before onnxruntime sees it, and converts it. */
  private toOrt(s: Session, t: Tensor, info: ValueInfo): Ort.Tensor {
    const { spec } = info;
    if (t.datatype !== spec.datatype) {
      throw bad(`input '${t.name}' must be ${spec.datatype}; got ${t.datatype}`, { input: t.name });
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`input '${t.name}' has a bad shape ${JSON.stringify(shape)}`, { input: t.name });
    }
    const fits =
      spec.shape.length === 0 ||
      (shape.length === spec.shape.length && shape.every((d, i) => spec.shape[i] === -1 || spec.shape[i] === d));
    if (!fits) {
      throw bad(`input '${t.name}' has shape [${shape.join(", ")}]; the model expects [${spec.shape.join(", ")}] (-1: any size)`, {
        input: t.name,
      });
    }
    const mismatch = dataMismatch(t.datatype, t.data);
    if (mismatch) throw bad(`input '${t.name}': ${mismatch}`, { input: t.name });
    const count = elementCount(shape);
    if (t.data.length !== count) {
      throw bad(`input '${t.name}' has ${t.data.length} elements; shape [${shape.join(", ")}] needs ${count}`, { input: t.name });
    }
    let data: unknown = t.data;
    if (t.datatype === "BYTES") {
      try {
        data = bytesToStrings(t.data as Uint8Array[]);
      } catch {
        throw bad(`input '${t.name}' holds bytes that are not UTF-8 text, which ONNX string tensors need`, { input: t.name });
      }
    }
    return new s.ort.Tensor(info.ortType as "float32", data as Float32Array, shape);
  }

  private runError(err: unknown): OmafError {
    if (err instanceof OmafError) return err;
    const message = messageOf(err);
    return new OmafError(ortErrorCode(message), `onnxruntime: ${message}`, undefined, { cause: err });
  }
}

/** An onnxruntime output as an omaf Tensor. */
function fromOrt(name: string, t: Ort.Tensor): Tensor {
  const datatype = ORT_TO_DATATYPE[t.type];
  if (!datatype) throw new OmafError("OMAF_ERR_PREDICT", `output '${name}' has type ${t.type}, which omaf cannot carry`);
  const shape = Array.from(t.dims);
  let data: unknown = t.data;
  if (datatype === "BYTES") data = stringsToBytes(t.data as string[]);
  else if (datatype === "FP16" && !(data instanceof Uint16Array)) {
    // A runtime with Float16Array support hands out numbers; omaf keeps half bits.
    data = new Uint16Array((data as ArrayBufferView).buffer, (data as ArrayBufferView).byteOffset, elementCount(shape));
  }
  return { name, datatype, shape, data: data as Tensor["data"] };
}
