// OpenTelemetry tracing of inference requests, loaded only when --otlp-endpoint is set (serve.ts imports this module
// then; nothing of OpenTelemetry is loaded otherwise). The dataplane reports each request's lifecycle through the
// RequestTracer interface (dataplane/tracing.ts); this module turns it into spans and exports them with the official
// SDK: a BatchSpanProcessor and the OTLP/HTTP (JSON) exporter.
//
// Each request is a SERVER span `infer <model>`, a child of the caller's span when the request carried a W3C
// `traceparent` (HTTP header or gRPC metadata), with two kinds of INTERNAL children: `queue` (from admission to the
// start of the first model call: a lazy model's load, decoding and checking the request, the wait in the batch queue)
// and one `model call` per model call. Attribute names are in spec/tracing.md.
//
// Spans are built from the times the dataplane measured (performance.now(), turned into epoch milliseconds the same
// way for every span of a request, so they line up exactly), and a child is created once its end is known; the request
// span is started at admission and ended when the request is answered.
import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, trace, type Tracer } from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { Provenance, RequestContext } from "../dataplane/dataplane.js";
import type { RequestOutcome, RequestTrace, RequestTracer } from "../dataplane/tracing.js";
import type { OmafError } from "../errors.js";
import { omafVersion } from "../version.js";
import { httpStatusOf } from "../protocols/http-common.js";

/** The attributes omaf sets beside the semantic conventions' (spec/tracing.md). */
export const TRACE_ATTRIBUTES = {
  protocol: "omaf.protocol",
  requestId: "omaf.request.id",
  modelName: "omaf.model.name",
  modelVersion: "omaf.model.version",
  artifactDigest: "omaf.artifact.digest",
  signedBy: "omaf.signed_by",
  batchSize: "omaf.batch.size",
  status: "omaf.status",
} as const;

/** Protocols served over HTTP: their spans carry the HTTP status the request was answered with. */
const HTTP_PROTOCOLS: ReadonlySet<string> = new Set(["oip-rest", "kserve-v1", "odahu"]);
/** OIP v2 gRPC: its spans carry the gRPC status. (OMI answers a Run's failures inside its message, so it has none.) */
const GRPC_PROTOCOL = "oip-grpc";

/** gRPC status names by number, as `rpc.status_code` spells them. */
const GRPC_STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

export interface TracingOptions {
  /** The collector's OTLP/HTTP endpoint: spans go to `<endpoint>/v1/traces` (a URL ending in /v1/traces is used as it is). */
  endpoint: string;
  serviceName: string;
  /** Told when exporting fails (once per outage); default: a line on stderr. */
  onError?: (message: string) => void;
}

/** Tracing in force: the tracer dataplanes report to, and the flush at shutdown. */
export interface Tracing {
  tracer: RequestTracer;
  /** Exports the spans still buffered and stops; gives up after `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** The URL spans are posted to. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith("/v1/traces")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`;
  return url.toString();
}

/** Starts the SDK (no global registration: omaf's tracer is its own) and answers the dataplanes' tracer. */
export function startTracing(opts: TracingOptions): Tracing {
  const onError = opts.onError ?? ((message: string) => process.stderr.write(`omaf: ${message}\n`));
  const exporter = reportingFailures(new OTLPTraceExporter({ url: tracesUrl(opts.endpoint) }), tracesUrl(opts.endpoint), onError);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName, [ATTR_SERVICE_VERSION]: omafVersion }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("omaf", omafVersion);
  let stopped: Promise<void> | undefined;
  return {
    tracer: new OtelRequestTracer(tracer),
    shutdown(timeoutMs) {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
        await Promise.race([provider.shutdown().catch((err: unknown) => onError(`flushing trace spans failed: ${(err as Error).message}`)), timeout]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/** The exporter, telling `onError` when an export fails — once, until one succeeds again. */
function reportingFailures(inner: SpanExporter, url: string, onError: (message: string) => void): SpanExporter {
  let failing = false;
  return {
    export(spans: ReadableSpan[], done) {
      inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && !failing) {
          onError(
            `exporting ${spans.length} trace spans to ${url} failed: ${result.error?.message ?? "unknown error"} (reported once until an export succeeds)`,
          );
        }
        failing = result.code !== ExportResultCode.SUCCESS;
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

const propagator = new W3CTraceContextPropagator();
const contextGetter: TextMapGetter<RequestContext> = {
  keys: () => ["traceparent", "tracestate"],
  get: (ctx, key) => (key === "traceparent" ? ctx.traceparent : key === "tracestate" ? ctx.tracestate : undefined),
};

class OtelRequestTracer implements RequestTracer {
  constructor(private readonly tracer: Tracer) {}

  begin(ctx: RequestContext, provenance: Provenance | undefined, start: number): RequestTrace {
    // A traceparent that does not parse is ignored: the request starts a trace of its own.
    const parent = ctx.traceparent ? propagator.extract(ROOT_CONTEXT, ctx, contextGetter) : ROOT_CONTEXT;
    const attributes: Attributes = { [TRACE_ATTRIBUTES.protocol]: ctx.protocol, [TRACE_ATTRIBUTES.requestId]: ctx.requestId };
    if (provenance) Object.assign(attributes, provenanceAttributes(provenance));
    if (ctx.protocol === GRPC_PROTOCOL) attributes[ATTR_RPC_SYSTEM_NAME] = "grpc";
    const name = provenance ? `infer ${provenance.modelName}` : "infer";
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: epochMs(start), attributes }, parent);
    return new OtelRequestTrace(this.tracer, span, ctx.protocol, start, provenance);
  }
}

function provenanceAttributes(p: Provenance): Attributes {
  const a: Attributes = {
    [TRACE_ATTRIBUTES.modelName]: p.modelName,
    [TRACE_ATTRIBUTES.modelVersion]: p.modelVersion,
    [TRACE_ATTRIBUTES.artifactDigest]: p.artifactDigest,
  };
  if (p.signedBy) a[TRACE_ATTRIBUTES.signedBy] = p.signedBy;
  return a;
}

class OtelRequestTrace implements RequestTrace {
  /** The request span as the parent of its children. */
  private readonly parent: Context;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly protocol: string,
    private readonly start: number,
    private readonly provenance: Provenance | undefined,
  ) {
    this.parent = trace.setSpan(ROOT_CONTEXT, span);
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  modelCall(start: number, end: number, batchSize: number, error?: OmafError): void {
    const attributes: Attributes = { [TRACE_ATTRIBUTES.batchSize]: batchSize };
    if (this.provenance) Object.assign(attributes, provenanceAttributes(this.provenance));
    const span = this.tracer.startSpan("model call", { kind: SpanKind.INTERNAL, startTime: epochMs(start), attributes }, this.parent);
    if (error) failed(span, error);
    span.end(epochMs(end));
  }

  end(end: number, outcome: RequestOutcome): void {
    if (outcome.queueEnd !== undefined) {
      this.tracer.startSpan("queue", { kind: SpanKind.INTERNAL, startTime: epochMs(this.start) }, this.parent).end(epochMs(outcome.queueEnd));
    }
    const span = this.span;
    const error = outcome.error;
    if (outcome.batchSize !== undefined) span.setAttribute(TRACE_ATTRIBUTES.batchSize, outcome.batchSize);
    span.setAttribute(TRACE_ATTRIBUTES.status, error ? error.code : "ok");
    if (HTTP_PROTOCOLS.has(this.protocol)) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, error ? httpStatusOf(error) : 200);
    else if (this.protocol === GRPC_PROTOCOL) span.setAttribute(ATTR_RPC_STATUS_CODE, GRPC_STATUS_NAMES[error ? error.grpcStatus : 0] ?? "UNKNOWN");
    if (error) failed(span, error);
    span.end(epochMs(end));
  }
}

/** A performance.now() time as milliseconds since the epoch. */
function epochMs(t: number): number {
  return performance.timeOrigin + t;
}

function failed(span: Span, error: OmafError): void {
  span.setAttribute(ATTR_ERROR_TYPE, error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
}
