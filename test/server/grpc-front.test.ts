// The front of a gRPC port (src/server/grpc-front.ts) answers unary calls itself: every answer must be what grpc-js
// answers. Each case sends the same raw HTTP/2 request (node:http2, so malformed and edge-case requests can be made) to
// omaf's gRPC listener and to a plain grpc-js server serving the same OMI service on the same dataplane, and compares
// the two answers: status, headers, message bytes and trailers. Streams the front passes on (health Watch, reflection,
// unknown methods, non-gRPC requests) reach grpc-js behind it.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as http2 from "node:http2";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { deflateSync, gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { parse } from "yaml";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import { loadOmiPackage, OMI_SERVICE_NAME } from "../../src/protocols/omi/proto.js";
import { createOmiService } from "../../src/protocols/omi/service.js";
import { createModel } from "../../src/runtime/load.js";
import { startGrpcListener, type GrpcListener } from "../../src/server/grpc-listener.js";
import { tempDir } from "../helpers/fixtures.js";
import { jsonItem, omiClient } from "../helpers/omi-client.js";
import { writeBehaveModel } from "../helpers/serve.js";

const DIGEST = `sha256:${"0f".repeat(32)}`;
const MAX = 4096;

interface Answer {
  headers: Record<string, unknown>;
  body: Buffer;
  trailers: Record<string, unknown>;
  /** RST_STREAM code when the stream was reset, else 0. */
  rst: number;
}

/** One raw HTTP/2 request; answers everything that came back. `chunks` are written one by one. */
function call(port: number, path: string, chunks: Buffer[], headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const answer: Answer = { headers: {}, body: Buffer.alloc(0), trailers: {}, rst: 0 };
    const parts: Buffer[] = [];
    req.on("response", (h) => (answer.headers = { ...h }));
    req.on("trailers", (t) => (answer.trailers = { ...t }));
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("error", () => undefined);
    req.on("close", () => {
      answer.body = Buffer.concat(parts);
      answer.rst = req.rstCode ?? 0;
      session.close();
      resolve(answer);
    });
    for (const c of chunks) req.write(c);
    req.end();
  });
}

/**
 * Sends `chunks` on a call it never ends and resolves with the answer's headers once they come (rejects after 10 s):
 * only a server that answers before the request ends answers this.
 */
function openCall(port: number, path: string, chunks: Buffer[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer from port ${port} before the request ended`));
    }, 10_000);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    req.on("error", () => undefined);
    req.on("response", (headers) => {
      clearTimeout(timer);
      session.destroy();
      resolve({ ...headers });
    });
    for (const c of chunks) req.write(c);
  });
}

/** A gRPC message frame: flag byte, big-endian length, the bytes. */
function frame(message: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** An answer without what differs by nature between two servers (the date). */
function comparable(a: Answer): Omit<Answer, "headers" | "trailers"> & { headers: Record<string, unknown>; trailers: Record<string, unknown> } {
  const { date: _date, ...headers } = a.headers;
  const { date: _tdate, ...trailers } = a.trailers;
  return { ...a, headers, trailers };
}

describe("gRPC front: unary calls answered as grpc-js answers them", () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let dataplane: DataPlane;
  let listener: GrpcListener;
  let reference: grpc.Server;
  let referencePort: number;
  const handedMetadata: Record<string, unknown>[] = [];
  const runDef = () => (loadOmiPackage().ModzyModel as unknown as grpc.ServiceDefinition).Run;
  const runBytes = (items: unknown[]) => runDef().requestSerialize({ inputs: items.map((v) => jsonItem(v)) }) as Buffer;

  before(async () => {
    root = await tempDir("omaf-grpc-front-");
    const dir = await writeBehaveModel(join(root.dir, "behave"));
    const manifest = parse(await readFile(join(dir, "odahuflow.model.yaml"), "utf8"));
    dataplane = new DataPlane(
      createModel({ dir, manifest, provenance: { artifactDigest: DIGEST } }),
      { manifest, artifactDigest: DIGEST, source: dir },
      { requestTimeoutMs: 30_000, maxInFlight: 0 },
    );
    await dataplane.load();
    const omi = createOmiService(dataplane, { maxMessageBytes: MAX, requestTimeoutMs: 30_000, modelAuthor: "", onShutdown: () => undefined });
    // Both servers' Run handler notes the metadata it was handed.
    const run = omi.implementation.Run as grpc.handleUnaryCall<unknown, unknown>;
    omi.implementation.Run = ((c: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handedMetadata.push(c.metadata.getMap());
      run(c, callback);
    }) as grpc.handleUnaryCall<unknown, unknown>;
    listener = await startGrpcListener({
      label: "OMI gRPC",
      interfaceName: "omi",
      host: "127.0.0.1",
      port: 0,
      maxMessageBytes: MAX,
      keepaliveMs: 60_000,
      idleTimeoutMs: 60_000,
      services: [{ name: OMI_SERVICE_NAME, ...omi, packageDefinition: loadOmiPackage() }],
    });
    listener.setServing(true);
    // The reference: grpc-js alone, with the same service and limits.
    reference = new grpc.Server({ "grpc.max_receive_message_length": MAX, "grpc.max_send_message_length": MAX, "grpc.enable_channelz": 0 });
    reference.addService(omi.definition, omi.implementation);
    referencePort = await new Promise<number>((resolve, reject) =>
      reference.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  });
  after(async () => {
    listener?.forceClose();
    reference?.forceShutdown();
    await dataplane?.close();
    await root?.cleanup();
  });

  /** Sends the same request to both servers and checks the answers are the same; answers omaf's. */
  async function same(path: string, chunks: Buffer[], headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
    const [ours, theirs] = await Promise.all([call(listener.port, path, chunks, headers), call(referencePort, path, chunks, headers)]);
    assert.deepEqual(comparable(ours), comparable(theirs));
    return ours;
  }

  it("answers a call with grpc-js's headers, one message and the OK trailers", async () => {
    const a = await same("/ModzyModel/Run", [frame(runBytes([{ text: "hi" }]))]);
    assert.equal(a.headers[":status"], 200);
    assert.equal(a.headers["content-type"], "application/grpc+proto");
    assert.equal(a.trailers["grpc-status"], "0");
    const res = runDef().responseDeserialize(a.body.subarray(5)) as { outputs: { success: boolean }[] };
    assert.equal(res.outputs[0].success, true);
  });

  it("reads a message split over several DATA frames", async () => {
    const whole = frame(runBytes([{ text: "x".repeat(1000) }]));
    const a = await same("/ModzyModel/Run", [whole.subarray(0, 3), whole.subarray(3, 700), whole.subarray(700)]);
    assert.equal(a.trailers["grpc-status"], "0");
  });

  it("decompresses gzip and deflate messages, and refuses other encodings with UNIMPLEMENTED", async () => {
    const message = runBytes([{ text: "zipped" }]);
    for (const [encoding, bytes] of [
      ["gzip", gzipSync(message)],
      ["deflate", deflateSync(message)],
    ] as const) {
      const a = await same("/ModzyModel/Run", [frame(bytes, true)], { "grpc-encoding": encoding });
      assert.equal(a.trailers["grpc-status"], "0", encoding);
    }
    const unknown = await same("/ModzyModel/Run", [frame(message, true)], { "grpc-encoding": "snappy" });
    assert.equal(unknown.headers["grpc-status"], "12");
    // The flag off: the encoding header does not matter.
    const plain = await same("/ModzyModel/Run", [frame(message)], { "grpc-encoding": "gzip" });
    assert.equal(plain.trailers["grpc-status"], "0");
    // The flag on with no encoding named: the bytes are taken as they are.
    const flagged = await same("/ModzyModel/Run", [frame(message, true)]);
    assert.equal(flagged.trailers["grpc-status"], "0");
    const garbled = await same("/ModzyModel/Run", [frame(gzipSync(message), true)]);
    assert.notEqual(garbled.headers["grpc-status"] ?? garbled.trailers["grpc-status"], "0");
  });

  it("refuses messages over the limit, received, decompressed or sent, with RESOURCE_EXHAUSTED", async () => {
    const big = await same("/ModzyModel/Run", [frame(runBytes([{ text: "x".repeat(2 * MAX) }]))]);
    assert.equal(big.headers["grpc-status"], "8");
    assert.match(String(big.headers["grpc-message"]), /Received%20message%20larger%20than%20max/);
    const bomb = await same("/ModzyModel/Run", [frame(gzipSync(runBytes([{ text: " ".repeat(4 * MAX) }])), true)], { "grpc-encoding": "gzip" });
    assert.equal(bomb.headers["grpc-status"], "8");
    // The echo answer of a request just under the limit is over it.
    const echo = await same("/ModzyModel/Run", [frame(runBytes([{ text: "y".repeat(MAX - 200) }]))]);
    assert.equal(echo.headers["grpc-status"], "8");
    assert.match(String(echo.headers["grpc-message"]), /Sent%20message%20larger%20than%20max/);
  });

  it("answers DEADLINE_EXCEEDED when grpc-timeout passes first, and INTERNAL for a malformed one", async () => {
    const late = await same("/ModzyModel/Run", [frame(runBytes([{ sleepMs: 400 }]))], { "grpc-timeout": "50m" });
    assert.equal(late.headers["grpc-status"], "4");
    assert.equal(late.headers["grpc-message"], "Deadline%20exceeded");
    const inTime = await same("/ModzyModel/Run", [frame(runBytes([{ sleepMs: 10 }]))], { "grpc-timeout": "5S" });
    assert.equal(inTime.trailers["grpc-status"], "0");
    const bad = await same("/ModzyModel/Status", [frame(Buffer.alloc(0))], { "grpc-timeout": "soon" });
    assert.equal(bad.headers["grpc-status"], "13");
    // The late answers were dropped, not sent on a closed stream: the model is free again.
    for (let i = 0; dataplane.inFlightCount > 0; i++) {
      assert.ok(i < 200, "the timed-out Run never finished");
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it("wants exactly one message: none or two are UNIMPLEMENTED", async () => {
    const none = await same("/ModzyModel/Status", []);
    assert.equal(none.headers["grpc-status"], "12");
    const two = await same("/ModzyModel/Status", [frame(Buffer.alloc(0)), frame(Buffer.alloc(0))]);
    assert.equal(two.headers["grpc-status"], "12");
    // A second message announcing more than the limit is refused for its size, as the first would be.
    const oversized = Buffer.alloc(5);
    oversized.writeUInt32BE(2 * MAX, 1);
    const big = await same("/ModzyModel/Status", [frame(Buffer.alloc(0)), oversized]);
    assert.equal(big.headers["grpc-status"], "8");
  });

  it("answers a second message at once, without waiting for the end of a request that may never end", async () => {
    // The client keeps its side open: whatever it sends after the second message is read and dropped, not held.
    const [ours, theirs] = await Promise.all(
      [listener.port, referencePort].map((port) => openCall(port, "/ModzyModel/Status", [frame(Buffer.alloc(0)), frame(Buffer.alloc(0))])),
    );
    assert.equal(ours["grpc-status"], "12");
    assert.equal(ours["grpc-status"], theirs["grpc-status"]);
    assert.equal(ours["grpc-message"], theirs["grpc-message"]);
  });

  it("hands the handler the request metadata grpc-js hands it: every header but the pseudo and transport ones", async () => {
    handedMetadata.length = 0;
    const headers = {
      "x-request-id": "req-1",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "user-agent": "grpc-c/38.0.0 (linux; chttp2)",
      "trace-bin": Buffer.from([1, 2, 3]).toString("base64"),
      "grpc-accept-encoding": "identity, deflate, gzip",
      "accept-encoding": "identity, gzip",
      "grpc-timeout": "5S",
    };
    const a = await same("/ModzyModel/Run", [frame(runBytes([{ text: "meta" }]))], headers);
    assert.equal(a.trailers["grpc-status"], "0");
    assert.equal(handedMetadata.length, 2);
    const [ours, theirs] = handedMetadata;
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours, {
      "x-request-id": "req-1",
      traceparent: headers.traceparent,
      "user-agent": headers["user-agent"],
      "trace-bin": Buffer.from([1, 2, 3]),
    });
  });

  it("passes a handler's error status and trailing metadata on, as a trailers-only answer", async () => {
    // Not a RunRequest at all: omaf answers INVALID_ARGUMENT with its error code in a trailer.
    const a = await same("/ModzyModel/Run", [frame(Buffer.from([0xff, 0xff, 0xff, 0xff]))]);
    assert.equal(a.headers["grpc-status"], "3");
    assert.equal(a.headers["omaf-error-code"], "OMAF_ERR_BAD_INPUT");
    assert.match(String(a.headers["grpc-message"]), /^OMAF_ERR_BAD_INPUT:/);
  });

  it("leaves to grpc-js what is not a unary call of omaf's services", async () => {
    const unknown = await call(listener.port, "/ModzyModel/NoSuchMethod", [frame(Buffer.alloc(0))]);
    assert.equal(unknown.headers["grpc-status"], "12");
    assert.match(String(unknown.headers["grpc-message"]), /does not implement the method \/ModzyModel\/NoSuchMethod/);
    const notGrpc = await call(listener.port, "/ModzyModel/Run", [Buffer.from("hello")], { "content-type": "text/plain" });
    assert.equal(notGrpc.headers[":status"], 415);
    // Server streaming through the front: Watch answers the current status and keeps the stream open.
    const client = omiClient(`127.0.0.1:${listener.port}`);
    try {
      assert.equal(await client.health(), "SERVING");
      assert.ok((await client.listServices()).includes("ModzyModel"));
      const Health = grpc.makeGenericClientConstructor(
        {
          Watch: {
            path: "/grpc.health.v1.Health/Watch",
            requestStream: false,
            responseStream: true,
            requestSerialize: (v: Buffer) => v,
            requestDeserialize: (v: Buffer) => v,
            responseSerialize: (v: Buffer) => v,
            responseDeserialize: (v: Buffer) => v,
          },
        },
        "Health",
      );
      const health = new Health(`127.0.0.1:${listener.port}`, grpc.credentials.createInsecure(), { channelOverride: client.raw.getChannel() });
      const watch = (health as unknown as { Watch(req: Buffer): grpc.ClientReadableStream<Buffer> }).Watch(Buffer.alloc(0));
      const first = await new Promise<Buffer>((resolve, reject) => {
        watch.once("data", resolve);
        watch.once("error", reject);
      });
      // HealthCheckResponse { status: SERVING (1) }: field 1, varint 1.
      assert.deepEqual([...first], [0x08, 0x01]);
      watch.cancel();
    } finally {
      client.close();
    }
  });

  it("keeps serving after a client cancels a call under way", async () => {
    const session = http2.connect(`http://127.0.0.1:${listener.port}`);
    const req = session.request({ ":method": "POST", ":path": "/ModzyModel/Run", "content-type": "application/grpc", te: "trailers" });
    req.on("error", () => undefined);
    req.end(frame(runBytes([{ sleepMs: 200 }])));
    for (let i = 0; dataplane.inFlightCount === 0; i++) {
      assert.ok(i < 500, "the Run never reached the model");
      await new Promise((r) => setTimeout(r, 5));
    }
    req.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
    const after = await same("/ModzyModel/Run", [frame(runBytes([{ text: "again" }]))]);
    assert.equal(after.trailers["grpc-status"], "0");
  });
});
