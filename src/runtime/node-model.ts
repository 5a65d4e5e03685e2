// The node environment: omaf's JavaScript/TypeScript take on GPPI. The entrypoint module exports init() and
// predict_on_matrix(), predict_on_objects() or predict_on_tensors() (typed arrays in and out), plus the optional GPPI extras (node/entrypoint-module.ts).
//
// The model runs in worker threads (node/thread-worker.ts) behind the worker pool the Python environment uses too,
// so a model stuck in a synchronous loop cannot stop health checks, other requests or signals: past the request
// timeout its thread is terminated and replaced. Values cross between threads as structured clones: what a model
// answers arrives as plain data (a class instance as its own fields; a toJSON() method stays behind, so shape
// custom output with get_output_json_serializer()). MODEL_LOCATION is the model folder in each thread's environment.
import { join } from "node:path";
import { OmafError } from "../errors.js";
import { checkMatrixRequest, matrixTensorSpecs } from "./gppi.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata, PredictMode } from "./model.js";
import { loadEntrypoint, type EntrypointReport, type EntrypointSpec, type LoadedEntrypoint } from "./node/entrypoint-module.js";
import { resolveNodeSettings, type NodeOptions, type NodeSettings } from "./node/options.js";
import { fromErrorRecord, isPacked, packRows, unpack } from "./node/protocol.js";
import { NodeThreadWorker, type NodeAnswer, type NodeRequest } from "./node/thread-worker.js";
import { entrypointFile, manifestMetadata, notReady, sharedLoad, type ModelSource } from "./source.js";
import { readTensorOutputs, withDeclaredContract } from "./tensors-mode.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ModelTensor } from "./node/entrypoint-module.js";
import { WorkerPool } from "./workers/pool.js";

/** Where the model runs: a pool of worker threads, or (opted in) the entrypoint loaded in this thread. */
type Runner = { pool: WorkerPool<NodeRequest, NodeAnswer, EntrypointReport> } | { inProcess: LoadedEntrypoint };

/** A GPPI model written as a JS/TS module (`binaries.type: node`). */
export class NodeModel implements Model {
  private readonly settings: NodeSettings;
  private runner?: Runner;
  private meta?: ModelMetadata;
  private closed = false;

  constructor(
    private readonly source: ModelSource,
    options: NodeOptions = {},
  ) {
    this.settings = resolveNodeSettings(options);
  }

  /** Resolved worker count, mode and timeout. */
  /** One call per worker thread (one in process). */
  get concurrency(): number {
    return this.settings.inProcess ? 1 : this.settings.workers;
  }

  get options(): Readonly<Omit<NodeSettings, "logger">> {
    const { logger: _logger, ...rest } = this.settings;
    return rest;
  }

  readonly load = sharedLoad(() => this.doLoad());

  private async doLoad(): Promise<void> {
    const { dir, manifest } = this.source;
    const { location, rel } = entrypointFile(this.source, "node");
    const entry: EntrypointSpec = { absFile: join(dir, rel), file: rel, tsconfigSearch: [location.abs, dir] };
    const label = `model '${manifest.model.name}'`;

    let runner: Runner;
    let report: EntrypointReport;
    if (this.settings.inProcess) {
      // The GPPI contract: the model finds its files through MODEL_LOCATION, set before its module runs.
      process.env.MODEL_LOCATION = location.abs;
      const loaded = await loadEntrypoint(entry);
      runner = { inProcess: loaded };
      report = loaded.report;
    } else {
      const { logger, workers, requestTimeoutMs, maxHeapMb } = this.settings;
      const launch = { entry, modelLocation: location.abs, label, maxHeapMb };
      const pool = new WorkerPool(
        workers,
        { kind: "node worker", label, create: (index, onGone) => new NodeThreadWorker(index, launch, onGone) },
        logger,
        requestTimeoutMs,
      );
      report = await pool.start();
      runner = { pool };
      if (this.closed) {
        await pool.close();
        throw new OmafError("OMAF_ERR_UNAVAILABLE", `${label} was closed while loading`);
      }
    }

    const { mode, ...described } = report;
    let metadata: ModelMetadata = { ...manifestMetadata(this.source), mode, inputs: [], outputs: [], ...described };
    if (mode === "matrix" && report.inputSchema) Object.assign(metadata, matrixTensorSpecs(report.inputSchema, report.outputSchema));
    try {
      metadata = withDeclaredContract(metadata, this.source);
    } catch (err) {
      if ("pool" in runner) await runner.pool.close();
      throw err;
    }
    this.runner = runner;
    this.meta = metadata;
  }

  metadata(): ModelMetadata {
    if (!this.meta) throw notReady(this.source.manifest.model.name);
    return this.meta;
  }

  async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    const { meta, runner } = this.readyFor("matrix");
    const { data, columns } = checkMatrixRequest(input, meta.inputSchema);
    let out: MatrixOutput;
    if ("inProcess" in runner) out = await runner.inProcess.predictMatrix(data, columns ?? undefined);
    else {
      const request: NodeRequest = { kind: "matrix", id: 0, data: packRows(data) ?? data, ...(columns ? { columns } : {}) };
      const answer = await runner.pool.run(request, "predict_on_matrix()");
      if (answer.type === "error") throw fromErrorRecord(answer.error);
      if (answer.type !== "matrix") throw unexpected(answer.type);
      out = { prediction: isPacked(answer.prediction) ? unpack(answer.prediction) : answer.prediction };
      if (answer.columns) out.columns = answer.columns;
    }
    if (!out.columns && meta.outputSchema?.length) out.columns = meta.outputSchema.map((f) => f.name);
    return out;
  }

  async predictObjects(input: unknown): Promise<unknown> {
    const { runner } = this.readyFor("objects");
    if ("inProcess" in runner) return runner.inProcess.predictObjects(input);
    const answer = await runner.pool.run({ kind: "objects", id: 0, input }, "predict_on_objects()");
    if (answer.type === "error") throw fromErrorRecord(answer.error);
    if (answer.type !== "objects") throw unexpected(answer.type);
    return answer.result;
  }

  /** A tensors-mode entrypoint serves named tensors (the dataplane sends every request as tensors then). */
  get takesTensors(): boolean {
    return this.meta?.mode === "tensors";
  }

  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const { meta, runner } = this.readyFor("tensors");
    const named: Record<string, ModelTensor> = {};
    for (const t of inputs) named[t.name] = t;
    let answer: unknown;
    if ("inProcess" in runner) answer = await runner.inProcess.predictTensors(named);
    else {
      // Typed arrays cross to the thread by structured clone: one copy of their bytes, no JSON.
      const reply = await runner.pool.run({ kind: "tensors", id: 0, inputs: named }, "predict_on_tensors()");
      if (reply.type === "error") throw fromErrorRecord(reply.error);
      if (reply.type !== "tensors") throw unexpected(reply.type);
      answer = reply.outputs;
    }
    const declared = meta.declaredContract && meta.outputs.length > 0 ? meta.outputs : undefined;
    return readTensorOutputs(answer, declared, outputNames, `predict_on_tensors() of model '${meta.name}'`);
  }

  /** Stops the worker threads; one still running a request after `graceMs` (default 0) is terminated. */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    if (this.runner && "pool" in this.runner) await this.runner.pool.close(graceMs);
    // In-process, nothing to release: the module stays in the process's module cache.
  }

  /** Thread ids of the serving workers (undefined for one being replaced); empty in-process. */
  workerIds(): (number | undefined)[] {
    return this.runner && "pool" in this.runner ? this.runner.pool.pids() : [];
  }

  private readyFor(mode: PredictMode): { meta: ModelMetadata; runner: Runner } {
    if (!this.meta || !this.runner || this.closed) throw notReady(this.source.manifest.model.name);
    if (this.meta.mode !== mode) {
      throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `model '${this.meta.name}' serves ${this.meta.mode} predictions, not ${mode}`);
    }
    return { meta: this.meta, runner: this.runner };
  }
}

const unexpected = (type: string) => new OmafError("OMAF_ERR_INTERNAL", `a node worker answered an unexpected '${type}' message`);
