// The one place between protocols and the model: loading, readiness, admission (draining, in-flight limit),
// request checks, the per-request timeout, error mapping, the inference log and provenance.
// Protocol modules only translate their wire format to these calls and back.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { OmafError, toOmafError } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../runtime/model.js";
import type { Tensor } from "../tensor/tensor.js";
import { Deadlines } from "./deadlines.js";
import { parseMatrixBody, parseObjectsBody } from "./json-input.js";
import { validateMatrix, validateTensors } from "./validate.js";

/** The artifact being served: what materializeArtifact() answers, minus the folder. */
export interface ServedArtifact {
  manifest: OmafManifest;
  /** `sha256:<hex>` of the artifact. */
  artifactDigest: string;
  /** Where it came from (the path given to `omaf serve`). */
  source: string;
}

/** What every prediction carries. */
export interface Provenance {
  modelName: string;
  modelVersion: string;
  artifactDigest: string;
}

/** Who asks: carried into the inference log. */
export interface RequestContext {
  requestId: string;
  /** e.g. `omi`, `oip-v2-grpc`, `kserve-v1`. */
  protocol: string;
}

/** Where the dataplane reports each prediction (the server's Prometheus metrics). */
export interface DataPlaneMetrics {
  /** One prediction finished or was refused: `status` is `ok` or the OMAF_ERR_ code; refusals take 0 s. */
  observePrediction(protocol: string, status: string, seconds: number): void;
}

export interface DataPlaneOptions {
  /** Inference logger; undefined = no inference log. */
  logger?: Logger;
  /** Log inputs and outputs too (off by default: they may hold sensitive data). */
  logPayloads?: boolean;
  /** A prediction running longer answers OMAF_ERR_TIMEOUT. */
  requestTimeoutMs: number;
  /** Most requests admitted at once; 0 = no limit. */
  maxInFlight: number;
  /** Metrics hook; undefined = no metrics. */
  metrics?: DataPlaneMetrics;
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

/** A fresh request id. */
export function newRequestId(): string {
  return randomUUID();
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
  private readonly log?: Logger;
  /** Errors already written to the inference log (see reportRejected). */
  private readonly logged = new WeakSet<object>();
  private readonly logPayloads: boolean;
  private readonly deadlines: Deadlines;
  private readonly maxInFlight: number;
  private readonly metrics?: DataPlaneMetrics;
  readonly provenance: Provenance;

  constructor(
    private readonly model: Model,
    readonly artifact: ServedArtifact,
    opts: DataPlaneOptions,
  ) {
    this.provenance = Object.freeze({
      modelName: artifact.manifest.model.name,
      modelVersion: artifact.manifest.model.version,
      artifactDigest: artifact.artifactDigest,
    });
    // Bindings are serialised once here, not on every log line.
    this.log = opts.logger?.child({
      model: this.provenance.modelName,
      version: this.provenance.modelVersion,
      digest: this.provenance.artifactDigest,
    });
    this.logPayloads = opts.logPayloads ?? false;
    const timeoutMs = opts.requestTimeoutMs;
    this.deadlines = new Deadlines(timeoutMs, () => new OmafError("OMAF_ERR_TIMEOUT", `the prediction took longer than ${timeoutMs} ms`));
    this.maxInFlight = opts.maxInFlight;
    this.metrics = opts.metrics;
  }

  get state(): DataPlaneState {
    if (this.closed) return "closed";
    if (this.draining) return "draining";
    if (this.loaded) return "ready";
    if (this.loading) return "loading";
    return this._loadError ? "failed" : "unloaded";
  }

  /** Loaded and accepting requests. */
  get ready(): boolean {
    return this.loaded && !this.draining && !this.closed;
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

  /** True when the model takes named tensors directly (predictTensors); other models go through tensor-inference.ts. */
  get takesTensors(): boolean {
    return typeof this.model.predictTensors === "function";
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
    if (this.draining || this.closed) return Promise.reject(unavailable());
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
      this._loadTimeMs = round(performance.now() - t0);
      this._loadError = undefined;
      this.loaded = true;
      this.log?.info({ loadMs: this._loadTimeMs, environment: this.meta.environment, mode: this.meta.mode }, "model loaded");
    } catch (err) {
      this._loadError = toOmafError(err, "OMAF_ERR_MODEL_INIT");
      this.log?.error({ code: this._loadError.code, err: this._loadError.message }, "model failed to load");
      throw this._loadError;
    } finally {
      this.loading = undefined;
      this.emit();
    }
  }

  /** The model's metadata; OMAF_ERR_MODEL_NOT_READY before a successful load. */
  metadata(): ModelMetadata {
    if (!this.meta) throw this.notReady();
    return this.meta;
  }

  /** Matrix-mode prediction. */
  async predictMatrix(input: MatrixInput, ctx: RequestContext): Promise<MatrixOutput> {
    this.admit(ctx);
    try {
      return await this.matrix(input, ctx);
    } finally {
      this.release();
    }
  }

  /** Objects-mode prediction: JSON in, JSON out. */
  async predictObjects(input: unknown, ctx: RequestContext): Promise<unknown> {
    this.admit(ctx);
    try {
      return await this.objects(input, ctx);
    } finally {
      this.release();
    }
  }

  /** Named tensors in and out (tensor-native models only; others answer OMAF_ERR_NOT_IMPLEMENTED). */
  async predictTensors(inputs: Tensor[], outputNames: string[] | undefined, ctx: RequestContext): Promise<Tensor[]> {
    this.admit(ctx);
    try {
      const meta = this.metadata();
      const model = this.model;
      if (!model.predictTensors) throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `this ${meta.environment} model takes ${meta.mode}, not tensors`);
      return await this.call(ctx, undefined, inputs, () => {
        validateTensors(inputs, outputNames, meta);
        return model.predictTensors!(inputs, outputNames);
      });
    } finally {
      this.release();
    }
  }

  /** A JSON body, read by the model's mode: matrix (`{"columns"?,"data"}` or a 2-D array) or objects. */
  async predictJson(body: unknown, ctx: RequestContext): Promise<JsonPrediction> {
    this.admit(ctx);
    try {
      return await this.json(body, ctx, undefined);
    } finally {
      this.release();
    }
  }

  /**
   * Several JSON bodies as one request (admitted once, so a drain lets the whole batch finish).
   * Items run one after another; each answers its own result or error, and a failing item never fails the others.
   */
  async predictJsonBatch(items: ReadonlyArray<ItemResult<unknown>>, ctx: RequestContext): Promise<ItemResult<JsonPrediction>[]> {
    this.admit(ctx);
    try {
      const out: ItemResult<JsonPrediction>[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const index = items.length > 1 ? i : undefined;
        if (!item.ok) {
          this.logFailure(ctx, index, 0, item.error);
          out[i] = item;
          continue;
        }
        try {
          out[i] = { ok: true, value: await this.json(item.value, ctx, index) };
        } catch (err) {
          out[i] = { ok: false, error: toOmafError(err, "OMAF_ERR_PREDICT") };
        }
      }
      return out;
    } finally {
      this.release();
    }
  }

  /**
   * Stops admitting requests (they answer OMAF_ERR_UNAVAILABLE) and resolves once admitted ones are answered.
   * A timed-out prediction counts as answered.
   */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
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

  private async json(body: unknown, ctx: RequestContext, index: number | undefined): Promise<JsonPrediction> {
    const meta = this.metadata();
    if (meta.mode === "matrix") {
      let input: MatrixInput;
      try {
        input = parseMatrixBody(body);
      } catch (err) {
        this.logFailure(ctx, index, 0, err as OmafError, body);
        throw err;
      }
      const out = await this.matrix(input, ctx, index);
      return out.columns ? { result: out.prediction, columns: out.columns } : { result: out.prediction };
    }
    return { result: await this.objects(body, ctx, index) };
  }

  private matrix(input: MatrixInput, ctx: RequestContext, index?: number): Promise<MatrixOutput> {
    const meta = this.metadata();
    return this.call(ctx, index, input, () => {
      validateMatrix(input, meta);
      return this.model.predictMatrix(input);
    });
  }

  private objects(input: unknown, ctx: RequestContext, index?: number): Promise<unknown> {
    this.metadata();
    return this.call(ctx, index, input, () => this.model.predictObjects(parseObjectsBody(input)));
  }

  /**
   * Runs one prediction under the timeout, maps its error, logs and counts it. One promise per prediction: it
   * settles with the model's answer, or with OMAF_ERR_TIMEOUT when the model is still running at the deadline (a
   * late answer is then dropped).
   */
  private call<T>(ctx: RequestContext, index: number | undefined, input: unknown, run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    return new Promise<T>((resolve, reject) => {
      const fail = (err: unknown) => reject(this.failed(ctx, index, t0, err, input));
      let output: Promise<T>;
      try {
        output = run();
      } catch (err) {
        fail(err);
        return;
      }
      const pending = this.deadlines.add(t0, fail);
      Promise.resolve(output).then(
        (value) => {
          if (!this.deadlines.settle(pending)) return;
          const elapsedMs = performance.now() - t0;
          this.metrics?.observePrediction(ctx.protocol, "ok", elapsedMs / 1000);
          if (this.log) this.logSuccess(ctx, index, elapsedMs, input, value);
          resolve(value);
        },
        (err: unknown) => {
          if (this.deadlines.settle(pending)) fail(err);
        },
      );
    });
  }

  /** A failed prediction as the OmafError it answers, logged and counted. */
  private failed(ctx: RequestContext, index: number | undefined, t0: number, err: unknown, input: unknown): OmafError {
    // OmafErrors (bad input found by the runtime, a timeout) keep their code; anything else the model threw is a predict error.
    const error = toOmafError(err, "OMAF_ERR_PREDICT");
    this.logFailure(ctx, index, t0, error, input);
    return error;
  }

  /**
   * Admits one request or throws OMAF_ERR_UNAVAILABLE / OMAF_ERR_MODEL_NOT_READY (counted). Every admitted request
   * calls release() exactly once, from the `finally` of the public method that admitted it.
   */
  private admit(ctx: RequestContext): void {
    try {
      this.tryAdmit();
    } catch (err) {
      // Refused (draining, not loaded, too busy): still one inference-log line and one count.
      this.logFailure(ctx, undefined, 0, err as OmafError);
      throw err;
    }
  }

  private tryAdmit(): void {
    if (this.draining || this.closed) throw unavailable();
    if (!this.loaded) throw this.notReady();
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

  private logSuccess(ctx: RequestContext, index: number | undefined, elapsedMs: number, input: unknown, output: unknown): void {
    const record: Record<string, unknown> = {
      requestId: ctx.requestId,
      protocol: ctx.protocol,
      latencyMs: round(elapsedMs),
      status: "ok",
    };
    if (index !== undefined) record.item = index;
    if (this.logPayloads) {
      record.input = input;
      record.output = output;
    }
    this.log!.info(record, "inference");
  }

  /**
   * Logs and counts a request that a protocol refused before it reached the dataplane (a malformed body, an unknown
   * model, a body over the limit), so every inference request leaves a line in the inference log. Errors the
   * dataplane itself already logged are not logged again.
   */
  reportRejected(ctx: RequestContext, err: unknown): void {
    if (err !== null && typeof err === "object" && this.logged.has(err)) return;
    this.logFailure(ctx, undefined, 0, toOmafError(err, "OMAF_ERR_BAD_INPUT"));
  }

  private logFailure(ctx: RequestContext, index: number | undefined, t0: number, error: OmafError, input?: unknown): void {
    this.logged.add(error);
    this.metrics?.observePrediction(ctx.protocol, error.code, t0 === 0 ? 0 : (performance.now() - t0) / 1000);
    if (!this.log) return;
    const record: Record<string, unknown> = {
      requestId: ctx.requestId,
      protocol: ctx.protocol,
      latencyMs: t0 === 0 ? 0 : round(performance.now() - t0),
      status: "error",
      code: error.code,
      error: error.message,
    };
    if (index !== undefined) record.item = index;
    if (this.logPayloads && input !== undefined) record.input = input;
    this.log.warn(record, "inference");
  }

  private emit(): void {
    const state = this.state;
    for (const listener of this.listeners) listener(state);
  }
}

function unavailable(): OmafError {
  return new OmafError("OMAF_ERR_UNAVAILABLE", "the server is shutting down; retry on another instance");
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
