// What every gRPC protocol shares: the request id and trace context of a call, errors as gRPC statuses from the error
// table (the omaf code at the start of the details and in the `omaf-error-code` trailer), and request decoding that
// never throws.
import { Metadata, type ServiceDefinition } from "@grpc/grpc-js";
import { newRequestId, type RequestContext } from "../dataplane/dataplane.js";
import { OmafError, toOmafError } from "../errors.js";

/** Trailer that carries the omaf error code of a failed call. */
export const ERROR_CODE_TRAILER = "omaf-error-code";

/** The caller's `x-request-id` metadata, else `fallback` (e.g. the request's own id) when non-empty, else a fresh id. */
export function requestIdOf(metadata: Metadata, fallback?: unknown): string {
  const given = metadata.get("x-request-id");
  if (given.length > 0 && typeof given[0] === "string" && given[0] !== "") return given[0];
  return typeof fallback === "string" && fallback !== "" ? fallback : newRequestId();
}

/**
 * Who asks, for the dataplane: the call's request id (see requestIdOf), the protocol, and the caller's W3C trace
 * context (`traceparent`, `tracestate` metadata) when it sent one.
 */
export function grpcRequestContext(metadata: Metadata, protocol: string, fallbackId?: unknown): RequestContext {
  const ctx: RequestContext = { requestId: requestIdOf(metadata, fallbackId), protocol };
  const traceparent = metadata.get("traceparent");
  if (traceparent.length > 0 && typeof traceparent[0] === "string") {
    ctx.traceparent = traceparent[0];
    const tracestate = metadata.get("tracestate").filter((v) => typeof v === "string");
    if (tracestate.length > 0) ctx.tracestate = tracestate.join(",");
  }
  return ctx;
}

/** An error as a gRPC status from the error table; the details start with the omaf code. */
export function grpcError(err: unknown): { code: number; details: string; metadata: Metadata } {
  const e = toOmafError(err, "OMAF_ERR_INTERNAL");
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, e.code);
  return { code: e.grpcStatus, details: `${e.code}: ${e.message}`, metadata };
}

/** What a handler receives in place of a request whose bytes could not be decoded. */
export interface Undecodable {
  undecodable: string;
}

/** True for the stand-in of an undecodable request. */
export function isUndecodable(request: unknown): request is Undecodable {
  return typeof request === "object" && request !== null && "undecodable" in request;
}

/** The OMAF_ERR_BAD_INPUT an undecodable request answers. */
export function undecodableError(request: Undecodable, message: string): OmafError {
  return new OmafError("OMAF_ERR_BAD_INPUT", `the ${message} cannot be decoded: ${request.undecodable}`);
}

/**
 * The service definition with decoders that never throw for the named methods: grpc-js answers INTERNAL for a request
 * it cannot decode, but a malformed request is the caller's error (INVALID_ARGUMENT, with omaf's code). The handler
 * gets an Undecodable instead and answers it.
 */
export function withSafeDecoding(definition: ServiceDefinition, methods: readonly string[]): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = { ...definition };
  for (const name of methods) {
    const method = definition[name];
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { undecodable: (err as Error).message } satisfies Undecodable;
        }
      },
    };
  }
  return out;
}
