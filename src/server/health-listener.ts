// A health port answered from its own thread, so liveness and readiness probes are answered even while the main
// thread is busy with one large request (parsing a 50 MB JSON body takes it for about a second; see spec/limits.md).
// The main thread publishes two numbers in shared memory — whether the server is ready (every served model loaded;
// see src/registry/registry.ts), and a heartbeat it refreshes every HEARTBEAT_MS — and the health thread reads
// them; nothing else crosses.
//
// GET /healthz: 200 {"live": true} while the main thread's heartbeat is younger than the stall limit, else 503
// (a main thread stuck that long is what a restart is for). GET /readyz: 200 {"ready": true} when the server is
// ready and the main thread is live, else 503. Anything else: 404. A server of one model puts its provenance headers
// on these answers too (the model at start: the health thread cannot follow a reload).
import { Worker } from "node:worker_threads";
import { OmafError } from "../errors.js";
import { provenanceHeaders } from "../protocols/http-common.js";
import type { ModelRegistry } from "../registry/registry.js";
import { formatHostPort, type Listener } from "./listener.js";

/** How often the main thread refreshes its heartbeat. */
export const HEARTBEAT_MS = 100;

export interface HealthListenerOptions {
  host: string;
  port: number;
  registry: ModelRegistry;
  /** A main thread whose heartbeat is older than this is not live. */
  stallLimitMs: number;
}

// Slots of the shared Float64Array.
const READY = 0;
const HEARTBEAT = 1;

/** The health thread: plain JavaScript (it runs the same from source and from dist/), node:http only. */
const HEALTH_THREAD = `
const { workerData, parentPort } = require("node:worker_threads");
const http = require("node:http");
const shared = new Float64Array(workerData.buffer);
const answer = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...workerData.headers });
  res.end(text);
};
const server = http.createServer((req, res) => {
  const path = (req.url || "").split("?")[0];
  const stalledMs = Date.now() - shared[${HEARTBEAT}];
  const live = stalledMs < workerData.stallLimitMs;
  if (req.method !== "GET" && req.method !== "HEAD") return answer(res, 405, { error: "use GET", code: "OMAF_ERR_NOT_FOUND" });
  if (path === "/healthz") return answer(res, live ? 200 : 503, live ? { live } : { live, stalledMs });
  if (path === "/readyz") {
    const ready = live && shared[${READY}] === 1;
    return answer(res, ready ? 200 : 503, { ready });
  }
  answer(res, 404, { error: "no route " + req.method + " " + path + "; the health port serves /healthz and /readyz", code: "OMAF_ERR_NOT_FOUND" });
});
server.keepAliveTimeout = 5000;
server.on("error", (err) => parentPort.postMessage({ error: err.message }));
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (msg) => {
  if (msg === "close") server.close(() => process.exit(0)), server.closeAllConnections();
});
`;

/** Starts the health port; rejects with OMAF_ERR_IO when the address cannot be bound. */
export async function startHealthListener(opts: HealthListenerOptions): Promise<Listener> {
  const { registry } = opts;
  const shared = new Float64Array(new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT));
  shared[HEARTBEAT] = Date.now();
  const publish = () => {
    shared[READY] = registry.ready ? 1 : 0;
    shared[HEARTBEAT] = Date.now();
  };
  publish();
  const heartbeat = setInterval(publish, HEARTBEAT_MS).unref();
  const unsubscribe = registry.onStateChange(publish);
  const only = registry.only?.provenance;
  const headers = only ? provenanceHeaders(only) : {};
  const worker = new Worker(HEALTH_THREAD, {
    eval: true,
    workerData: {
      buffer: shared.buffer,
      host: opts.host,
      port: opts.port,
      stallLimitMs: opts.stallLimitMs,
      headers,
    },
  });
  worker.unref();
  const stop = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  const address = formatHostPort(opts.host, opts.port);
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", (msg: { port?: number; error?: string }) => {
      if (msg.port !== undefined) return resolve(msg.port);
      stop();
      void worker.terminate();
      reject(new OmafError("OMAF_ERR_IO", `cannot listen on ${address} for the health port: ${msg.error}`, { address }));
    });
    worker.once("error", (err) => {
      stop();
      reject(new OmafError("OMAF_ERR_INTERNAL", `the health port thread failed: ${err.message}`, undefined, { cause: err }));
    });
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    stop();
    closed ??= new Promise<void>((resolve) => {
      worker.once("exit", () => resolve());
      worker.postMessage("close");
    });
    return closed;
  };
  return {
    interfaceName: "health",
    interfaces: ["health"],
    label: "health",
    host: opts.host,
    port,
    // Readiness is read from the registry (published above).
    setServing() {},
    close,
    forceClose() {
      stop();
      void worker.terminate();
    },
  };
}
