// The one door between protocols and the model. Every inference request goes through DataPlane.infer(): admission
// (draining, the in-flight limit), loading (a lazy model's first load, the retry of a failed one), the request
// checks, the per-call timeout, error mapping, and exactly one inference-log line and one metric per request, with
// the code the request was answered with, plus the request's share of the model's statistics (statistics.ts) and, when
// tracing is on, its spans (tracing.ts). Protocol modules only translate their wire format to these calls and back;
// none of them loads the model or decides readiness.
// One DataPlane serves one model version; the registry (src/registry/) holds one per served version.
import type { Logger } from "pino";
import { OmafError, toOmafError } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../runtime/model.js";
import type { Tensor } from "../tensor/tensor.js";
import { hasBatchAxis, rowsLane, tensorLane, type TensorCall } from "./batch-lanes.js";
import { Batcher, type BatchLane, type BatchObserver, type BatchSettings } from "./batcher.js";
import { Deadlines, type Pending } from "./deadlines.js";
import { parseMatrixBody, parseObjectsBody } from "./json-input.js";
import { InferenceStatistics } from "./statistics.js";
import type { RequestOutcome, RequestTrace, RequestTracer } from "./tracing.js";
import { matrixAsTensors, rowsFitInputs, tensorsAsMatrix } from "./tensor-inference.js";
import { validateMatrix, validateTensors } from "./validate.js";

export { newRequestId } from "./request-id.js";

/** The artifact being served: what materializeArtifact() answers, minus the folder. */
export interface ServedArtifact {
  manifest: OmafManifest;
  /** `sha256:<hex>` of the artifact. */
  artifactDigest: string;
  /** Where it came from (the path given to `omaf serve`). */
  source: string;
  /** omaf's key id of the trusted key whose signature was verified before serving (spec/signing.md). */
  signedBy?: string;
  /** The unpacked folder, when there is one (the docs page reads the manifest's sample input from it). */
  dir?: string;
}

/** What every prediction carries. */
export interface Provenance {
  modelName: string;
  modelVersion: string;
  artifactDigest: string;
  /** Key id of the verified signature, when the artifact was served with a trusted key's signature. */
  signedBy?: string;
}

/** Who asks: carried into the inference log. */
export interface RequestContext {
  requestId: string;
  /** e.g. `omi`, `oip-grpc`, `kserve-v1`. */
  protocol: string;
  /** The caller's W3C trace context (`traceparent` header or gRPC metadata), when it sent one. */
  traceparent?: string;
  /** The caller's W3C `tracestate`, sent along with `traceparent`. */
  tracestate?: string;
}

/** Where the dataplane reports each request (the server's Prometheus metrics). */
export interface DataPlaneMetrics extends Partial<BatchObserver> {
  /** One request was answered: `status` is `ok` or the OMAF_ERR_ code it was answered with; refusals take 0 s. */
  observePrediction(protocol: string, status: string, seconds: number): void;
}

/** Adaptive batching (batcher.ts): off unless maxBatchSize > 1. */
export interface BatchingOptions extends BatchSettings {
  /** A matrix-mode entrypoint's rows are independent, so its requests may be merged (opt-in per model). */
  rows: boolean;
}

export interface DataPlaneOptions {
  /** Inference logger; undefined = no inference log. */
  logger?: Logger;
  /** Log inputs and outputs too (off by default: they may hold sensitive data). */
  logPayloads?: boolean;
  /** A model call running longer answers OMAF_ERR_TIMEOUT. */
  requestTimeoutMs: number;
  /** Most requests admitted at once; 0 = no limit. */
  maxInFlight: number;
  /** Metrics hook; undefined = no metrics. */
  metrics?: DataPlaneMetrics;
  /** Adaptive batching; undefined = off. */
  batching?: BatchingOptions;
  /** Traces every inference request (tracing.ts); undefined = no tracing. */
  tracer?: RequestTracer;
}

/** `unloaded` → `loading` → `ready` | `failed`; `draining` once a stop began; `closed` after close(). */
export type DataPlaneState = "unloaded" | "loading" | "ready" | "failed" | "draining" | "closed";

/** The answer to a JSON request, whatever the mode: the prediction and, for matrix models, output column names. */
export interface JsonPrediction {
  result: unknown;
  columns?: string[];
}

/** One item of a batch: a value, or the error that item already has (e.g. it was not valid JSON). */
export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: OmafError };

/**
 * One admitted inference request, as a protocol handler sees it while it runs: the loaded model's metadata and the
 * model calls. Each call is checked against the model's contract and runs under the request timeout; errors are
 * OmafErrors. Only valid inside the handler given to DataPlane.infer().
 */
export interface Inference {
  readonly metadata: ModelMetadata;
  /** True when the model takes named tensors directly (predictTensors); others go through tensor-inference.ts. */
  readonly takesTensors: boolean;
  predictMatrix(input: MatrixInput): Promise<MatrixOutput>;
  /** Objects mode: JSON in, JSON out. */
  predictObjects(input: unknown): Promise<unknown>;
  /** Named tensors in and out (tensor-native models only; others answer OMAF_ERR_NOT_IMPLEMENTED). */
  predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]>;
  /** A JSON body read by the model's mode: matrix (`{"columns"?,"data"}` or a 2-D array) or objects. */
  predictJson(body: unknown): Promise<JsonPrediction>;
  /**
   * Several JSON bodies in one request, one after another; each answers its own result or error and a failing item
   * never fails the others (the log line counts the failed items).
   */
  predictJsonBatch(items: ReadonlyArray<ItemResult<unknown>>): Promise<ItemResult<JsonPrediction>[]>;
}

export class DataPlane {
  private loaded = false;
  private draining = false;
  private closed = false;
  private loading?: Promise<void>;
  private meta?: ModelMetadata;
  private _loadError?: OmafError;
  private _loadTimeMs?: number;
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private listeners = new Set<(state: DataPlaneState) => void>();
  /** What a request refused after drain() began is told (a server stop, or this model's unload). */
  private stopMessage = "the server is shutting down; retry on another instance";
  /** @internal Read by the per-request Inference objects. */
  readonly log?: Logger;
  /** Errors already written to the inference log (see reportRejected). */
  private readonly logged = new WeakSet<object>();
  /** @internal */
  readonly logPayloads: boolean;
  /** @internal */
  readonly deadlines: Deadlines;
  private readonly maxInFlight: number;
  private readonly metrics?: DataPlaneMetrics;
  /** @internal Read by the per-request Inference objects. */
  readonly tracer?: RequestTracer;
  readonly provenance: Provenance;
  /** The batching settings in force (maxBatchSize 0 = off). */
  readonly batching: Readonly<BatchingOptions>;
  /** @internal Set once loaded when batching is on: the batcher and the lanes this model's calls may take. */
  batch?: { batcher: Batcher; tensors?: BatchLane<TensorCall, Tensor[]>; rows?: BatchLane<MatrixInput, MatrixOutput> };
  /** @internal Admitted requests that have not reached the model yet: a batch may wait for them. */
  onTheirWay = 0;
  /** Triton-style statistics of this model version's requests and executions. */
  readonly stats = new InferenceStatistics();

  constructor(
    /** @internal */
    readonly model: Model,
    readonly artifact: ServedArtifact,
    opts: DataPlaneOptions,
  ) {
    this.provenance = Object.freeze({
      modelName: artifact.manifest.model.name,
      modelVersion: artifact.manifest.model.version,
      artifactDigest: artifact.artifactDigest,
      ...(artifact.signedBy ? { signedBy: artifact.signedBy } : {}),
    });
    // Bindings are serialised once here, not on every log line.
    this.log = opts.logger?.child({
      model: this.provenance.modelName,
      version: this.provenance.modelVersion,
      digest: this.provenance.artifactDigest,
      ...(artifact.signedBy ? { signedBy: artifact.signedBy } : {}),
    });
    this.logPayloads = opts.logPayloads ?? false;
    const timeoutMs = opts.requestTimeoutMs;
    this.deadlines = new Deadlines(timeoutMs, () => new OmafError("OMAF_ERR_TIMEOUT", `the prediction took longer than ${timeoutMs} ms`));
    this.maxInFlight = opts.maxInFlight;
    this.metrics = opts.metrics;
    this.tracer = opts.tracer;
    this.batching = Object.freeze(opts.batching ?? { maxBatchSize: 0, maxBatchTimeMs: 0, rows: false });
  }

  get state(): DataPlaneState {
    if (this.closed) return "closed";
    if (this.draining) return "draining";
    if (this.loaded) return "ready";
    if (this.loading) return "loading";
    return this._loadError ? "failed" : "unloaded";
  }

  /** Loaded and accepting requests. Reading it starts nothing; probes use probeReady(). */
  get ready(): boolean {
    return this.loaded && !this.draining && !this.closed;
  }

  /**
   * Readiness as a probe asks it (HTTP /readyz, OIP ServerReady/ModelReady, Odahu /healthcheck, KServe model status):
   * true when ready. A probe starts a lazy model's first load (so a probe-gated deployment ever becomes ready) but
   * never waits for it and never retries a failed one; inference requests do that.
   */
  probeReady(): boolean {
    if (this.state === "unloaded") this.load().catch(() => undefined);
    return this.ready;
  }

  /** Why the last load failed, if it did. */
  get loadError(): OmafError | undefined {
    return this._loadError;
  }

  /** How long the successful load took. */
  get loadTimeMs(): number | undefined {
    return this._loadTimeMs;
  }

  /** Requests admitted and not answered yet. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** True when the model takes named tensors directly (valid once loaded). */
  get takesTensors(): boolean {
    return typeof this.model.predictTensors === "function" && this.model.takesTensors !== false;
  }

  /** Called on every state change; returns an unsubscribe function. */
  onStateChange(listener: (state: DataPlaneState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Loads the model. Idempotent: callers during a load share it; after success it resolves at once;
   * after a failure the next call tries again (as Chassis does on the next Status). Rejects with an OmafError.
   */
  load(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.draining || this.closed) return Promise.reject(this.unavailable());
    if (!this.loading) {
      this.loading = this.doLoad();
      this.emit();
    }
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.model.load();
      this.meta = this.model.metadata();
      this.batch = this.batchLanes(this.meta);
      this._loadTimeMs = round(performance.now() - t0);
      this._loadError = undefined;
      this.loaded = true;
      this.log?.info({ loadMs: this._loadTimeMs, environment: this.meta.environment, runtime: this.meta.runtime, mode: this.meta.mode }, "model loaded");
    } catch (err) {
      this._loadError = toOmafError(err, "OMAF_ERR_MODEL_INIT");
      this.log?.error({ code: this._loadError.code, err: this._loadError.message }, "model failed to load");
      throw this._loadError;
    } finally {
      this.loading = undefined;
      this.emit();
    }
  }

  /** Which of this model's calls may be merged, when batching is on (see batch-lanes.ts). */
  private batchLanes(meta: ModelMetadata): DataPlane["batch"] {
    if (this.batching.maxBatchSize <= 1) return undefined;
    // An entrypoint's tensors-mode function may look across rows: merged only when its rows are declared independent.
    const independent = meta.mode !== "tensors" || this.batching.rows;
    const tensors = this.takesTensors && hasBatchAxis(meta) && independent ? tensorLane(this.model) : undefined;
    const rows = !this.takesTensors && meta.mode === "matrix" && this.batching.rows ? rowsLane(this.model) : undefined;
    if (!tensors && !rows) return undefined;
    const { metrics, stats } = this;
    const observer: BatchObserver = {
      observeBatch: (size, queueSeconds) => metrics?.observeBatch?.(size, queueSeconds),
      observeExecution: (size, mergeMs, inferMs, splitMs) => stats.executed(size, mergeMs, inferMs, splitMs),
    };
    const batcher = new Batcher(this.batching, this.model.concurrency ?? 1, () => this.onTheirWay, observer);
    return { batcher, tensors, rows };
  }

  /** The model's metadata; OMAF_ERR_MODEL_NOT_READY before a successful load. */
  metadata(): ModelMetadata {
    if (!this.meta) throw this.notReady();
    return this.meta;
  }

  /**
   * The metadata once the model is loaded: waits for a load in progress, loads a lazy model, retries a failed load.
   * For metadata requests and OMI Status (not inferences: nothing is logged). Rejects with
   * OMAF_ERR_MODEL_NOT_READY (naming why the load failed) or OMAF_ERR_UNAVAILABLE (draining).
   */
  async loadedMetadata(): Promise<ModelMetadata> {
    if (this.meta && this.ready) return this.meta;
    try {
      await this.load();
    } catch (err) {
      const e = toOmafError(err);
      if (e.code === "OMAF_ERR_UNAVAILABLE" || e.code === "OMAF_ERR_MODEL_NOT_READY") throw e;
      throw new OmafError("OMAF_ERR_MODEL_NOT_READY", `the model failed to load: ${e.code}: ${e.message}`);
    }
    return this.metadata();
  }

  /**
   * Runs one inference request: admits it (or refuses it: draining, too many in flight), waits for the model (a lazy
   * or failed one is loaded first), runs `handler` with the request's Inference, and writes one inference-log line and
   * one metric with the outcome — `ok`, or the code of the error the handler threw (the error is rethrown as an
   * OmafError). Whatever the handler does before, between and after its model calls (decoding, encoding) is part of
   * the request: an error there is logged with its own code too.
   */
  async infer<T>(ctx: RequestContext, handler: (inference: Inference) => T | Promise<T>): Promise<T> {
    const request = new InferenceRequest(this, ctx);
    try {
      this.admit();
    } catch (err) {
      throw this.finish(request, err);
    }
    request.admitted = true;
    this.onTheirWay++;
    try {
      if (!this.loaded) await this.loadedMetadata();
      request.started(this.meta!);
      const value = await handler(request);
      this.finish(request);
      return value;
    } catch (err) {
      throw this.finish(request, err);
    } finally {
      request.reachedModel();
      this.release();
    }
  }

  /** One-shot matrix prediction (a request of its own). */
  predictMatrix(input: MatrixInput, ctx: RequestContext): Promise<MatrixOutput> {
    return this.infer(ctx, (i) => i.predictMatrix(input));
  }

  /** One-shot objects prediction. */
  predictObjects(input: unknown, ctx: RequestContext): Promise<unknown> {
    return this.infer(ctx, (i) => i.predictObjects(input));
  }

  /** One-shot tensor prediction. */
  predictTensors(inputs: Tensor[], outputNames: string[] | undefined, ctx: RequestContext): Promise<Tensor[]> {
    return this.infer(ctx, (i) => i.predictTensors(inputs, outputNames));
  }

  /** One-shot JSON prediction. */
  predictJson(body: unknown, ctx: RequestContext): Promise<JsonPrediction> {
    return this.infer(ctx, (i) => i.predictJson(body));
  }

  /** One-shot batch of JSON items (one request, one log line). */
  predictJsonBatch(items: ReadonlyArray<ItemResult<unknown>>, ctx: RequestContext): Promise<ItemResult<JsonPrediction>[]> {
    return this.infer(ctx, (i) => i.predictJsonBatch(items));
  }

  /**
   * Stops admitting requests (they answer OMAF_ERR_UNAVAILABLE, with `message` when given: why they are refused) and
   * resolves once admitted ones are answered. A timed-out prediction counts as answered.
   */
  drain(message?: string): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      if (message) this.stopMessage = message;
      this.log?.info({ inFlight: this.inFlight }, "draining");
      this.emit();
    }
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Releases the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit();
    if (this.loaded) await this.model.close();
  }

  /**
   * Logs and counts an inference request that was refused before it reached infer() (a body over the limit, a
   * malformed request, an unknown model), so every inference request leaves one line. Errors infer() already logged
   * are not logged again.
   */
  reportRejected(ctx: RequestContext, err: unknown): void {
    const { logged, metrics, tracer, log, provenance } = this;
    if (reportRejection({ logged, metrics, tracer, log, provenance }, ctx, err)) this.stats.failed(0);
  }

  /** The one log line and metric of a request; answers the error it failed with, if any. */
  private finish(request: InferenceRequest, err?: unknown): OmafError | undefined {
    // Model calls answer OmafErrors already; anything else thrown in a handler is omaf's own fault.
    const error = err === undefined ? request.itemError() : toOmafError(err, "OMAF_ERR_INTERNAL");
    const end = performance.now();
    const elapsedMs = end - request.t0;
    const status = error ? error.code : "ok";
    this.metrics?.observePrediction(request.ctx.protocol, status, error && request.refused ? 0 : elapsedMs / 1000);
    if (error) this.stats.failed(request.refused ? 0 : elapsedMs);
    else request.countSuccess(this.stats, end);
    if (error && err !== undefined) this.logged.add(error);
    const trace = request.trace;
    if (trace) trace.end(end, request.outcome(end, error));
    if (this.log) {
      const record: Record<string, unknown> = {
        requestId: request.ctx.requestId,
        protocol: request.ctx.protocol,
        latencyMs: round(elapsedMs),
        status: error ? "error" : "ok",
      };
      if (trace) record.traceId = trace.traceId;
      if (error) {
        record.code = error.code;
        record.error = error.message;
      }
      request.describeItems(record);
      request.describeBatch(record);
      if (this.logPayloads) request.describePayloads(record);
      if (error) this.log.warn(record, "inference");
      else this.log.info(record, "inference");
    }
    return err === undefined ? undefined : error;
  }

  /** Admits one request or throws OMAF_ERR_UNAVAILABLE; every admitted request calls release() once. */
  private admit(): void {
    if (this.draining || this.closed) throw this.unavailable();
    if (this.maxInFlight > 0 && this.inFlight >= this.maxInFlight) {
      throw new OmafError("OMAF_ERR_UNAVAILABLE", `too many requests in flight (limit ${this.maxInFlight}); retry later`);
    }
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private notReady(): OmafError {
    if (this._loadError) {
      return new OmafError("OMAF_ERR_MODEL_NOT_READY", `the model failed to load: ${this._loadError.code}: ${this._loadError.message}`);
    }
    return new OmafError("OMAF_ERR_MODEL_NOT_READY", this.loading ? "the model is still loading" : "the model is not loaded yet");
  }

  private unavailable(): OmafError {
    return new OmafError("OMAF_ERR_UNAVAILABLE", this.stopMessage);
  }

  private emit(): void {
    const state = this.state;
    for (const listener of this.listeners) listener(state);
  }
}

/** The Inference of one request: the model calls, with what the log line needs to know about them. */
class InferenceRequest implements Inference {
  readonly t0 = performance.now();
  metadata!: ModelMetadata;
  /** Got past admission (a request refused there has no wait for the model). */
  admitted = false;
  /** Its trace, when tracing is on. */
  readonly trace?: RequestTrace;
  /** When its first model call started (kept only when traced). */
  private firstCallStart?: number;
  /** Set until the request got past admission and loading (a refusal is counted with 0 s). */
  get refused(): boolean {
    return this.metadata === undefined;
  }
  // The request's phases for the statistics (see statistics.ts): waits, model calls, and when the last one answered.
  private queueMs = 0;
  private inferMs = 0;
  private lastAnswer = 0;
  /** The model call under way: when it began, its wait in the batching queue, and whether the batcher ran it. */
  private callStart = 0;
  private callQueueMs = 0;
  private callBatched = false;
  private items?: { count: number; errors: OmafError[] };
  private payloads?: { input: unknown[]; output: unknown[] };
  /** The batch its (last) model call ran in, when batching is on. */
  private batched?: { size: number; queueMs: number };
  private arrived = false;
  /** Withdraws a call still waiting in the batch queue (when the request timed out). */
  private abandonQueued?: () => void;

  constructor(
    private readonly plane: DataPlane,
    readonly ctx: RequestContext,
  ) {
    if (plane.tracer) this.trace = plane.tracer.begin(ctx, plane.provenance, this.t0);
  }

  get takesTensors(): boolean {
    return this.plane.takesTensors;
  }

  /** The model is loaded and the handler starts: the time until now was spent waiting. */
  started(metadata: ModelMetadata): void {
    this.metadata = metadata;
    this.queueMs = performance.now() - this.t0;
  }

  /** Counts the request, answered at `end`, as a success: how its time splits into the statistics' phases. */
  countSuccess(stats: InferenceStatistics, end: number): void {
    stats.succeeded(end - this.t0, this.queueMs, this.inferMs, this.lastAnswer ? end - this.lastAnswer : 0);
  }

  /**
   * A model call starts, after the request's own checks: what follows is the model's time (or the batch queue's).
   * Every model call of call()'s `run` is made right after this.
   */
  private invoke(): void {
    this.callStart = performance.now();
    this.callQueueMs = 0;
    this.callBatched = false;
  }

  /** A model call answered in time: its share of the phases; a call the batcher did not run is one execution. */
  private answered(): void {
    const now = performance.now();
    const spent = now - this.callStart;
    this.queueMs += this.callQueueMs;
    this.inferMs += spent - this.callQueueMs;
    this.lastAnswer = now;
    if (!this.callBatched) this.plane.stats.executed(1, 0, spent, 0);
    if (this.trace) this.traceCall(now);
  }

  /** The model call under way, as a span: from when the model started on it (after any batch wait) to `end`. */
  private traceCall(end: number, error?: OmafError): void {
    const start = this.callStart + this.callQueueMs;
    this.firstCallStart ??= start;
    this.trace!.modelCall(start, end, this.callBatched ? (this.batched?.size ?? 1) : 1, error);
  }

  /** How the request ended, for its trace. */
  outcome(end: number, error: OmafError | undefined): RequestOutcome {
    const outcome: RequestOutcome = {};
    if (error) outcome.error = error;
    if (this.admitted) outcome.queueEnd = this.firstCallStart ?? end;
    if (this.firstCallStart !== undefined) outcome.batchSize = this.batched?.size ?? 1;
    return outcome;
  }

  predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    const meta = this.metadata;
    const model = this.plane.model;
    const takesTensors = this.plane.takesTensors;
    return this.call(input, () => {
      validateMatrix(input, meta);
      if (!takesTensors) {
        // A matrix model's declared contract holds for rows too: each cell of its input's datatype, widths as declared.
        if (meta.declaredContract && rowsFitInputs(meta)) validateTensors(matrixAsTensors(input, meta), undefined, meta);
        const rows = this.plane.batch?.rows;
        this.invoke();
        return rows ? this.inBatch(rows, input) : model.predictMatrix(input);
      }
      // Tensor-native models get the rows as their input tensors, checked like any tensor request.
      const tensors = matrixAsTensors(input, meta);
      validateTensors(tensors, undefined, meta);
      return this.tensors(tensors).then((outputs) => tensorsAsMatrix(outputs, input.data.length));
    });
  }

  predictObjects(input: unknown): Promise<unknown> {
    return this.call(input, () => {
      const body = parseObjectsBody(input);
      this.invoke();
      return this.plane.model.predictObjects(body);
    });
  }

  predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const meta = this.metadata;
    const model = this.plane.model;
    if (!this.plane.takesTensors || !model.predictTensors) {
      return Promise.reject(new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `this ${meta.environment} model takes ${meta.mode}, not tensors`));
    }
    return this.call(inputs, () => {
      validateTensors(inputs, outputNames, meta);
      return this.tensors(inputs, outputNames);
    });
  }

  /** A tensor-native model's call, merged with others when its model batches. */
  private tensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const lane = this.plane.batch?.tensors;
    this.invoke();
    return lane ? this.inBatch(lane, { inputs, outputNames }) : this.plane.model.predictTensors!(inputs, outputNames);
  }

  /** Queues a call with the batcher; remembers the batch it ran in for the log line. */
  private inBatch<I, O>(lane: BatchLane<I, O>, input: I): Promise<O> {
    this.callBatched = true;
    const ticket = this.plane.batch!.batcher.submit(lane, input);
    this.abandonQueued = ticket.abandon;
    return ticket.answer.then((b) => {
      this.batched = { size: b.batchSize, queueMs: b.queueMs };
      this.callQueueMs = b.queueMs;
      return b.value;
    });
  }

  async predictJson(body: unknown): Promise<JsonPrediction> {
    if (this.metadata.mode === "objects") return { result: await this.predictObjects(body) };
    const out = await this.predictMatrix(parseMatrixBody(body));
    return out.columns ? { result: out.prediction, columns: out.columns } : { result: out.prediction };
  }

  async predictJsonBatch(items: ReadonlyArray<ItemResult<unknown>>): Promise<ItemResult<JsonPrediction>[]> {
    const errors: OmafError[] = [];
    this.items = { count: items.length, errors };
    const out: ItemResult<JsonPrediction>[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item.ok) {
        errors.push(item.error);
        out[i] = item;
        continue;
      }
      try {
        out[i] = { ok: true, value: await this.predictJson(item.value) };
      } catch (err) {
        const error = toOmafError(err, "OMAF_ERR_PREDICT");
        errors.push(error);
        out[i] = { ok: false, error };
      }
    }
    return out;
  }

  /** A batch whose every item failed answers, as a request, the first item's error. */
  itemError(): OmafError | undefined {
    const items = this.items;
    return items && items.count > 0 && items.errors.length === items.count ? items.errors[0] : undefined;
  }

  describeItems(record: Record<string, unknown>): void {
    if (!this.items || this.items.count <= 1) return;
    record.items = this.items.count;
    if (this.items.errors.length > 0) record.failedItems = this.items.errors.length;
  }

  describeBatch(record: Record<string, unknown>): void {
    if (!this.batched) return;
    record.batch = this.batched.size;
    record.queueMs = round(this.batched.queueMs);
  }

  /** The request made its first model call (or ended without one): it is no longer on its way to the model. */
  reachedModel(): void {
    if (this.arrived) return;
    this.arrived = true;
    this.plane.onTheirWay--;
  }

  describePayloads(record: Record<string, unknown>): void {
    if (!this.payloads) return;
    const one = this.payloads.input.length === 1;
    record.input = one ? this.payloads.input[0] : this.payloads.input;
    if (this.payloads.output.length > 0) record.output = one ? this.payloads.output[0] : this.payloads.output;
  }

  /**
   * Runs one model call under the timeout and maps its error. One promise per call: it settles with the model's
   * answer, or with OMAF_ERR_TIMEOUT when the model is still running at the deadline (a late answer is dropped).
   */
  private call<T>(input: unknown, run: () => Promise<T>): Promise<T> {
    const plane = this.plane;
    if (plane.logPayloads) (this.payloads ??= { input: [], output: [] }).input.push(input);
    this.reachedModel();
    // Set again by invoke() once the model is called: a call that fails before that (its checks) traced no model call.
    this.callStart = 0;
    const call = new ModelCall<T>(this);
    const answer = new Promise<T>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    let output: Promise<T>;
    try {
      output = run();
    } catch (err) {
      call.expire(err);
      return answer;
    }
    plane.deadlines.track(call, performance.now());
    Promise.resolve(output).then(
      (value) => {
        if (!plane.deadlines.settle(call)) return;
        this.answered();
        if (this.payloads) this.payloads.output.push(value);
        call.resolve(value);
      },
      (err: unknown) => {
        if (plane.deadlines.settle(call)) call.expire(err);
      },
    );
    return answer;
  }

  /**
   * The call under way failed with `error`: a call still queued for a batch must not run once its request gave up,
   * and a call the model had started on is traced as failed.
   */
  abandon(error: OmafError): void {
    this.abandonQueued?.();
    if (this.trace && this.callStart > 0) this.traceCall(performance.now(), error);
  }
}

/**
 * One model call under the timeout: the promise its request awaits, and its own entry in the dataplane's list of
 * deadlines (deadlines.ts), so a call costs one object besides its promise.
 */
class ModelCall<T> implements Pending {
  deadline = 0;
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  resolve!: (value: T) => void;
  reject!: (err: OmafError) => void;

  constructor(private readonly request: InferenceRequest) {}

  /** The call failed, or its deadline passed (Deadlines calls this with the timeout error). */
  expire(err: unknown): void {
    const error = toOmafError(err, "OMAF_ERR_PREDICT");
    this.request.abandon(error);
    this.reject(error);
  }
}

/** Where a request refused before any model call is reported: a dataplane's, or the registry's for no model. */
export interface RejectionSink {
  /** Errors already reported: each is reported once. */
  logged: WeakSet<object>;
  metrics?: DataPlaneMetrics;
  tracer?: RequestTracer;
  log?: Logger;
  /** The model it addressed, when known. */
  provenance?: Provenance;
}

/** Logs, counts and traces a refused request (0 s, its error code); false when its error was reported already. */
export function reportRejection(sink: RejectionSink, ctx: RequestContext, err: unknown): boolean {
  if (err !== null && typeof err === "object" && sink.logged.has(err)) return false;
  const error = toOmafError(err, "OMAF_ERR_INTERNAL");
  sink.logged.add(error);
  if (err !== null && typeof err === "object") sink.logged.add(err);
  sink.metrics?.observePrediction(ctx.protocol, error.code, 0);
  if (sink.tracer) {
    const now = performance.now();
    sink.tracer.begin(ctx, sink.provenance, now).end(now, { error });
  }
  sink.log?.warn({ requestId: ctx.requestId, protocol: ctx.protocol, latencyMs: 0, status: "error", code: error.code, error: error.message }, "inference");
  return true;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
