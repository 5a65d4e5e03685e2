// What the dataplane tells a tracer about each inference request, so the spans of a request come from one place: its
// lifecycle in DataPlane.infer() and its model calls. The dataplane holds no tracer unless tracing is on (one branch
// per lifecycle point, nothing allocated otherwise); server/tracing.ts turns these calls into OpenTelemetry spans.
// Times are performance.now() milliseconds, as the dataplane measures them.
import type { OmafError } from "../errors.js";
import type { Provenance, RequestContext } from "./dataplane.js";

/** Starts the trace of each inference request. */
export interface RequestTracer {
  /**
   * A request arrived at `start` (admitted or about to be refused). `provenance` is the model version it addressed,
   * undefined for a request no served model took.
   */
  begin(ctx: RequestContext, provenance: Provenance | undefined, start: number): RequestTrace;
}

/** How a request ended. */
export interface RequestOutcome {
  /** The error it was answered with; undefined for success. */
  error?: OmafError;
  /** When its wait for the model ended (its first model call started, or the request ended without one); undefined when it was refused at admission. */
  queueEnd?: number;
  /** Requests merged into its (last) model call; undefined when it made none. */
  batchSize?: number;
}

/** The trace of one request. */
export interface RequestTrace {
  /** Its trace id (32 hex digits), for the inference-log line. */
  readonly traceId: string;
  /** One model call, from when the model started on it to when it answered or failed; `batchSize` requests ran in it. */
  modelCall(start: number, end: number, batchSize: number, error?: OmafError): void;
  /** The request was answered at `end`. */
  end(end: number, outcome: RequestOutcome): void;
}
