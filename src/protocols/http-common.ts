// What every HTTP protocol shares: the request id, provenance headers, reading a JSON body from the raw bytes the
// listener hands over, and turning any error into the protocol's error body (`{"error": ...}` for KServe and OIP,
// `{"message": ...}` for Odahu) with the status from the error table.
import type { FastifyReply, FastifyRequest } from "fastify";
import { isOmafError, OmafError, toOmafError } from "../errors.js";
import { newRequestId, type DataPlane, type Provenance, type RequestContext } from "../dataplane/dataplane.js";
import { parseJsonText } from "../dataplane/json-input.js";
import { toJsonText } from "../json.js";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The protocol whose route answers this request (`kserve-v1`, `odahu`, `oip-rest`): a default value of each
     * protocol scope's request class, so undefined on the listener's shared routes and unknown routes.
     */
    omafProtocol?: string;
    /**
     * The model version the request was found to address (set by the route once it looked the model up): its
     * provenance headers go on the response, and a refusal is logged and counted under it.
     */
    omafModel?: DataPlane;
  }
  interface FastifyContextConfig {
    /** False for POST routes that are not inference requests (they leave no inference-log line when refused). */
    inference?: boolean;
  }
}

/** The protocol label of the listener's shared routes (/healthz, /readyz, /metrics) and of unknown routes. */
export const SHARED_ROUTES_PROTOCOL = "http";

/** Which key an error body uses: KServe v1 and OIP v2 say `error`, Odahu says `message`. */
export type ErrorShape = "error" | "message";

/** Request headers a client may send its request id in (Odahu clients use `request-id`); the first found wins. */
export const REQUEST_ID_HEADERS = ["x-request-id", "request-id"] as const;

/** Response headers that carry provenance on every HTTP response. */
export const PROVENANCE_HEADERS = {
  modelName: "x-omaf-model",
  modelVersion: "x-omaf-model-version",
  artifactDigest: "x-omaf-artifact-digest",
  signedBy: "x-omaf-signed-by",
} as const;

/** A client's request id is used only when it is short printable text; anything else gets a fresh id. */
const USABLE_REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** The request id of an incoming request: the client's (see REQUEST_ID_HEADERS) or a fresh UUID. */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  // Runs on every request: most carry neither header, so look them up before anything else.
  const first = headers[REQUEST_ID_HEADERS[0]];
  const second = headers[REQUEST_ID_HEADERS[1]];
  if (first === undefined && second === undefined) return newRequestId();
  for (const value of [first, second]) {
    const text = Array.isArray(value) ? value[0] : value;
    if (text !== undefined && USABLE_REQUEST_ID.test(text)) return text;
  }
  return newRequestId();
}

/** The provenance headers, built once per listener. */
export function provenanceHeaders(p: Provenance): Record<string, string> {
  return {
    [PROVENANCE_HEADERS.modelName]: p.modelName,
    [PROVENANCE_HEADERS.modelVersion]: p.modelVersion,
    [PROVENANCE_HEADERS.artifactDigest]: p.artifactDigest,
    ...(p.signedBy ? { [PROVENANCE_HEADERS.signedBy]: p.signedBy } : {}),
  };
}

/**
 * Who asks, for the dataplane and the inference log: the request's id, the protocol whose route answers, and the
 * caller's W3C trace context (`traceparent`, `tracestate`) when it sent one.
 */
export function requestContext(request: FastifyRequest): RequestContext {
  const ctx: RequestContext = { requestId: request.id, protocol: request.omafProtocol ?? SHARED_ROUTES_PROTOCOL };
  const traceparent = request.headers.traceparent;
  if (typeof traceparent === "string") {
    ctx.traceparent = traceparent;
    const tracestate = request.headers.tracestate;
    if (tracestate !== undefined) ctx.tracestate = Array.isArray(tracestate) ? tracestate.join(",") : tracestate;
  }
  return ctx;
}

/**
 * The request body as JSON. The HTTP listener hands every route the raw body as a Buffer (see http-listener.ts);
 * JSON routes parse it here so a bad body is OMAF_ERR_BAD_INPUT in the protocol's own error shape.
 */
export function readJsonBody(request: FastifyRequest): unknown {
  const body = request.body;
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new OmafError("OMAF_ERR_BAD_INPUT", "the request has no body; send a JSON document");
  }
  if (Buffer.isBuffer(body)) return parseJsonText(body, "the request body");
  return body;
}

/** The request body as JSON, or undefined when it has none (bodies that may be left out, e.g. tritonclient's `""`). */
export function readOptionalJsonBody(request: FastifyRequest): unknown {
  const body = request.body;
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) return undefined;
  return readJsonBody(request);
}

/** Fastify's own errors (body too large, malformed request) in omaf's terms. */
export function toHttpError(err: unknown): OmafError {
  if (err instanceof OmafError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | undefined;
  const status = typeof e?.statusCode === "number" ? e.statusCode : undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (status === 413) return new OmafError("OMAF_ERR_PAYLOAD_TOO_LARGE", `the request body is larger than the limit: ${message}`, undefined, { cause: err });
  if (status !== undefined && status >= 400 && status < 500) {
    return new OmafError("OMAF_ERR_BAD_INPUT", message, { httpStatus: status }, { cause: err });
  }
  return toOmafError(err, "OMAF_ERR_INTERNAL");
}

/** The HTTP status `e` is answered with: a malformed request fastify found keeps its own 4xx (e.g. 415), everything else follows the error table. */
export function httpStatusOf(e: OmafError): number {
  const fastifyStatus = e.details?.httpStatus;
  return typeof fastifyStatus === "number" ? fastifyStatus : e.httpStatus;
}

/**
 * Sends `err` as the protocol's error body: `{"error": msg, "code": "OMAF_ERR_…"}` or `{"message": msg, "code": …}`,
 * with the HTTP status from the error table. Busy or draining answers also say when to retry.
 */
export function sendError(reply: FastifyReply, err: unknown, shape: ErrorShape): FastifyReply {
  const e = toHttpError(err);
  const status = httpStatusOf(e);
  if (isOmafError(e, "OMAF_ERR_UNAVAILABLE") || isOmafError(e, "OMAF_ERR_MODEL_NOT_READY")) reply.header("retry-after", "1");
  return reply
    .code(status)
    .type("application/json; charset=utf-8")
    .send({ [shape]: e.message, code: e.code });
}

/** Sends a JSON body (BigInt and typed arrays allowed). */
export function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply.code(status).type("application/json; charset=utf-8").send(toJsonText(value));
}
