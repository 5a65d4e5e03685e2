// Benchmark of `omaf serve` on the iris ONNX example, every protocol in one run against one server process:
// OIP v2 REST (JSON and binary tensors), OIP v2 gRPC (raw contents, as tritonclient.grpc), KServe v1 and OMI —
// next to a baseline measured in the same run: a bare fastify route in a child process calling the same
// onnxruntime session (bench/serve-baseline.ts). Both servers run as compiled JavaScript (what the published CLI
// runs). Load comes from h2load (HTTP/1.1 and h2c gRPC; `apt-get install -y nghttp2-client`), which uses little CPU,
// so the two cores go to the servers; without h2load, from autocannon and grpc-js loops in this process (the output
// says which). Prints req/s and p50/p99 latency at concurrency 1, 16 and 64, CPU per request and the ratios, and
// writes the `## serve` section of bench/RESULTS.md unless --no-write. Each level is measured in several rounds, every
// target once per round, and each row shows the round with the median req/s; the ratios are medians of each round's
// ratio, so a spell of load from elsewhere on the machine skews one round, not the result.
//   node --import tsx bench/serve.ts [--seconds 3] [--warmup 1] [--rounds 3] [--log] [--no-write] [--in-process-load]
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadOmiPackage } from "../src/protocols/omi/proto.ts";
import type { RunResponse } from "../src/protocols/omi/messages.ts";
import { loadOipPackage, OIP_SERVICE_NAME, type GrpcModelInferResponse } from "../src/tensor/grpc-contents.ts";
import { checkGrpcAnswer, checkGrpcBytes, compileServer, grpcFrame, h2load, h2loadVersion, processCpuSeconds } from "./load-tools.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const irisDir = path.join(repo, "examples", "iris-onnx");
const irisFile = path.join(irisDir, "model", "iris.onnx");
const LEVELS = [1, 16, 64];
const ROW = [5.1, 3.5, 1.4, 0.2];
const BATCHING = ["--max-batch-size", "64", "--max-batch-time", "5"];
const BATCHING_TEXT = "64 / 5 ms";
/** What CPU profiles (`--cpu-prof`, h2load at concurrency 16) of both servers showed; kept with the table. */
const WHERE_THE_TIME_GOES = [
  "Where the time goes, from CPU profiles of both servers under the same load (batching off, concurrency 16, 300,000 requests",
  "each, so start-up is under 1 % of the samples) and strace at concurrency 1:",
  "- Both servers make the same system calls per request (one `read`, one `writev`, about one `epoll_pwait`), and most of",
  "  either server's CPU is Node's HTTP stack, the kernel and onnxruntime's run (onnxruntime-node runs a session on the",
  "  main thread, after a setImmediate).",
  "- omaf's own modules take about 13 µs per request, the baseline's handler about 8 µs (CPU profiles, 200,000 requests",
  "  at 64 connections): parsing the request JSON (2.4 µs, as secure-json-parse in the baseline), the answer text (1.2 µs;",
  "  small outputs are written as text directly), the dataplane's admission, deadline and accounting, tensor checks, the",
  "  runtime's tensor conversion, the request id. No single item is above 2.5 µs. Every request here gets the same answer,",
  "  and V8 caches a number's text, which omaf's answer writer uses and JSON.stringify does not: with varied outputs the",
  "  iris answer's numbers cost omaf about 0.6 µs more per request (microbenchmark), as they cost the baseline now.",
  "- Node's HTTP code takes about 12 µs more per request in omaf: it validates the answer's extra headers (three",
  "  provenance headers and the request id; without them omaf measured 4 % more req/s) and writes a larger answer.",
  "- onnxruntime's native run takes 5-8 µs more per request under omaf's route than under the baseline's, with the same",
  "  session options and input. The baseline's handler mounted in omaf's process measured the baseline's time, so it is",
  "  not the runtime's settings; the likeliest cause is the processor's caches, which a longer request leaves colder.",
  "- A process that has also answered gRPC, OMI, KServe and binary requests answers REST JSON about 7 % slower than one",
  "  that answered only REST JSON (paired runs, 5 rounds: 0.87x and 0.93x of the baseline): V8 tunes the code all paths",
  "  share to the kinds of objects it has seen. Hence the server answering only REST JSON, as the baseline does.",
  "- Batching takes the per-call cost of onnxruntime (a native call and the setImmediate before it) off all but one request of each batch,",
  "  which is where batching beats the bare handler at 16 and 64. A call that finds the model free runs at the end of its turn",
  "  of the event loop, so the streams of one HTTP/2 read join it (before, the first ran alone: gRPC batches averaged about 4",
  "  requests at 16 streams against about 8 for REST); a lone request (concurrency 1) runs unbatched, one loop turn later.",
  "- gRPC: grpc-js spent about as much CPU per call as the rest of the inference (a bare grpc-js unary server about 95 µs per",
  "  call, node:http2 answering the same bytes about 49 µs, 16 streams), so omaf answers its services' unary calls on",
  "  node:http2 itself (src/server/grpc-front.ts) and leaves health, reflection and the rest to grpc-js; ModelInfer answers",
  "  encode the fields every answer of a model version repeats once per version. One HTTP/2 connection carrying every",
  "  stream then puts gRPC ahead of REST at 16 and 64. At concurrency 1 a call still takes two socket writes and two",
  "  event-loop turns where REST takes one: Node's http2 sends the status trailers in a write of their own after",
  "  HEADERS + DATA (strace: a writev of three frames, then an 11-byte write), and the client waits for them. No use of",
  "  node:http2 avoids it: sendTrailers defers the trailers to a setImmediate, and trailers submitted at once (tried",
  "  through Node's internals) still went out separately, as Node's session stops gathering frames after a DATA frame.",
  "  The floor rows measure what that costs before any work: Node's HTTP/2 answering a fixed gRPC call against its",
  "  HTTP/1.1 answering fixed bytes (the ratio under the targets); answered without trailers, HTTP/2 measured about",
  "  0.85× of HTTP/1.1 at concurrency 1 in a separate run, with trailers about 0.7×.",
];

const seconds = numberFlag("--seconds", 3);
const warmup = numberFlag("--warmup", 1);
const rounds = Math.max(1, numberFlag("--rounds", 3));
const logOn = process.argv.includes("--log");
const write = !process.argv.includes("--no-write");
/** h2load's version when it generates the load; undefined when the load comes from this process. */
const h2 = process.argv.includes("--in-process-load") ? undefined : h2loadVersion();

interface LevelResult {
  concurrency: number;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time the server process used per request (user + system), µs; NaN where /proc is not available. */
  serverCpuUs: number;
  /** CPU time this process (the load generator) used per request, µs. */
  clientCpuUs: number;
}

/** The process whose CPU time is measured (the server under test), set before each target runs. */
let serverPid: number | undefined;

/** Measures server and client CPU around `run`, which answers a result without CPU figures. */
async function withCpu(run: () => Promise<Omit<LevelResult, "serverCpuUs" | "clientCpuUs">>): Promise<LevelResult> {
  const server0 = processCpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const r = await run();
  const client = process.cpuUsage(client0);
  const server = processCpuSeconds(serverPid) - server0;
  return { ...r, serverCpuUs: (server * 1e6) / r.count, clientCpuUs: (client.user + client.system) / r.count };
}

/** Percentiles of the first `n` latencies. */
function summarise(concurrency: number, lat: Float64Array, n: number, elapsedS: number): Omit<LevelResult, "serverCpuUs" | "clientCpuUs"> {
  const sorted = lat.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor((p / 100) * n))]);
  return { concurrency, count: n, perSecond: n / elapsedS, p50Ms: pct(50), p99Ms: pct(99) };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP load: autocannon, with every response's exact latency recorded (its own histogram rounds to whole ms).

interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance & PromiseLike<{ errors: number; timeouts: number; non2xx: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

interface HttpTarget {
  url: string;
  body: Buffer;
  headers: Record<string, string>;
}

async function httpLevel(
  target: HttpTarget,
  concurrency: number,
  durationS: number,
  record: boolean,
): Promise<Omit<LevelResult, "serverCpuUs" | "clientCpuUs">> {
  const lat = new Float64Array(4_000_000);
  let n = 0;
  let bad = 0;
  const t0 = performance.now();
  const instance = autocannon({
    url: target.url,
    method: "POST",
    body: target.body,
    headers: target.headers,
    connections: concurrency,
    pipelining: 1,
    duration: durationS,
  });
  instance.on("response", (_client, status, _bytes, ms) => {
    if (status !== 200) bad++;
    else if (n < lat.length) lat[n++] = ms;
  });
  const result = await instance;
  const elapsed = (performance.now() - t0) / 1000;
  if (bad > 0 || result.errors > 0) throw new Error(`${target.url}: ${bad} non-200 answers, ${result.errors} errors`);
  return record ? summarise(concurrency, lat, n, elapsed) : summarise(concurrency, lat, 0, elapsed);
}

/** One measured level of an HTTP target, after `warmup` seconds at that concurrency. */
async function httpMeasure(target: HttpTarget, concurrency: number): Promise<LevelResult> {
  if (h2) return h2loadMeasure({ url: target.url, h1: true, body: target.body, headers: target.headers }, concurrency);
  await httpLevel(target, concurrency, warmup, false);
  return withCpu(() => httpLevel(target, concurrency, seconds, true));
}

/**
 * One measured level with h2load: an unmeasured warm-up run, then the measured run with the server's CPU read around
 * it; `answerBytes` (gRPC) checks that every answer carried the full message.
 */
async function h2loadMeasure(
  run: { url: string; h1: boolean; body: Buffer; headers: Record<string, string>; answerBytes?: number },
  concurrency: number,
): Promise<LevelResult> {
  await h2load({ ...run, concurrency, seconds: warmup });
  const server0 = processCpuSeconds(serverPid);
  const r = await h2load({ ...run, concurrency, seconds });
  const server = processCpuSeconds(serverPid) - server0;
  if (run.answerBytes !== undefined) checkGrpcBytes(run.url, r, run.answerBytes, concurrency);
  return {
    concurrency,
    count: r.count,
    perSecond: r.perSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUs: (server * 1e6) / r.count,
    clientCpuUs: (r.clientCpuS * 1e6) / r.count,
  };
}

/** Fails unless the target answers 200 once. */
async function checkHttp(target: HttpTarget): Promise<void> {
  const check = await fetch(target.url, { method: "POST", body: target.body, headers: target.headers });
  if (check.status !== 200) throw new Error(`${target.url} answered ${check.status}: ${await check.text()}`);
  await check.arrayBuffer();
}

// ---------------------------------------------------------------------------------------------------------------
// gRPC load: `concurrency` loops on one channel; the request is encoded once, every answer is decoded and checked.

async function drive(concurrency: number, call: () => Promise<void>): Promise<LevelResult> {
  const lat = new Float64Array(4_000_000);
  let n = 0;
  let recording = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t0 = performance.now();
      await call();
      if (recording && n < lat.length) lat[n++] = performance.now() - t0;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  recording = true;
  const server0 = processCpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recording = false;
  const elapsed = (performance.now() - t0) / 1000;
  const count = n;
  const client = process.cpuUsage(client0);
  const server = processCpuSeconds(serverPid) - server0;
  stop = true;
  await Promise.all(loops);
  return {
    ...summarise(concurrency, lat, count, elapsed),
    serverCpuUs: (server * 1e6) / count,
    clientCpuUs: (client.user + client.system) / count,
  };
}

function unary<Res>(client: grpc.Client, method: string, bytes: Buffer, decode: (b: Buffer) => Res, check: (res: Res) => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest<Buffer, Res>(
        method,
        (b) => b,
        decode,
        bytes,
        (err, res) => {
          if (err) return reject(err);
          try {
            check(res!);
            resolve();
          } catch (e) {
            reject(e);
          }
        },
      ),
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

async function startChild(args: string[], ready: RegExp, from: "stdout" | "stderr"): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout!.setEncoding("utf8");
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    child[from]!.on("data", (d: string) => {
      if (from === "stdout") text += d;
      const m = ready.exec(from === "stdout" ? text : err);
      if (m) resolve(m);
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}: ${err}`)));
  });
  return { child, match };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

interface Listening {
  listeners: { interface: string; interfaces?: string[]; port: number }[];
}

// ---------------------------------------------------------------------------------------------------------------

const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const work = mkdtempSync(path.join(tmpdir(), "omaf-bench-serve-"));
const loadBefore = loadavg()[0];
/** Per target: per level, one result per round. */
const results: Record<string, LevelResult[][]> = {};

const oipJsonBody = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] }));
/** A thing to measure: its server process and how to load it at one concurrency. */
interface Target {
  key: string;
  pid: number | undefined;
  check(): Promise<void>;
  measure(concurrency: number): Promise<LevelResult>;
}

const children: ChildProcess[] = [];
// Both servers run as compiled JavaScript, as the published package does (no TypeScript loader in the measured
// processes).
const compiled = compileServer(repo, [path.join(here, "serve-baseline.ts"), path.join(here, "serve-floor.ts")]);
try {
  // Both servers run for the whole benchmark and the targets are measured in turn at each level, so slow drifts in
  // what the rest of the machine does hit the baseline and omaf alike.
  const baseline = await startChild([path.join(compiled.root, "bench", "serve-baseline.js"), irisFile], /listening (\d+)/, "stdout");
  children.push(baseline.child);
  // Node's own HTTP/1.1 and HTTP/2 servers answering fixed bytes: how far apart the two transports are before any work.
  const floor = await startChild([path.join(compiled.root, "bench", "serve-floor.js")], /listening (\d+) (\d+)/, "stdout");
  children.push(floor.child);
  const serveArgs = [
    path.join(compiled.root, "dist", "cli", "main.js"),
    "serve",
    irisDir,
    "--host",
    "127.0.0.1",
    "--json",
    "--interfaces",
    "omi,oip-rest,oip-grpc,kserve-v1",
    "--omi-port",
    "0",
    "--http-port",
    "0",
    "--oip-grpc-port",
    "0",
    ...(logOn ? ["--inference-log-file", path.join(work, "inference.jsonl")] : ["--no-inference-log"]),
  ];
  const omaf = await startChild(serveArgs, /^(\{.*"event":"listening".*\})$/m, "stdout");
  children.push(omaf.child);
  // The comparison with the baseline like for like: a server that, as the baseline, answers nothing but OIP REST JSON.
  // V8 tunes the code every path shares (Node's streams, the dataplane, the tensor checks) to the kinds of objects it
  // has seen; a process that also answered gRPC, OMI and KServe runs the same REST request slower.
  const restOnly = await startChild(
    serveArgs.map((a, i) => (serveArgs[i - 1] === "--interfaces" ? "oip-rest" : a)),
    /^(\{.*"event":"listening".*\})$/m,
    "stdout",
  );
  children.push(restOnly.child);
  // The same server with adaptive batching on: requests that arrive together run as one onnxruntime call.
  const batched = await startChild([...serveArgs, ...BATCHING], /^(\{.*"event":"listening".*\})$/m, "stdout");
  children.push(batched.child);

  const portOf = (match: RegExpExecArray) => {
    const line = JSON.parse(match[1]) as Listening;
    return (name: string) => line.listeners.find((l) => l.interface === name || l.interfaces?.includes(name))!.port;
  };
  const port = portOf(omaf.match);
  const batchedPort = portOf(batched.match);
  const restOnlyPort = portOf(restOnly.match);
  const http = `http://127.0.0.1:${port("oip-rest")}`;

  const raw = Buffer.alloc(16);
  ROW.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }],
      outputs: [
        { name: "probabilities", parameters: { binary_data: true } },
        { name: "label", parameters: { binary_data: true } },
      ],
    }),
  );
  const httpTarget = (key: string, pid: number | undefined, t: HttpTarget): Target => ({
    key,
    pid,
    check: () => checkHttp(t),
    measure: (c) => httpMeasure(t, c),
  });

  const oipDef = loadOipPackage()[OIP_SERVICE_NAME] as grpc.ServiceDefinition;
  const oipClient = new grpc.Client(`127.0.0.1:${port("oip-grpc")}`, grpc.credentials.createInsecure(), { "grpc.enable_channelz": 0 });
  const batchedOipClient = new grpc.Client(`127.0.0.1:${batchedPort("oip-grpc")}`, grpc.credentials.createInsecure(), { "grpc.enable_channelz": 0 });
  const inferBytes = oipDef.ModelInfer.requestSerialize({
    model_name: "iris-onnx",
    inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
    raw_input_contents: [raw],
  });
  const omiDef = loadOmiPackage().ModzyModel as unknown as grpc.ServiceDefinition;
  const omiClient = new grpc.Client(`127.0.0.1:${port("omi")}`, grpc.credentials.createInsecure(), { "grpc.enable_channelz": 0 });
  const runBytes = omiDef.Run.requestSerialize({ inputs: [{ input: { input: Buffer.from(JSON.stringify([ROW])) } }] });
  // gRPC targets: grpc-js checks the answer once; h2load sends the same bytes (one HTTP/2 connection, `concurrency`
  // streams, as one gRPC channel) and each run is checked by the bytes of its answers (see checkGrpcBytes).
  const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
  const grpcLoad = <Res>(
    key: string,
    pid: number | undefined,
    client: grpc.Client,
    grpcPort: number,
    method: string,
    bytes: Buffer,
    decode: (b: Buffer) => Res,
    check: (res: Res) => void,
  ): Target => {
    const call = unary(client, method, bytes, decode, check);
    const body = grpcFrame(bytes);
    let answerBytes = 0;
    return {
      key,
      pid,
      async check() {
        await call();
        if (h2) answerBytes = await checkGrpcAnswer(`http://127.0.0.1:${grpcPort}`, method, body, GRPC_HEADERS, (m) => check(decode(m)));
      },
      measure: (c) =>
        h2 ? h2loadMeasure({ url: `http://127.0.0.1:${grpcPort}${method}`, h1: false, body, headers: GRPC_HEADERS, answerBytes }, c) : drive(c, call),
    };
  };

  const oipGrpcLoad = (key: string, pid: number | undefined, client: grpc.Client, grpcPort: number) =>
    grpcLoad(
      key,
      pid,
      client,
      grpcPort,
      oipDef.ModelInfer.path,
      inferBytes,
      oipDef.ModelInfer.responseDeserialize as (b: Buffer) => GrpcModelInferResponse,
      (res) => {
        if (res.raw_output_contents?.length !== 2) throw new Error("expected 2 raw outputs");
      },
    );

  const targets: Target[] = [
    httpTarget("baseline", baseline.child.pid, {
      url: `http://127.0.0.1:${baseline.match[1]}/infer`,
      body: oipJsonBody,
      headers: { "content-type": "application/json" },
    }),
    httpTarget("oipJsonOnly", restOnly.child.pid, {
      url: `http://127.0.0.1:${restOnlyPort("oip-rest")}/v2/models/iris-onnx/infer`,
      body: oipJsonBody,
      headers: { "content-type": "application/json" },
    }),
    httpTarget("oipJson", omaf.child.pid, { url: `${http}/v2/models/iris-onnx/infer`, body: oipJsonBody, headers: { "content-type": "application/json" } }),
    // As tritonclient.http sends it: no Content-Type.
    httpTarget("oipBinary", omaf.child.pid, {
      url: `${http}/v2/models/iris-onnx/infer`,
      body: Buffer.concat([header, raw]),
      headers: { "inference-header-content-length": String(header.length) },
    }),
    oipGrpcLoad("oipGrpc", omaf.child.pid, oipClient, port("oip-grpc")),
    httpTarget("kserve", omaf.child.pid, {
      url: `http://127.0.0.1:${port("kserve-v1")}/v1/models/iris-onnx:predict`,
      body: Buffer.from(JSON.stringify({ instances: [ROW] })),
      headers: { "content-type": "application/json" },
    }),
    grpcLoad(
      "omi",
      omaf.child.pid,
      omiClient,
      port("omi"),
      "/ModzyModel/Run",
      runBytes,
      omiDef.Run.responseDeserialize as (b: Buffer) => RunResponse,
      (res) => {
        if (!res.outputs[0]?.success) throw new Error("OMI Run failed");
      },
    ),
    httpTarget("oipJsonBatched", batched.child.pid, {
      url: `http://127.0.0.1:${batchedPort("oip-rest")}/v2/models/iris-onnx/infer`,
      body: oipJsonBody,
      headers: { "content-type": "application/json" },
    }),
    oipGrpcLoad("oipGrpcBatched", batched.child.pid, batchedOipClient, batchedPort("oip-grpc")),
  ];
  // The floor's gRPC side needs h2load (in-process load would measure grpc-js's client, not the transport).
  if (h2) {
    const floorGrpcUrl = `http://127.0.0.1:${floor.match[2]}`;
    const floorGrpcBody = grpcFrame(Buffer.alloc(0));
    let floorAnswerBytes = 0;
    targets.push(
      httpTarget("floorHttp", floor.child.pid, {
        url: `http://127.0.0.1:${floor.match[1]}/`,
        body: oipJsonBody,
        headers: { "content-type": "application/json" },
      }),
      {
        key: "floorGrpc",
        pid: floor.child.pid,
        async check() {
          floorAnswerBytes = await checkGrpcAnswer(floorGrpcUrl, "/floor/Unary", floorGrpcBody, GRPC_HEADERS, () => undefined);
        },
        measure: (c) =>
          h2loadMeasure({ url: `${floorGrpcUrl}/floor/Unary`, h1: false, body: floorGrpcBody, headers: GRPC_HEADERS, answerBytes: floorAnswerBytes }, c),
      },
    );
  }

  // Freshly started servers run their code cold: every path answers once, then runs a warm-up level unmeasured.
  for (const t of targets) {
    await t.check();
    serverPid = t.pid;
    await t.measure(16);
  }
  for (const [level, c] of LEVELS.entries()) {
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        serverPid = t.pid;
        ((results[t.key] ??= [])[level] ??= []).push(await t.measure(c));
      }
    }
  }
  oipClient.close();
  batchedOipClient.close();
  omiClient.close();
  for (const child of children) await stopChild(child);
  const loadAfter = loadavg()[0];
  const ortVersion = JSON.parse(readFileSync(path.join(repo, "node_modules/onnxruntime-node/package.json"), "utf8")).version as string;
  const acVersion = JSON.parse(readFileSync(path.join(repo, "node_modules/autocannon/package.json"), "utf8")).version as string;
  const NAMES: [string, string][] = [
    ["baseline", "baseline: bare fastify + onnxruntime"],
    ["oipJsonOnly", "omaf OIP REST, JSON (server answering only it, as the baseline)"],
    ["oipJson", "omaf OIP REST, JSON"],
    ["oipBinary", "omaf OIP REST, binary tensors"],
    ["oipGrpc", "omaf OIP gRPC, raw contents"],
    ["kserve", "omaf KServe v1"],
    ["omi", "omaf OMI gRPC"],
    ["oipJsonBatched", `omaf OIP REST, JSON, batching ${BATCHING_TEXT}`],
    ["oipGrpcBatched", `omaf OIP gRPC, raw contents, batching ${BATCHING_TEXT}`],
    ["floorHttp", "floor: Node's HTTP/1.1 answering fixed bytes (no framework, no model)"],
    ["floorGrpc", "floor: Node's HTTP/2 answering a fixed unary gRPC message and its trailers"],
  ];
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  /** The median over the rounds of `a`'s req/s ÷ `b`'s in the same round, at level `i`. */
  const ratio = (a: string, b: string, i: number) => median(results[a][i].map((r, round) => r.perSecond / results[b][i][round].perSecond));
  const rows: string[] = [];
  for (const [key, label] of NAMES) {
    results[key]?.forEach((perRound, i) => {
      const middle = median(perRound.map((x) => x.perSecond));
      const r = perRound.find((x) => x.perSecond === middle)!;
      rows.push(
        `| ${label} | ${r.concurrency} | ${fmt(r.perSecond)} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.serverCpuUs)} | ${fmt(r.clientCpuUs)} | ${fmt(ratio(key, "baseline", i), 2)}× |`,
      );
    });
  }
  // Three decimals: a verdict is taken on the exact ratio, and 0.897 shown as 0.90 would read as met.
  const ratios = (a: string, b: string) => LEVELS.map((c, i) => `${c}: ${fmt(ratio(a, b, i), 3)}×`).join(", ");
  const verdict = (a: string, b: string, least: number) => (LEVELS.every((_, i) => ratio(a, b, i) >= least) ? "met" : "not met");
  const cpu = cpus();
  const section = [
    "## serve",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/serve.ts --rounds ${rounds}\` (${seconds} s per target and level after ${warmup} s warm-up, ${rounds} round${rounds > 1 ? "s" : ""}).`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Node ${process.version}, onnxruntime-node ${ortVersion}, ${h2 ?? `autocannon ${acVersion}`}.`,
    `Machine load during the run: 1-minute load average ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after;`,
    "so absolute numbers are noisy; every row comes from the same run.",
    "",
    `Server: one \`omaf serve examples/iris-onnx\` child process with omi, oip-rest, oip-grpc and kserve-v1 enabled, inference log ${logOn ? "on (to a file)" : "off"},`,
    `which answers every row not named otherwise; a second one with \`${BATCHING.join(" ")}\` for the "batching" rows (batching is off by default);`,
    "and a third with only oip-rest, which answers only OIP REST JSON, as the baseline only answers that (the first row of omaf).",
    "run as compiled JavaScript (src/ transpiled as the published package is; no TypeScript loader), as is the baseline.",
    'Each request is one row `[5.1, 3.5, 1.4, 0.2]`: OIP REST JSON `{"inputs": [{FP32 [1,4]}]}`; OIP REST binary = JSON header + 16 raw bytes,',
    "both outputs asked for in binary, no Content-Type (as tritonclient.http); OIP gRPC = ModelInfer with raw_input_contents (as",
    'tritonclient.grpc); KServe v1 `{"instances": [[...]]}`; OMI = one Run item holding `[[...]]`.',
    ...(h2
      ? [
          "Load: h2load (C, one thread) in its own process, so nearly all of the two cores go to the servers. HTTP: one connection per",
          "concurrent request, one request at a time on each (no pipelining). gRPC: one HTTP/2 connection with `concurrency` streams",
          "(as one gRPC channel), the request encoded once; before the runs grpc-js checks an answer, and every run checks that each",
          "answer carried the full message (a gRPC error answers HTTP 200 with no message). Latency per request from h2load's log.",
        ]
      : [
          "Load (h2load not installed, `apt-get install -y nghttp2-client`): generated in this Node process, which then competes with",
          "the servers for the cores. HTTP: autocannon (one connection per concurrent request, no pipelining; latency per response).",
          "gRPC: grpc-js loops on one channel (request encoded once, every answer decoded and checked).",
        ]),
    "Both servers run for the whole benchmark; at each level the targets are measured one after another (baseline first), after",
    `every path was warmed up once, and that ${rounds} time${rounds > 1 ? "s" : ""} over. Each row is the round with the median req/s; the ÷ columns and the`,
    "ratios below are the medians of each round's ratio (both targets measured in the same round, under a minute apart).",
    "Baseline: bench/serve-baseline.ts in a child process: a bare fastify POST route that reads the same OIP JSON body, runs the",
    "same .onnx file with the same session options and answers the outputs as JSON (no checks, provenance or logging).",
    "Floor: bench/serve-floor.ts, Node's node:http and node:http2 servers answering fixed bytes after a setImmediate, no framework",
    "and no model; the gRPC side answers one message and then the status trailers, as every gRPC server on Node does.",
    `CPU columns: user + system time of the server process (from /proc, all threads) and of the load generator (${h2 ? "h2load" : "this process"}), per`,
    "answered request, during the measured seconds; they depend less than req/s on what else the machine runs.",
    "",
    "| target | concurrency | req/s | p50 ms | p99 ms | server CPU µs/req | client CPU µs/req | ÷ baseline (req/s, median) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Targets (batching off unless named):",
    `- OIP REST JSON ≥ 0.9× baseline, like for like (a server answering only it) — ${verdict("oipJsonOnly", "baseline", 0.9)} (${ratios("oipJsonOnly", "baseline")}); ` +
      `on the server that also answers the other protocols — ${verdict("oipJson", "baseline", 0.9)} (${ratios("oipJson", "baseline")}); ` +
      `with batching ${BATCHING_TEXT} — ${verdict("oipJsonBatched", "baseline", 0.9)} (${ratios("oipJsonBatched", "baseline")}).`,
    `- OIP gRPC ≥ 0.8× OIP REST — ${verdict("oipGrpc", "oipJson", 0.8)} (${ratios("oipGrpc", "oipJson")}); ` +
      `both with batching — ${verdict("oipGrpcBatched", "oipJsonBatched", 0.8)} (${ratios("oipGrpcBatched", "oipJsonBatched")}).` +
      (results.floorGrpc
        ? ` For scale, the floor: Node's HTTP/2 answering a gRPC call ÷ Node's HTTP/1.1 answering a request, both with fixed bytes — ${ratios("floorGrpc", "floorHttp")}.`
        : ""),
    "",
    ...WHERE_THE_TIME_GOES,
    "",
  ].join("\n");
  if (!h2) process.stdout.write("\nh2load not found: the load came from this process (install nghttp2-client for a fairer measurement)\n");
  process.stdout.write(`\n${section}\n`);

  if (write) {
    writeResultsSection("serve", section);
    process.stdout.write(`\nwrote the ## serve section of ${path.relative(repo, RESULTS_FILE)}\n`);
  }
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
  compiled.remove();
}
