// One fastify instance per HTTP port, shared by every HTTP protocol assigned to that port. Each enabled protocol's
// routes are a fastify plugin registered in its own scope, which marks its requests with the protocol's name and
// gives its errors the protocol's body shape.
//
// What every route on the listener gets:
// - `request.body` is the RAW body as a `Buffer` (or `undefined` when the request has none), whatever the
//   Content-Type — `application/json`, `application/octet-stream`, none at all (tritonclient sends none with the OIP
//   binary tensor extension) or anything else. JSON routes parse it with `readJsonBody()` from
//   protocols/http-common.ts; OIP REST reads the JSON header and the binary tensors itself.
// - `request.id` is the request id: the client's `x-request-id` (or Odahu's `request-id`) header, else a fresh UUID;
//   every response echoes it as `x-request-id`.
// - every response about a model carries its provenance headers `x-omaf-model`, `x-omaf-model-version`,
//   `x-omaf-artifact-digest` and, for an artifact served with a verified signature, `x-omaf-signed-by` (a route sets
//   `request.omafModel` once it found the model in the registry); on a server of one model every response carries
//   that model's.
// - a body above `maxBodyBytes` answers 413 OMAF_ERR_PAYLOAD_TOO_LARGE; errors thrown by a route become the
//   protocol's error body through `sendError()`.
// Shared routes on every HTTP listener: GET /healthz (liveness), GET /readyz (readiness), GET /metrics; and on a
// listener serving OIP v2 REST or KServe v1, the docs page of those routes (Swagger UI at /v2/docs, docs/routes.ts).
import { STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex, Readable, Transform } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { newRequestId, type DataPlane } from "../dataplane/dataplane.js";
import { OmafError } from "../errors.js";
import type { ModelChoice, ModelRegistry } from "../registry/registry.js";
import { kserveV1Routes } from "../protocols/kserve-v1/routes.js";
import { odahuRoutes, type OdahuNames } from "../protocols/odahu/routes.js";
import { oipRestRoutes } from "../protocols/oip-v2/rest.js";
import { provenanceHeaders, requestContext, requestIdFrom, sendError, toHttpError, SHARED_ROUTES_PROTOCOL, type ErrorShape } from "../protocols/http-common.js";
import type { InterfaceName } from "../settings.js";
import { docsRoutes } from "./docs/routes.js";
import { formatHostPort } from "./listener.js";
import type { Listener } from "./listener.js";
import type { ServerMetrics } from "./metrics.js";

export { sendError, type ErrorShape } from "../protocols/http-common.js";

/** The interfaces served over HTTP. */
export const HTTP_INTERFACES = ["oip-rest", "kserve-v1", "odahu"] as const satisfies readonly InterfaceName[];
export type HttpInterfaceName = (typeof HTTP_INTERFACES)[number];

export function isHttpInterface(name: InterfaceName): name is HttpInterfaceName {
  return (HTTP_INTERFACES as readonly string[]).includes(name);
}

/** Human names, used in the listening line. */
export const HTTP_LABELS: Record<HttpInterfaceName, string> = {
  "oip-rest": "OIP v2 REST",
  "kserve-v1": "KServe v1",
  odahu: "Odahu REST",
};

/** The error body key each protocol uses. */
export const ERROR_SHAPES: Record<HttpInterfaceName, ErrorShape> = { "oip-rest": "error", "kserve-v1": "error", odahu: "message" };

/** What a protocol's route plugin is given. */
export interface HttpRouteOptions {
  registry: ModelRegistry;
}

export interface HttpListenerOptions {
  /** Protocols whose routes this port serves, in the order given. */
  interfaces: HttpInterfaceName[];
  host: string;
  port: number;
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
  /** The served models. */
  registry: ModelRegistry;
  /** When given, /metrics serves it and every response is counted. */
  metrics?: ServerMetrics;
  /** The model the Odahu routes serve; default: the only one. */
  odahuModel?: ModelChoice;
  /** Names the Odahu routes report (ODAHU_MODEL_NAME / ODAHU_MODEL_VERSION overrides); default: the manifest's. */
  odahuNames?: Partial<OdahuNames>;
}

/** Each model version's provenance headers, as names and values, built once. */
const provenanceCache = new WeakMap<DataPlane, [string[], string[]]>();

function provenanceOf(dataplane: DataPlane): [string[], string[]] {
  let h = provenanceCache.get(dataplane);
  if (!h) {
    const headers = provenanceHeaders(dataplane.provenance);
    provenanceCache.set(dataplane, (h = [Object.keys(headers), Object.values(headers)]));
  }
  return h;
}

/**
 * The model a request addressed, for its provenance headers and its inference-log line: the one its route found, or
 * the one its path names (a request refused before its route ran, e.g. a body over the limit), else the only one.
 */
function modelOf(request: FastifyRequest, registry: ModelRegistry): DataPlane | undefined {
  if (request.omafModel) return request.omafModel;
  const params = request.params as { model?: unknown; version?: unknown; target?: unknown } | undefined;
  // OIP routes name the model in `model`; KServe v1 in `target`, as `<name>:predict`.
  const target = typeof params?.target === "string" ? params.target : "";
  const name = typeof params?.model === "string" ? params.model : target.includes(":") ? target.slice(0, target.lastIndexOf(":")) : undefined;
  if (name !== undefined) {
    try {
      request.omafModel = registry.resolve(name, typeof params?.version === "string" ? params.version : undefined);
      return request.omafModel;
    } catch {
      // Not a served model: the only one's, if any.
    }
  }
  return registry.only;
}

/** Builds the fastify instance without listening; `isClosing` tells it a stop began (see the onSend hook). */
export async function buildHttpApp(opts: HttpListenerOptions, isClosing: () => boolean = () => false): Promise<FastifyInstance> {
  const { registry, metrics } = opts;
  // A listener that only serves Odahu answers unknown routes and malformed requests in Odahu's shape too.
  const rootShape: ErrorShape = opts.interfaces.every((i) => ERROR_SHAPES[i] === "message") ? "message" : "error";
  const app = Fastify({
    // Requests Node's HTTP parser cannot read never reach fastify's routes; they still get omaf's error body.
    clientErrorHandler: (err, socket) => {
      const only = registry.only;
      const status = answerClientError(err, socket, only ? provenanceHeaders(only.provenance) : {}, rootShape);
      if (status !== undefined) metrics?.observeHttpResponse(SHARED_ROUTES_PROTOCOL, status);
    },
    logger: false,
    bodyLimit: opts.maxBodyBytes,
    genReqId: (req) => requestIdFrom(req.headers),
    requestIdHeader: false,
    // While closing, requests on open keep-alive connections still reach the routes: the draining dataplane answers
    // them 503 in each protocol's own error shape (fastify adds `Connection: close`).
    return503OnClosing: false,
    forceCloseConnections: "idle",
  });

  // Every body reaches the routes as raw bytes; see the header comment. The catch-all takes every type; the usual
  // ones are named too, because fastify remembers the parser it found for a named type but looks the catch-all up
  // anew (parsing the Content-Type header) on every request.
  app.removeAllContentTypeParsers();
  const rawBody = (_req: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body);
  app.addContentTypeParser(["application/json", "application/octet-stream"], { parseAs: "buffer" }, rawBody);
  app.addContentTypeParser("*", { parseAs: "buffer" }, rawBody);

  // A compressed body (Content-Encoding gzip or deflate, as tritonclient sends with compression on) is inflated as a
  // stream on zlib's thread pool, never on the event loop, and the body limit counts the decoded bytes.
  app.addHook("preParsing", (request, _reply, payload, done) => {
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
    if (!encoding || encoding === "identity") return done(null, payload);
    const inflate = encoding === "gzip" || encoding === "x-gzip" ? createGunzip() : encoding === "deflate" ? createInflate() : undefined;
    if (!inflate) {
      return done(new OmafError("OMAF_ERR_BAD_INPUT", `Content-Encoding '${encoding}' is not supported; use gzip, deflate or none`));
    }
    done(null, decodedStream(payload, inflate, encoding));
  });

  // Everything every response carries is set in one synchronous onSend hook (it runs for routes, errors and 404s
  // alike): no per-request promise, and one hook runner instead of one per concern.
  app.addHook("onSend", (request, reply, payload, done) => {
    const model = request.omafModel ?? registry.only;
    if (model) {
      const [names, values] = provenanceOf(model);
      for (let i = 0; i < names.length; i++) reply.header(names[i], values[i]);
    }
    reply.header("x-request-id", request.id);
    // Once a stop began, every answer (including those of requests admitted before it) closes its connection:
    // Node's server.close() only reaps connections idle at that moment, and a keep-alive connection that goes idle
    // later would hold the stop until its keep-alive timeout.
    if (isClosing() || registry.isStopping) reply.header("connection", "close");
    metrics?.observeHttpResponse(request.omafProtocol ?? SHARED_ROUTES_PROTOCOL, reply.statusCode);
    done(null, payload);
  });

  app.setErrorHandler((err, _request, reply) => sendError(reply, err, rootShape));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new OmafError("OMAF_ERR_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`), rootShape),
  );

  app.get("/healthz", async () => ({ live: true }));
  app.get("/readyz", async (_request, reply) => {
    const ready = registry.probeReady();
    return reply.code(ready ? 200 : 503).send({ ready, state: registry.state });
  });
  if (metrics) {
    app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  }
  const docs = { oip: opts.interfaces.includes("oip-rest"), kserve: opts.interfaces.includes("kserve-v1") };
  if (docs.oip || docs.kserve) await app.register(docsRoutes, { registry, scope: docs });

  for (const name of opts.interfaces) {
    await app.register(async (scope) => {
      // Each scope has its own request class: the protocol tag is a default value of that class, not a hook.
      scope.decorateRequest("omafProtocol", name);
      scope.setErrorHandler((err, request, reply) => {
        // Inference requests (POST routes, less those marked otherwise) refused before the dataplane still get their
        // inference-log line.
        const error = toHttpError(err);
        if (request.method === "POST" && request.routeOptions.config?.inference !== false) {
          registry.reportRejected(requestContext(request), error, modelOf(request, registry));
        }
        return sendError(reply, error, ERROR_SHAPES[name]);
      });
      switch (name) {
        case "oip-rest":
          await scope.register(oipRestRoutes, { registry });
          break;
        case "kserve-v1":
          await scope.register(kserveV1Routes, { registry });
          break;
        case "odahu":
          await scope.register(odahuRoutes, { registry, model: opts.odahuModel ?? onlyModel(registry), names: opts.odahuNames });
          break;
      }
    });
  }
  await app.ready();
  return app;
}

/** The only model, as a choice (Odahu's default). */
function onlyModel(registry: ModelRegistry): ModelChoice {
  const only = registry.only;
  if (!only) throw new OmafError("OMAF_ERR_SETTINGS", "the Odahu routes serve one model: choose it with --odahu-model <name>[:<version>]");
  return { name: only.provenance.modelName };
}

/**
 * Answers a request Node's HTTP parser refused (malformed request line or headers, headers too large, a client too
 * slow to send them) in omaf's error shape with the provenance headers, then closes the connection. Answers the HTTP
 * status sent, or undefined when the connection was already gone.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex, provenance: Record<string, string>, shape: ErrorShape): number | undefined {
  if (err.code === "ECONNRESET" || socket.destroyed) return undefined;
  const [status, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "the request was not received in time"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "the request headers are larger than the limit"]
        : [400, `the HTTP request is malformed: ${err.message}`];
  const body = JSON.stringify({ [shape]: message, code: "OMAF_ERR_BAD_INPUT" });
  const headers = {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    ...provenance,
    "x-request-id": newRequestId(),
    connection: "close",
  };
  if (!socket.writable) {
    socket.destroy(err);
    return undefined;
  }
  const lines = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines}\r\n${body}`, () => socket.destroy());
  return status;
}

/**
 * `payload` inflated through `inflate`. The stream reports the compressed bytes it took as `receivedEncodedLength`,
 * which fastify checks against Content-Length; corrupt data fails with a 400 naming the encoding.
 */
function decodedStream(payload: Readable, inflate: Transform, encoding: string): Readable & { receivedEncodedLength: number } {
  const out = inflate as Transform & { receivedEncodedLength: number };
  out.receivedEncodedLength = 0;
  payload.on("data", (chunk: Buffer) => (out.receivedEncodedLength += chunk.length));
  payload.on("error", (err) => out.destroy(err));
  inflate.on("error", (err: Error & { statusCode?: number }) => {
    if (err instanceof OmafError) return;
    err.message = `the ${encoding} request body cannot be decoded: ${err.message}`;
    err.statusCode ??= 400;
  });
  payload.pipe(inflate);
  return out;
}

/** Starts an HTTP listener; rejects with OMAF_ERR_IO when the address cannot be bound. */
export async function startHttpListener(opts: HttpListenerOptions): Promise<Listener> {
  let closing = false;
  const app = await buildHttpApp(opts, () => closing);
  const label = opts.interfaces.map((i) => HTTP_LABELS[i]).join(" + ");
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const address = formatHostPort(opts.host, opts.port);
    throw new OmafError("OMAF_ERR_IO", `cannot listen on ${address} for ${label}: ${(err as Error).message}`, { address }, { cause: err });
  }
  const port = (app.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    interfaceName: opts.interfaces[0],
    interfaces: [...opts.interfaces],
    label,
    host: opts.host,
    port,
    // Readiness routes read the dataplane's state directly.
    setServing() {},
    close() {
      closing = true;
      closed ??= app.close();
      return closed;
    },
    forceClose() {
      app.server.closeAllConnections();
    },
  };
}
