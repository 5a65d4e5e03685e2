// The front of a gRPC port: a node:http2 server that answers the unary methods of omaf's own services itself and
// hands every other stream — the health service, server reflection, unknown methods, anything that is not a gRPC
// POST — to grpc-js, which stays the reference for all of them.
//
// Why: grpc-js spends about as much CPU per call as the rest of an inference (its intercepting-call machinery,
// metadata objects, promise hops per message), which made OIP gRPC slower than OIP REST on the same model; answering
// the unary calls directly costs a fraction of that (bench/RESULTS.md, `## serve`). What a unary call gets here is
// what grpc-js does for it, message for message:
// - the request: one length-prefixed message (gzip or deflate when flagged compressed, per `grpc-encoding`), at most
//   `maxMessageBytes` (RESOURCE_EXHAUSTED, as large compressed ones), decoded with the method's deserializer; each
//   message's length is checked as soon as its prefix is in and a second complete message ends the call, so a call
//   never holds more than one message and the start of the next;
// - `grpc-timeout`: past the deadline the call answers DEADLINE_EXCEEDED and a late answer is dropped;
// - the handler: grpc-js's unary signature `(call, callback)`, with `call.request` and `call.metadata` (a grpc-js
//   Metadata of the request headers, less the transport ones): what omaf's handlers use of grpc-js's call;
// - the answer: the same response headers, one message (RESOURCE_EXHAUSTED when over the limit), then
//   `grpc-status`/`grpc-message` trailers with the handler's trailing metadata (e.g. `omaf-error-code`); an error
//   before any message is a trailers-only response, as grpc-js sends it.
// Connections are kept as grpc-js keeps them: a ping every `keepaliveMs` (no answer within the timeout drops the
// connection) and GOAWAY after `idleTimeoutMs` without a stream.
//
// The streams grpc-js answers reach it over one in-memory HTTP/2 connection (its connection injector; opened when
// first needed, again after grpc-js closed it), each forwarded as it came and its answer — headers, messages,
// trailers, resets — passed back unchanged.
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { gunzip, inflate } from "node:zlib";
import { Metadata, status as GrpcStatus, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";

export interface UnaryFrontOptions {
  /** omaf's services: their unary methods are answered here. */
  services: { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[];
  /** Largest message received or sent. */
  maxMessageBytes: number;
  /** How often a connection is pinged (0 = never). */
  keepaliveMs: number;
  /** How long a ping may go unanswered before the connection is dropped. */
  keepaliveTimeoutMs: number;
  /** A connection without any stream for this long is closed with GOAWAY. */
  idleTimeoutMs: number;
  /** Where every other stream goes: grpc-js, through a connection it accepts as its own. */
  fallback: { injectConnection(connection: Duplex): void };
}

interface UnaryMethod {
  path: string;
  deserialize(bytes: Buffer): unknown;
  serialize(value: unknown): Buffer;
  handler(call: UnaryCall, callback: UnaryCallback): void;
}

type UnaryCallback = (err: unknown, value?: unknown, trailer?: Metadata | null) => void;

/** The response headers of every call that answers with a message (grpc-js's, byte for byte). */
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = {
  ":status": 200,
  "content-type": "application/grpc+proto",
  "grpc-accept-encoding": "identity,deflate,gzip",
  "grpc-encoding": "identity",
};
/** The trailers of a call answered without trailing metadata (Node copies what it is given). */
const OK_TRAILERS: http2.OutgoingHttpHeaders = { "grpc-status": GrpcStatus.OK, "grpc-message": "OK" };
const WAIT_FOR_TRAILERS = { waitForTrailers: true };
const END_STREAM = { endStream: true };
/** Request headers grpc-js keeps out of a call's metadata. */
const TRANSPORT_HEADERS = new Set(["grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "accept-encoding", "te", "content-type"]);
const DEADLINE = /(\d{1,8})\s*([HMSmun])/;
const DEADLINE_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** A status in the making: code, details and trailing metadata. */
interface Status {
  code: number;
  details: string;
  metadata?: Metadata | null;
}

export class UnaryFront {
  private readonly h2: http2.Http2Server;
  private readonly methods = new Map<string, UnaryMethod>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private backend?: http2.ClientHttp2Session;
  private closing = false;

  constructor(private readonly opts: UnaryFrontOptions) {
    for (const { definition, implementation } of opts.services) {
      for (const [name, method] of Object.entries(definition)) {
        const handler = implementation[name];
        if (method.requestStream || method.responseStream || typeof handler !== "function") continue;
        this.methods.set(method.path, {
          path: method.path,
          deserialize: method.requestDeserialize,
          serialize: method.responseSerialize,
          // Called with a UnaryCall: the part of grpc-js's ServerUnaryCall that omaf's handlers use.
          handler: handler as unknown as UnaryMethod["handler"],
        });
      }
    }
    // As grpc-js configures its own: no limit on the session's memory (Node's check degrades badly when it bites).
    this.h2 = http2.createServer({ maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER, maxSessionMemory: Number.MAX_SAFE_INTEGER });
    this.h2.setTimeout(0);
    this.h2.on("session", (session) => this.watch(session));
    this.h2.on("stream", (stream, headers) => this.route(stream, headers));
  }

  /** Takes an accepted connection. */
  accept(socket: Socket): void {
    this.h2.emit("connection", socket);
  }

  /** GOAWAY on every connection; resolves once their streams are answered and they closed. */
  close(): Promise<void> {
    this.closing = true;
    const closed = [...this.sessions].map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.close(() => resolve()))));
    this.backend?.close();
    return Promise.all(closed).then(() => undefined);
  }

  /** Cuts every connection now. */
  destroy(): void {
    this.closing = true;
    for (const s of this.sessions) s.destroy();
    this.backend?.destroy();
  }

  /** Keepalive pings and the idle timeout of one connection, as grpc-js runs them. */
  private watch(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    const { keepaliveMs, keepaliveTimeoutMs, idleTimeoutMs } = this.opts;
    let pingTimer: NodeJS.Timeout | undefined;
    const ping = () => {
      if (session.destroyed) return;
      let answered = false;
      try {
        const sent = session.ping((err) => {
          answered = true;
          clearTimeout(pingTimer);
          if (err) session.destroy();
          else schedulePing();
        });
        if (!sent) return session.destroy();
      } catch {
        return session.destroy();
      }
      if (!answered) pingTimer = setTimeout(() => session.destroy(), keepaliveTimeoutMs).unref();
    };
    const schedulePing = () => {
      if (keepaliveMs > 0 && !session.destroyed) pingTimer = setTimeout(ping, keepaliveMs).unref();
    };
    schedulePing();

    // Idle: no stream open for idleTimeoutMs. The timer is refreshed, never re-created, as streams come and go.
    let open = 0;
    let idleSince = Date.now();
    const idleTimer = setTimeout(function checkIdle() {
      if (open > 0) return;
      const idleMs = Date.now() - idleSince;
      if (idleMs >= idleTimeoutMs) session.close();
      else idleTimer.refresh();
    }, idleTimeoutMs).unref();
    session.on("stream", (stream) => {
      open++;
      stream.once("close", () => {
        if (--open === 0) {
          idleSince = Date.now();
          idleTimer.refresh();
        }
      });
    });
    // A session's error is followed by its close; the close is what matters here.
    session.on("error", () => undefined);
    session.once("close", () => {
      this.sessions.delete(session);
      clearTimeout(pingTimer);
      clearTimeout(idleTimer);
    });
    if (this.closing) session.close();
  }

  private route(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // An error on a stream is followed by its close, which every path here handles.
    stream.on("error", () => undefined);
    const method = headers[":method"] === "POST" ? this.methods.get(headers[":path"] as string) : undefined;
    const type = headers["content-type"];
    if (method && typeof type === "string" && type.startsWith("application/grpc")) new UnaryCall(method, stream, headers, this.opts.maxMessageBytes);
    else this.forward(stream, headers);
  }

  /** Passes a stream to grpc-js as it came, and its answer back. */
  private forward(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const outgoing: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith(":") && name !== ":method" && name !== ":path" && name !== ":authority" && name !== ":scheme") continue;
      outgoing[name] = value;
    }
    let req: http2.ClientHttp2Stream;
    try {
      req = this.backendSession().request(outgoing);
    } catch {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    stream.pipe(req);
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on("response", (answer, flags) => {
      if (stream.destroyed || stream.closed) return;
      const respond: http2.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer)) if (name === ":status" || !name.startsWith(":")) respond[name] = value;
      // A trailers-only answer (an error status) ends the stream with its headers.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) return stream.respond(respond, END_STREAM);
      stream.respond(respond, WAIT_FOR_TRAILERS);
      stream.once("wantTrailers", () => {
        const out: http2.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(trailers ?? {})) if (!name.startsWith(":")) out[name] = value;
        stream.sendTrailers(out);
      });
      req.pipe(stream);
    });
    req.on("trailers", (t) => (trailers = t));
    req.on("error", () => undefined);
    req.on("close", () => {
      if (stream.destroyed || stream.closed || stream.writableEnded) return;
      // grpc-js reset the stream (or its connection went away) before answering in full.
      stream.close(req.rstCode || http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on("close", () => {
      if (!req.closed && !req.destroyed) req.close(stream.rstCode || http2.constants.NGHTTP2_CANCEL);
    });
  }

  /** The in-memory connection to grpc-js: one at a time, opened again after grpc-js closed it (idle, shutdown). */
  private backendSession(): http2.ClientHttp2Session {
    const current = this.backend;
    if (current && !current.closed && !current.destroyed) return current;
    const [ours, theirs] = duplexPair();
    this.opts.fallback.injectConnection(theirs);
    const session = http2.connect("http://localhost", { createConnection: () => ours, maxSessionMemory: Number.MAX_SAFE_INTEGER });
    session.on("error", () => undefined);
    session.once("close", () => {
      if (this.backend === session) this.backend = undefined;
      ours.destroy();
      theirs.destroy();
    });
    this.backend = session;
    return session;
  }
}

/**
 * One unary call: reads its message, runs the handler and answers. It is also the `call` the handler gets (grpc-js's
 * ServerUnaryCall, as far as omaf's handlers use it).
 */
class UnaryCall {
  request: unknown;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  /** Complete messages received so far, where the next one starts, and where the one under way ends (0: unknown). */
  private messages = 0;
  private messageAt = 0;
  private messageEnd = 0;
  private done = false;
  private deadlineTimer?: NodeJS.Timeout;
  private meta?: Metadata;

  constructor(
    private readonly method: UnaryMethod,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly maxBytes: number,
  ) {
    const timeout = headers["grpc-timeout"];
    if (timeout !== undefined) this.startDeadline(String(timeout));
    stream.on("data", (chunk: Buffer) => this.take(chunk));
    stream.on("end", () => this.run());
    stream.once("close", () => {
      this.done = true;
      clearTimeout(this.deadlineTimer);
    });
  }

  /** The request metadata, as grpc-js hands it to a handler (the transport headers left out). */
  get metadata(): Metadata {
    if (!this.meta) {
      // Only the headers that stay are converted (grpc-js validates each one it adds): a quarter of the cost.
      const kept: http2.IncomingHttpHeaders = {};
      for (const name in this.headers) if (name[0] !== ":" && !TRANSPORT_HEADERS.has(name)) kept[name] = this.headers[name];
      this.meta = Metadata.fromHttp2Headers(kept);
    }
    return this.meta;
  }

  private startDeadline(text: string): void {
    const m = DEADLINE.exec(text);
    if (!m) {
      process.nextTick(() => this.fail({ code: GrpcStatus.INTERNAL, details: `Invalid grpc-timeout value "${text}"` }));
      return;
    }
    const ms = (Number(m[1]) * DEADLINE_UNIT_MS[m[2]]) | 0;
    this.deadlineTimer = setTimeout(() => this.fail({ code: GrpcStatus.DEADLINE_EXCEEDED, details: "Deadline exceeded" }), ms);
  }

  /**
   * A DATA chunk. A message announcing more than the limit is refused as soon as its length prefix is in, and a
   * second complete message at once (as grpc-js does), so what a client sends is never held beyond that.
   */
  private take(chunk: Buffer): void {
    if (this.done || this.received === -1) return;
    this.chunks.push(chunk);
    this.received += chunk.length;
    for (;;) {
      if (this.messageEnd > 0) {
        if (this.received < this.messageEnd) return;
        if (++this.messages > 1) {
          this.fail(this.secondMessage());
          return;
        }
        this.messageAt = this.messageEnd;
        this.messageEnd = 0;
      }
      if (this.received - this.messageAt < 5) return;
      const size = this.joined().readUInt32BE(this.messageAt + 1);
      if (this.maxBytes !== -1 && size > this.maxBytes) {
        this.received = -1;
        this.chunks.length = 0;
        this.fail({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `Received message larger than max (${size} vs ${this.maxBytes})` });
        return;
      }
      this.messageEnd = this.messageAt + 5 + size;
    }
  }

  /** The bytes received so far as one buffer (joined once per length prefix read, not per chunk). */
  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
    return this.chunks[0];
  }

  private secondMessage(): Status {
    return { code: GrpcStatus.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${this.method.path}` };
  }

  /** The request is complete: exactly one message, decoded, then the handler. */
  private run() {
    if (this.done || this.received === -1) return;
    // take() counted the complete messages: a second one ended the call already. Bytes of an unfinished one after the
    // first are left, as grpc-js leaves them.
    if (this.messages === 0)
      return this.fail({ code: GrpcStatus.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.method.path}` });
    const body = this.joined();
    this.chunks.length = 0;
    const compressed = body[0] === 1;
    const message = body.subarray(5, this.messageAt);
    const encoding = compressed ? (this.headers["grpc-encoding"] ?? "identity") : "identity";
    if (encoding === "identity") return this.decode(message);
    if (encoding !== "gzip" && encoding !== "deflate") {
      return this.fail({ code: GrpcStatus.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}"` });
    }
    const limit = this.maxBytes === -1 ? undefined : this.maxBytes;
    (encoding === "gzip" ? gunzip : inflate)(message, { maxOutputLength: limit }, (err, plain) => {
      if (!err) return this.decode(plain);
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return this.fail({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${this.maxBytes}` });
      }
      this.fail({ code: GrpcStatus.INTERNAL, details: "Failed to decompress message" });
    });
  }

  private decode(message: Buffer) {
    if (this.done) return;
    try {
      this.request = this.method.deserialize(message);
    } catch {
      return this.fail({ code: GrpcStatus.INTERNAL, details: "Error deserializing request" });
    }
    try {
      this.method.handler(this, (err, value, trailer) => (err ? this.fail(errorStatus(err, trailer)) : this.answer(value, trailer)));
    } catch {
      this.fail({ code: GrpcStatus.INTERNAL, details: "Server method handler threw error" });
    }
  }

  /** One message, then the OK status in the trailers. */
  private answer(value: unknown, trailer?: Metadata | null) {
    if (this.done) return;
    let message: Buffer;
    try {
      message = this.method.serialize(value);
    } catch {
      return this.fail({ code: GrpcStatus.INTERNAL, details: "Error serializing response" });
    }
    const frame = Buffer.allocUnsafe(message.length + 5);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    if (this.maxBytes !== -1 && message.length > this.maxBytes) {
      return this.fail({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${frame.length} vs. ${this.maxBytes})` });
    }
    this.done = true;
    clearTimeout(this.deadlineTimer);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      stream.respond(RESPONSE_HEADERS, WAIT_FOR_TRAILERS);
      stream.once("wantTrailers", () => {
        if (!stream.destroyed && !stream.closed)
          stream.sendTrailers(trailer ? trailers({ code: GrpcStatus.OK, details: "OK", metadata: trailer }) : OK_TRAILERS);
      });
      stream.end(frame);
    } catch {
      // The client went away in between: nobody to answer.
      stream.destroy();
    }
  }

  /** An error status, as a trailers-only response (nothing was sent before it). */
  private fail(status: Status): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadlineTimer);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const { "grpc-status": code, "grpc-message": details, ...metadata } = trailers(status);
    try {
      stream.respond({ "grpc-status": code, "grpc-message": details, ":status": 200, "content-type": "application/grpc+proto", ...metadata }, END_STREAM);
    } catch {
      stream.destroy();
      return;
    }
    // Whatever the client still sends is read and dropped.
    stream.resume();
  }
}

/** The status trailers: code, details (percent-encoded as grpc-js sends them) and the trailing metadata. */
function trailers(status: Status): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { "grpc-status": status.code, "grpc-message": encodeURI(status.details) };
  if (status.metadata) Object.assign(out, status.metadata.toHttp2Headers());
  return out;
}

/** What a handler's callback error means, as grpc-js reads it (serverErrorToStatus). */
function errorStatus(error: unknown, trailer?: Metadata | null): Status {
  const e = (error ?? {}) as { code?: unknown; details?: unknown; message?: unknown; metadata?: Metadata };
  const out: Status = {
    code: GrpcStatus.UNKNOWN,
    details: typeof e.message === "string" ? e.message : "Unknown Error",
    metadata: trailer ?? e.metadata ?? null,
  };
  if (typeof e.code === "number" && Number.isInteger(e.code)) {
    out.code = e.code;
    if (typeof e.details === "string") out.details = e.details;
  }
  return out;
}

/** Two connected in-memory duplex streams: what one writes, the other reads (Node 20 has no stream.duplexPair). */
function duplexPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
    });
  const a: Duplex = make(() => b);
  const b: Duplex = make(() => a);
  return [a, b];
}
