// A GPPI-style model served by a pool of worker processes: the part the Python (GPPI) and Java (GJPI) environments
// share. Each language supplies how its workers start (ProcessWorker launches) and how its functions are named in
// messages; loading, metadata from the ready report, the request frames and the answers are the same for both.
import { stat } from "node:fs/promises";
import { OmafError } from "../../errors.js";
import { checkMatrixRequest, GppiShapeError, matrixTensorSpecs, normaliseMatrixResult, parseInfoSchemas } from "../gppi.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata, PredictMode } from "../model.js";
import { manifestMetadata, messageOf, modelLocation, notReady, type ModelSource, sharedLoad } from "../source.js";
import type { WorkerLogger } from "../workers/logger.js";
import { WorkerPool, type PoolWorker } from "../workers/pool.js";
import { decodeBinaryResult, decodeJson, type Frame, FrameType, jsonFrame, type MatrixAnswer, matrixFrame } from "./protocol.js";
import { type BaseReadyInfo, workerError } from "./worker.js";
import { decodeTensorsResult, tensorsFrame } from "./tensor-frames.js";
import { readTensorOutputs, withDeclaredContract } from "../tensors-mode.js";
import type { Tensor } from "../../tensor/tensor.js";

/** A matrix answer with the time the model function itself took inside the worker. */
export interface TimedMatrixOutput {
  output: MatrixOutput;
  /** Microseconds spent in the model's matrix function itself, measured inside the worker. */
  modelMicros: number;
}

/** What a language tells the shared model about itself. */
export interface ProcessModelLanguage {
  environment: "python" | "java";
  /** The model's functions as messages name them: e.g. "predict_on_matrix()" / "predictOnMatrix()". */
  matrixFunction: string;
  objectsFunction: string;
  /** The info function when the worker does not say which one it called. */
  infoFunction: string;
  /** Where the functions live, for messages: e.g. "module 'entrypoint'" / "class 'com.example.Iris'". */
  where: string;
}

/** Pool size, timeout and logger: the tunables every process environment has. */
export interface ProcessPoolSettings {
  workers: number;
  requestTimeoutMs: number;
  logger: WorkerLogger;
}

/** A model whose functions run in worker processes of one language. */
export abstract class ProcessModel<Ready extends BaseReadyInfo> implements Model {
  private pool?: WorkerPool<Buffer, Frame, Ready>;
  private meta?: ModelMetadata;
  private ready?: Ready;
  private closed = false;

  constructor(
    protected readonly source: ModelSource,
    private readonly poolSettings: ProcessPoolSettings,
    private readonly language: ProcessModelLanguage,
  ) {}

  /** How worker `index` of this model is made, once the model folder is known to exist. */
  protected abstract workerFactory(location: {
    rel: string;
    abs: string;
  }): Promise<{ kind: string; create(index: number, onGone: () => void): PoolWorker<Buffer, Frame, Ready> }>;

  /** True when numeric matrices may travel to this worker as raw float64. */
  protected abstract binaryMatrices(ready: Ready): boolean;

  /** One call per worker process. */
  get concurrency(): number {
    return this.poolSettings.workers;
  }

  readonly load = sharedLoad(() => this.doLoad());

  private async doLoad(): Promise<void> {
    const location = modelLocation(this.source);
    if (!(await isDirectory(location.abs))) {
      throw new OmafError("OMAF_ERR_WORKDIR", `model.workDir '${location.rel}' is not a folder in the artifact`, {
        workDir: location.rel,
      });
    }
    const label = `model '${this.source.manifest.model.name}'`;
    const factory = await this.workerFactory(location);
    const { logger, workers, requestTimeoutMs } = this.poolSettings;
    const pool = new WorkerPool(workers, { ...factory, label }, logger, requestTimeoutMs);
    this.pool = pool;
    const ready = await pool.start();
    if (this.closed) {
      await pool.close();
      throw new OmafError("OMAF_ERR_UNAVAILABLE", `${label} was closed while loading`);
    }

    const metadata: ModelMetadata = {
      ...manifestMetadata(this.source),
      environment: this.language.environment,
      mode: ready.mode as PredictMode,
      inputs: [],
      outputs: [],
    };
    if (ready.info !== undefined && ready.info !== null) {
      try {
        Object.assign(metadata, parseInfoSchemas(ready.info));
      } catch (err) {
        await pool.close();
        const fn = ready.infoFunction ?? this.language.infoFunction;
        throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${fn}() in ${this.language.where} answered a bad schema: ${messageOf(err)}`, {
          entrypoint: this.source.manifest.model.entrypoint,
          function: fn,
        });
      }
      if (metadata.mode === "matrix") Object.assign(metadata, matrixTensorSpecs(metadata.inputSchema, metadata.outputSchema));
    }
    if ("objectInputType" in ready) metadata.objectInputType = ready.objectInputType;
    if ("objectOutputType" in ready) metadata.objectOutputType = ready.objectOutputType;
    try {
      this.meta = withDeclaredContract(metadata, this.source);
    } catch (err) {
      await pool.close();
      throw err;
    }
    this.ready = ready;
  }

  metadata(): ModelMetadata {
    if (!this.meta) throw notReady(this.source.manifest.model.name);
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
      frame = matrixFrame(data, columns ?? undefined, this.binaryMatrices(ready));
    } catch (err) {
      throw new OmafError("OMAF_ERR_BAD_INPUT", `the matrix cannot be sent as JSON: ${messageOf(err)}`);
    }
    const fn = this.language.matrixFunction;
    const answer = await pool.run(frame, fn);
    let decoded: MatrixAnswer;
    let out: MatrixOutput;
    try {
      decoded = this.decode<MatrixAnswer>(answer, true);
      out = normaliseMatrixResult({ prediction: decoded.prediction, columns: decoded.columns });
    } catch (err) {
      if (err instanceof OmafError) throw err;
      throw new OmafError("OMAF_ERR_PREDICT", `${fn} in ${this.language.where}: ${messageOf(err)}`, {
        entrypoint: this.source.manifest.model.entrypoint,
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
    const fn = this.language.objectsFunction;
    const answer = await pool.run(frame, fn);
    try {
      return this.decode<{ result: unknown }>(answer, false).result;
    } catch (err) {
      if (err instanceof OmafError) throw err;
      throw new OmafError("OMAF_ERR_PREDICT", `${fn} in ${this.language.where}: ${messageOf(err)}`, {
        entrypoint: this.source.manifest.model.entrypoint,
      });
    }
  }

  /** A tensors-mode entrypoint serves named tensors (the dataplane sends every request as tensors then). */
  get takesTensors(): boolean {
    return this.meta?.mode === "tensors";
  }

  /** Tensors mode: the inputs go to the worker as raw bytes (tensor-frames.ts) and reach the model as arrays. */
  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const { meta, pool } = this.readyFor("tensors");
    const answer = await pool.run(tensorsFrame(inputs), "predict_on_tensors()");
    const entrypoint = this.source.manifest.model.entrypoint;
    if (answer.type === FrameType.Error) throw workerError(decodeJson(answer.body), { entrypoint });
    const where = `predict_on_tensors() in ${this.language.where}`;
    let outputs: Tensor[];
    try {
      if (answer.type !== FrameType.ResultTensors) throw new Error(`the worker answered an unexpected frame type ${answer.type}`);
      outputs = decodeTensorsResult(answer.body).outputs;
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `${where}: ${messageOf(err)}`, { entrypoint });
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
      throw workerError(decodeJson(frame.body), { entrypoint: this.source.manifest.model.entrypoint });
    }
    if (frame.type === FrameType.ResultJson) return decodeJson<T>(frame.body);
    if (frame.type === FrameType.ResultBinary && binaryAllowed) return decodeBinaryResult(frame.body) as T;
    throw new GppiShapeError(`the worker answered an unexpected frame type ${frame.type}`);
  }

  private readyFor(mode: PredictMode): { meta: ModelMetadata; pool: WorkerPool<Buffer, Frame, Ready>; ready: Ready } {
    if (!this.meta || !this.pool || !this.ready || this.closed) throw notReady(this.source.manifest.model.name);
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
