// The python environment: a GPPI model (`binaries.type: python`) run by Python worker processes.
//
// Contract with the model, as Odahu's GPPI server had it:
// - `model.workDir` is the import path, MODEL_LOCATION and the working directory; `model.entrypoint` is imported.
// - init() answers 'matrix', 'objects' or 'tensors'; info() or get_info() answers (input schema, output schema), each a list of
//   {name, type, required, example} (a mapping of name -> field is accepted too).
// - predict_on_matrix(matrix, columns) gets the rows as a list of row lists (Odahu passed the request's `data`
//   unchanged) and the caller's column names as given, or None. Columns are NOT reordered by omaf: like Odahu,
//   aligning them to the model's schema is the entrypoint's job. It answers (prediction, columns).
// - predict_on_objects(value) gets the request's JSON value and answers any JSON-able value.
// - predict_on_tensors(inputs) (tensors mode) gets {name: numpy array} and answers {name: array}: raw bytes both
//   ways over the pipe (tensor-frames.ts); the manifest's declared contract says what the inputs are.
// - get_output_json_serializer(), when present, answers a json.JSONEncoder subclass used to encode the answer.
//
// Results are turned into plain JSON: numpy arrays and scalars, pandas DataFrames (as rows) / Series / Index, dates
// (ISO text), decimals, sets; NaN, Infinity and -Infinity become null. Numbers in a matrix travel as float64, so a
// request that mixes integers and fractions gives the model floats throughout (all-integer matrices stay ints).
import { stat } from "node:fs/promises";
import { OmafError } from "../../errors.js";
import { checkMatrixRequest, GppiShapeError, matrixTensorSpecs, normaliseMatrixResult, parseInfoSchemas } from "../gppi.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata, PredictMode } from "../model.js";
import { manifestMetadata, messageOf, modelLocation, notReady, sharedLoad, type ModelSource } from "../source.js";
import { resolvePythonSettings, WORKER_SCRIPT, type PythonOptions, type PythonSettings } from "./options.js";
import { WorkerPool } from "../workers/pool.js";
import { decodeBinaryResult, decodeJson, FrameType, jsonFrame, matrixFrame, type Frame, type MatrixAnswer } from "./protocol.js";
import { PythonWorker, workerError, type ReadyInfo, type WorkerLaunch } from "./worker.js";
import { decodeTensorsResult, tensorsFrame } from "./tensor-frames.js";
import { readTensorOutputs, withDeclaredContract } from "../tensors-mode.js";
import type { Tensor } from "../../tensor/tensor.js";

/** What createPythonModel needs: the unpacked artifact and the bridge's tunables. */
export interface PythonModelOptions extends ModelSource, PythonOptions {}

/** A matrix answer with the time the model function itself took inside the worker. */
export interface TimedMatrixOutput {
  output: MatrixOutput;
  /** Microseconds spent in predict_on_matrix() itself, measured inside the worker. */
  modelMicros: number;
}

/** A Python GPPI model served by a pool of worker processes. */
export class PythonModel implements Model {
  private readonly settings: PythonSettings;
  private pool?: WorkerPool<Buffer, Frame, ReadyInfo>;
  private meta?: ModelMetadata;
  private ready?: ReadyInfo;
  private closed = false;
  private readonly entrypoint: string;

  constructor(private readonly opts: PythonModelOptions) {
    this.settings = resolvePythonSettings(opts);
    this.entrypoint = opts.manifest.model.entrypoint;
  }

  /** Resolved interpreter, worker count, timeout and matrix format. */
  /** One call per worker process. */
  get concurrency(): number {
    return this.settings.workers;
  }

  get options(): Readonly<Omit<PythonSettings, "logger">> {
    const { logger: _logger, ...rest } = this.settings;
    return rest;
  }

  readonly load = sharedLoad(() => this.doLoad());

  private async doLoad(): Promise<void> {
    const location = modelLocation(this.opts);
    if (!(await isDirectory(location.abs))) {
      throw new OmafError("OMAF_ERR_WORKDIR", `model.workDir '${location.rel}' is not a folder in the artifact`, {
        workDir: location.rel,
      });
    }
    const label = `model '${this.opts.manifest.model.name}'`;
    const launch: WorkerLaunch = {
      python: this.settings.python,
      script: WORKER_SCRIPT,
      workDir: location.abs,
      entrypoint: this.entrypoint,
      matrixFormat: this.settings.matrixFormat,
      label,
    };
    const { logger } = this.settings;
    const pool = new WorkerPool(
      this.settings.workers,
      { kind: "python worker", label, create: (index, onGone) => new PythonWorker(index, launch, logger, onGone) },
      logger,
      this.settings.requestTimeoutMs,
    );
    this.pool = pool;
    const ready = await pool.start();
    if (this.closed) {
      await pool.close();
      throw new OmafError("OMAF_ERR_UNAVAILABLE", `${label} was closed while loading`);
    }

    const metadata: ModelMetadata = {
      ...manifestMetadata(this.opts),
      environment: "python",
      mode: ready.mode as PredictMode,
      inputs: [],
      outputs: [],
    };
    if (ready.info !== undefined && ready.info !== null) {
      try {
        Object.assign(metadata, parseInfoSchemas(ready.info));
      } catch (err) {
        await pool.close();
        const fn = ready.infoFunction ?? "info";
        throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${fn}() in module '${this.entrypoint}' answered a bad schema: ${messageOf(err)}`, {
          entrypoint: this.entrypoint,
          function: fn,
        });
      }
      if (metadata.mode === "matrix") Object.assign(metadata, matrixTensorSpecs(metadata.inputSchema, metadata.outputSchema));
    }
    if ("objectInputType" in ready) metadata.objectInputType = ready.objectInputType;
    if ("objectOutputType" in ready) metadata.objectOutputType = ready.objectOutputType;
    try {
      this.meta = withDeclaredContract(metadata, this.opts);
    } catch (err) {
      await pool.close();
      throw err;
    }
    this.ready = ready;
  }

  metadata(): ModelMetadata {
    if (!this.meta) throw notReady(this.opts.manifest.model.name);
    return this.meta;
  }

  async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    return (await this.predictMatrixTimed(input)).output;
  }

  /** predictMatrix, also answering how long the model function itself took (for overhead measurements). */
  async predictMatrixTimed(input: MatrixInput): Promise<TimedMatrixOutput> {
    const { meta, pool, ready } = this.readyFor("matrix");
    const { data, columns } = checkMatrixRequest(input, meta.inputSchema);
    let frame: Buffer;
    try {
      frame = matrixFrame(data, columns ?? undefined, ready.numpy);
    } catch (err) {
      throw new OmafError("OMAF_ERR_BAD_INPUT", `the matrix cannot be sent as JSON: ${messageOf(err)}`);
    }
    const answer = await pool.run(frame, "predict_on_matrix()");
    let decoded: MatrixAnswer;
    let out: MatrixOutput;
    try {
      decoded = this.decode<MatrixAnswer>(answer, true);
      out = normaliseMatrixResult({ prediction: decoded.prediction, columns: decoded.columns });
    } catch (err) {
      if (err instanceof OmafError) throw err;
      throw new OmafError("OMAF_ERR_PREDICT", `predict_on_matrix() in module '${this.entrypoint}': ${messageOf(err)}`, {
        entrypoint: this.entrypoint,
      });
    }
    if (!out.columns && meta.outputSchema?.length) out.columns = meta.outputSchema.map((f) => f.name);
    return { output: out, modelMicros: decoded.t };
  }

  async predictObjects(input: unknown): Promise<unknown> {
    const { pool } = this.readyFor("objects");
    if (input === undefined) throw new OmafError("OMAF_ERR_BAD_INPUT", "the objects-mode input is missing");
    let frame: Buffer;
    try {
      frame = jsonFrame(FrameType.Objects, input);
    } catch (err) {
      throw new OmafError("OMAF_ERR_BAD_INPUT", `the input cannot be sent as JSON: ${messageOf(err)}`);
    }
    const answer = await pool.run(frame, "predict_on_objects()");
    try {
      return this.decode<{ result: unknown }>(answer, false).result;
    } catch (err) {
      if (err instanceof OmafError) throw err;
      throw new OmafError("OMAF_ERR_PREDICT", `predict_on_objects() in module '${this.entrypoint}': ${messageOf(err)}`, {
        entrypoint: this.entrypoint,
      });
    }
  }

  /** A tensors-mode entrypoint serves named tensors (the dataplane sends every request as tensors then). */
  get takesTensors(): boolean {
    return this.meta?.mode === "tensors";
  }

  /** Tensors mode: the inputs go to the worker as raw bytes (tensor-frames.ts) and reach the model as numpy arrays. */
  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const { meta, pool } = this.readyFor("tensors");
    const answer = await pool.run(tensorsFrame(inputs), "predict_on_tensors()");
    if (answer.type === FrameType.Error) throw workerError(decodeJson(answer.body), { entrypoint: this.entrypoint });
    const where = `predict_on_tensors() in module '${this.entrypoint}'`;
    let outputs: Tensor[];
    try {
      if (answer.type !== FrameType.ResultTensors) throw new Error(`the worker answered an unexpected frame type ${answer.type}`);
      outputs = decodeTensorsResult(answer.body).outputs;
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `${where}: ${messageOf(err)}`, { entrypoint: this.entrypoint });
    }
    const declared = meta.declaredContract && meta.outputs.length > 0 ? meta.outputs : undefined;
    return readTensorOutputs(outputs, declared, outputNames, where);
  }

  /** Stops the workers; a request still running after `graceMs` (default 0) has its worker killed. */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    await this.pool?.close(graceMs);
  }

  /** Process ids of the workers that are serving (undefined for one being restarted). */
  workerPids(): (number | undefined)[] {
    return this.pool?.pids() ?? [];
  }

  private decode<T>(frame: Frame, binaryAllowed: boolean): T {
    if (frame.type === FrameType.Error) {
      throw workerError(decodeJson(frame.body), { entrypoint: this.entrypoint });
    }
    if (frame.type === FrameType.ResultJson) return decodeJson<T>(frame.body);
    if (frame.type === FrameType.ResultBinary && binaryAllowed) return decodeBinaryResult(frame.body) as T;
    throw new GppiShapeError(`the worker answered an unexpected frame type ${frame.type}`);
  }

  private readyFor(mode: PredictMode): { meta: ModelMetadata; pool: WorkerPool<Buffer, Frame, ReadyInfo>; ready: ReadyInfo } {
    if (!this.meta || !this.pool || !this.ready || this.closed) throw notReady(this.opts.manifest.model.name);
    if (this.meta.mode !== mode) {
      throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `model '${this.meta.name}' serves ${this.meta.mode} predictions, not ${mode}`);
    }
    return { meta: this.meta, pool: this.pool, ready: this.ready };
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The Model for an unpacked python (GPPI) artifact; call `load()` before predicting and `close()` when done. */
export function createPythonModel(opts: PythonModelOptions): PythonModel {
  return new PythonModel(opts);
}
