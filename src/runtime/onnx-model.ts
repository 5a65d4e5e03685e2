// The onnx environment: an `.onnx` file run by onnxruntime-node. The runtime package is imported inside load() only,
// so the rest of omaf never pays for (or needs) it.
//
// The model is tensor-native: the dataplane checks requests against its inputs (names, datatypes, shapes) before they
// get here, and maps matrix requests onto its single 2-D input (dataplane/tensor-inference.ts). predictMatrix() does
// that same mapping without the checks, for callers that use the Model directly.
import type * as Ort from "onnxruntime-node";
import { join } from "node:path";
import { badInput, OmafError } from "../errors.js";
import { rowsFromTensors, tensorFromMatrix } from "../tensor/matrix.js";
import { elementCount, type Tensor, type TensorSpec } from "../tensor/tensor.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "./model.js";
import { bytesToStrings, DATATYPE_TO_ORT, ORT_TO_DATATYPE, stringsToBytes } from "./onnx-tensors.js";
import { withDeclaredContract } from "./tensors-mode.js";
import { entrypointFile, manifestMetadata, messageOf, notReady, sharedLoad, type ModelSource } from "./source.js";

type OrtModule = typeof Ort;

/** Tuning for ONNX sessions. */
export interface OnnxModelOptions {
  /** Threads one operator may use (default 1: best for small models on few cores, measured). */
  intraOpNumThreads?: number;
  /** Threads for running independent operators in parallel (default 1). */
  interOpNumThreads?: number;
  /** Module to import instead of ONNX_RUNTIMES (a compatible build, or a missing name in tests). */
  runtimeModule?: string;
}

interface ValueInfo {
  spec: TensorSpec;
  ortType: string;
}

interface Session {
  ort: OrtModule;
  session: Ort.InferenceSession;
  metadata: ModelMetadata;
  inputs: Map<string, ValueInfo>;
  outputs: Map<string, ValueInfo>;
  /** Tensor outputs fetched by default, in model order. */
  fetches: string[];
}

/** onnxruntime's message for a request that does not fit the model (as opposed to a failure inside it). */
const ORT_INPUT_ERROR =
  /INVALID_ARGUMENT|invalid (dimensions|rank|input|shape)|unexpected input data type|missing in 'feeds'|not a valid (input|output)|tensor's data must be|data length/i;

/** The omaf code for an error onnxruntime raised while running: the caller's fault or the model's. */
export function ortErrorCode(message: string): "OMAF_ERR_BAD_INPUT" | "OMAF_ERR_PREDICT" {
  return ORT_INPUT_ERROR.test(message) ? "OMAF_ERR_BAD_INPUT" : "OMAF_ERR_PREDICT";
}

/**
 * The runtimes tried, in order: the native onnxruntime-node, then onnxruntime-web (the same API in WebAssembly, a
 * regular dependency). npm drops onnxruntime-node, an optional dependency, whenever its install script cannot
 * download what it wants (it fetches CUDA libraries on linux x64), so a plain `npm install omaf` on a machine
 * without that network access still serves ONNX models — more slowly, on the CPU.
 */
export const ONNX_RUNTIMES: readonly string[] = ["onnxruntime-node", "onnxruntime-web"];

/** The first of `specs` that imports, with its name; OMAF_ERR_ONNXRUNTIME_MISSING naming why each failed. */
async function importOrt(specs: readonly string[]): Promise<{ ort: OrtModule; name: string }> {
  const failures: string[] = [];
  for (const spec of specs) {
    try {
      const mod = (await import(spec)) as OrtModule & { default?: OrtModule };
      return { ort: mod.InferenceSession ? mod : (mod.default as OrtModule), name: spec };
    } catch (err) {
      failures.push(`'${spec}': ${messageOf(err)}`);
    }
  }
  throw new OmafError(
    "OMAF_ERR_ONNXRUNTIME_MISSING",
    `serving an ONNX model needs ${specs.map((s) => `'${s}'`).join(" or ")}, and none could be loaded: ${failures.join("; ")}`,
    { modules: [...specs] },
  );
}

/** Tensor specs from onnxruntime's value metadata; symbolic and unknown dimensions become -1. */
function valueInfos(metadata: readonly Ort.InferenceSession.ValueMetadata[], kind: "input" | "output", file: string): Map<string, ValueInfo> {
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
    const { ort, name: runtime } = await importOrt(this.options.runtimeModule ? [this.options.runtimeModule] : ONNX_RUNTIMES);
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(join(dir, file), {
        intraOpNumThreads: this.options.intraOpNumThreads ?? 1,
        interOpNumThreads: this.options.interOpNumThreads ?? 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
    } catch (err) {
      throw new OmafError(
        "OMAF_ERR_ENTRYPOINT_LOAD",
        `cannot load ONNX model ${file}: ${messageOf(err)}`,
        { file },
        {
          cause: err,
        },
      );
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
        metadata: withDeclaredContract(
          {
            ...manifestMetadata(this.source),
            runtime,
            mode: "matrix",
            inputs: [...inputs.values()].map((v) => v.spec),
            outputs: [...outputs.values()].map((v) => v.spec),
          },
          this.source,
        ),
      };
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  metadata(): ModelMetadata {
    return this.ready().metadata;
  }

  /** The rows as the model's single input (in its datatype); one answer column per output. Unchecked: see the header. */
  async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    const spec = this.metadata().inputs[0];
    const outputs = await this.predictTensors([tensorFromMatrix(input.data, spec.name, spec.datatype)]);
    return { prediction: rowsFromTensors(outputs, input.data.length), columns: outputs.map((t) => t.name) };
  }

  async predictObjects(_input: unknown): Promise<unknown> {
    this.ready();
    throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", "ONNX models serve matrix and tensor predictions, not objects");
  }

  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const s = this.ready();
    const feeds: Record<string, Ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = this.toOrt(s, t);
    const fetches = outputNames && outputNames.length > 0 ? [...new Set(outputNames)] : s.fetches;
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

  /** A request tensor as onnxruntime's; only BYTES needs converting (string tensors hold text). */
  private toOrt(s: Session, t: Tensor): Ort.Tensor {
    const ortType = s.inputs.get(t.name)?.ortType ?? DATATYPE_TO_ORT[t.datatype];
    let data: unknown = t.data;
    if (t.datatype === "BYTES") {
      try {
        data = bytesToStrings(t.data as Uint8Array[]);
      } catch {
        throw badInput(`input '${t.name}' holds bytes that are not UTF-8 text, which ONNX string tensors need`, { input: t.name });
      }
    }
    return new s.ort.Tensor(ortType as "float32", data as Float32Array, t.shape);
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
  const shape = t.dims.slice();
  let data: unknown = t.data;
  if (datatype === "BYTES") data = stringsToBytes(t.data as string[]);
  else if (datatype === "FP16" && !(data instanceof Uint16Array)) {
    // A runtime with Float16Array support hands out numbers; omaf keeps half bits.
    data = new Uint16Array((data as ArrayBufferView).buffer, (data as ArrayBufferView).byteOffset, elementCount(shape));
  }
  return { name, datatype, shape, data: data as Tensor["data"] };
}
