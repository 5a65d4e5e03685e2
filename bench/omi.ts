// Benchmark of the OMI gRPC path: `omaf serve examples/iris-onnx` in a child process (compiled JavaScript, as the
// published CLI runs), driven at concurrency 1, 16 and 64, next to the same ONNX model called in-process with
// onnxruntime-node (same input row, same session options) in the same run. The load comes from h2load (one HTTP/2
// connection with `concurrency` streams, as one gRPC channel; `apt-get install -y nghttp2-client`), which leaves the
// cores to the server; without h2load, from a grpc-js client in this process (the output says which). Prints Run/s
// and p50/p99 latency per level and the ratios, and writes the `## omi` section of bench/RESULTS.md unless --no-write.
//   node --import tsx bench/omi.ts [--seconds 5] [--warmup 1] [--no-log] [--no-write] [--in-process-load]
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadOmiPackage } from "../src/protocols/omi/proto.ts";
import type { RunResponse } from "../src/protocols/omi/messages.ts";
import { checkGrpcAnswer, checkGrpcBytes, compileServer, grpcFrame, h2load, h2loadVersion, processCpuSeconds } from "./load-tools.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const irisDir = path.join(repo, "examples", "iris-onnx");
const LEVELS = [1, 16, 64];
const ROW = [5.1, 3.5, 1.4, 0.2];

const seconds = numberFlag("--seconds", 5);
const warmup = numberFlag("--warmup", 1);
const logOn = !process.argv.includes("--no-log");
const write = !process.argv.includes("--no-write");
/** h2load's version when it generates the load; undefined when the load comes from this process. */
const h2 = process.argv.includes("--in-process-load") ? undefined : h2loadVersion();

interface LevelResult {
  concurrency: number;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system, all threads) of the server per Run, µs; NaN for the in-process baseline. */
  serverCpuUs?: number;
}

/** Runs `call` from `concurrency` loops for warmup + measure seconds; latencies of the measured part only. */
async function drive(concurrency: number, call: () => Promise<void>): Promise<LevelResult> {
  const cap = 2_000_000;
  const lat = new Float64Array(cap);
  let n = 0;
  let recording = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t0 = performance.now();
      await call();
      if (recording && n < cap) lat[n++] = performance.now() - t0;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  recording = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recording = false;
  const elapsed = (performance.now() - t0) / 1000;
  const count = n;
  stop = true;
  await Promise.all(loops);
  const sorted = lat.subarray(0, count).sort();
  const pct = (p: number) => sorted[Math.min(count - 1, Math.floor((p / 100) * count))];
  return { concurrency, count, perSecond: count / elapsed, p50Ms: pct(50), p99Ms: pct(99) };
}

async function startOmaf(root: string, logFile: string | undefined): Promise<{ child: ChildProcess; port: number }> {
  const args = [path.join(root, "dist", "cli", "main.js"), "serve", irisDir, "--host", "127.0.0.1", "--interfaces", "omi", "--omi-port", "0"];
  if (logFile) args.push("--inference-log-file", logFile);
  else args.push("--no-inference-log");
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = /omaf: serving .* on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`omaf serve exited ${code}: ${err}`)));
  });
  return { child, port };
}

const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
/** The server process, killed in the end whatever happened. */
let server: ChildProcess | undefined;

async function benchOmaf(root: string, logFile: string | undefined): Promise<LevelResult[]> {
  const { child, port } = await startOmaf(root, logFile);
  server = child;
  const service = loadOmiPackage().ModzyModel as unknown as grpc.ServiceDefinition;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.enable_channelz": 0 });
  // The load generator encodes its one request once (as h2load, wrk or ghz send the same bytes); every answer is decoded.
  const requestBytes = service.Run.requestSerialize({ inputs: [{ input: { input: Buffer.from(JSON.stringify([ROW])) } }] });
  const decode = service.Run.responseDeserialize as (b: Buffer) => RunResponse;
  const checkAnswer = (res: RunResponse | undefined) => {
    if (!res?.outputs[0]?.success) throw new Error(res?.outputs[0]?.output.error?.toString() ?? "no output");
  };
  const run = () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest<Buffer, RunResponse>(
        "/ModzyModel/Run",
        (b) => b,
        decode,
        requestBytes,
        (err, res) => {
          if (err) return reject(err);
          try {
            checkAnswer(res);
            resolve();
          } catch (e) {
            reject(e);
          }
        },
      ),
    );
  await run(); // a real gRPC client checks the answer once before timing
  const results: LevelResult[] = [];
  if (h2) {
    // h2load sends the same bytes; each run is checked by the bytes of its answers (every answer is identical).
    const body = grpcFrame(requestBytes);
    const answerBytes = await checkGrpcAnswer(`http://127.0.0.1:${port}`, "/ModzyModel/Run", body, GRPC_HEADERS, (m) => checkAnswer(decode(m)));
    const url = `http://127.0.0.1:${port}/ModzyModel/Run`;
    for (const c of LEVELS) {
      await h2load({ url, h1: false, concurrency: c, seconds: warmup, body, headers: GRPC_HEADERS });
      const cpu0 = processCpuSeconds(child.pid);
      const r = await h2load({ url, h1: false, concurrency: c, seconds, body, headers: GRPC_HEADERS });
      const cpu = processCpuSeconds(child.pid) - cpu0;
      checkGrpcBytes(url, r, answerBytes, c);
      results.push({ concurrency: c, count: r.count, perSecond: r.perSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, serverCpuUs: (cpu * 1e6) / r.count });
    }
  } else {
    for (const c of LEVELS) {
      const cpu0 = processCpuSeconds(child.pid);
      const r = await drive(c, run);
      // (includes the warm-up second: drive runs warm-up and measurement back to back)
      results.push({ ...r, serverCpuUs: ((processCpuSeconds(child.pid) - cpu0) * 1e6) / r.count });
    }
  }
  client.close();
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`omaf serve exited ${code} after SIGTERM`);
  return results;
}

async function benchInProcess(): Promise<{ results: LevelResult[]; version: string }> {
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(path.join(irisDir, "model", "iris.onnx"), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", Float32Array.from(ROW), [1, 4]) };
  const run = async () => {
    await session.run(feeds);
  };
  await run();
  const results: LevelResult[] = [];
  for (const c of LEVELS) results.push(await drive(c, run));
  await session.release();
  const version = JSON.parse(readFileSync(path.join(repo, "node_modules/onnxruntime-node/package.json"), "utf8")).version as string;
  return { results, version };
}

const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

const work = mkdtempSync(path.join(tmpdir(), "omaf-bench-omi-"));
const compiled = compileServer(repo);
try {
  const loadBefore = loadavg()[0];
  const inProcess = await benchInProcess();
  const omaf = await benchOmaf(compiled.root, logOn ? path.join(work, "inference.jsonl") : undefined);

  const loadAfter = loadavg()[0];
  const rows = LEVELS.map((c, i) => {
    const o = omaf[i];
    const b = inProcess.results[i];
    return `| ${c} | ${fmt(o.perSecond)} | ${fmt(o.p50Ms, 3)} | ${fmt(o.p99Ms, 3)} | ${fmt(b.perSecond)} | ${fmt(b.p50Ms, 3)} | ${fmt(b.p99Ms, 3)} | ${fmt(o.perSecond / b.perSecond, 2)}× |`;
  });
  const c64 = omaf[LEVELS.indexOf(64)];
  const c1 = omaf[LEVELS.indexOf(1)];
  const cpu = cpus();
  const section = [
    "## omi",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/omi.ts\` (${seconds} s per level after ${warmup} s warm-up, one run).`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Node ${process.version}, onnxruntime-node ${inProcess.version}${h2 ? `, ${h2}` : ""}.`,
    `Machine load during the run: 1-minute load average ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after;`,
    "so absolute numbers are noisy; the two columns come from the same run.",
    "",
    `Server: \`omaf serve examples/iris-onnx\` as a child process run as compiled JavaScript (as the published package), inference log ${logOn ? "on (to a file)" : "off"}.`,
    ...(h2
      ? [
          "Client: h2load (C, one thread, its own process) on one HTTP/2 connection with `concurrency` streams, as one gRPC channel; each",
          "Run is one InputItem holding `[[5.1, 3.5, 1.4, 0.2]]` as JSON, encoded once. grpc-js checks an answer before the runs, and",
          "every run checks that each answer carried the full RunResponse (a gRPC error answers HTTP 200 with no message).",
        ]
      : [
          "Client (h2load not installed, `apt-get install -y nghttp2-client`): one grpc-js channel in the benchmark process, which then",
          "competes with the server for the cores; each Run is one InputItem holding `[[5.1, 3.5, 1.4, 0.2]]` as JSON (the request is",
          "encoded once, every answer is decoded and checked).",
        ]),
    "Baseline: the same .onnx file run in-process with onnxruntime-node (`session.run` on a prebuilt [1,4] float32 tensor,",
    "same session options): no gRPC, no JSON, no second process.",
    "",
    "| concurrency | omaf OMI Run/s | p50 ms | p99 ms | in-process run/s | p50 ms | p99 ms | omaf ÷ in-process |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Server CPU per Run (user + system, all threads, from /proc): ${omaf.map((o) => `${fmt(o.serverCpuUs ?? NaN)} µs at ${o.concurrency}`).join(", ")}.`,
    "",
    `Targets: concurrency 64 ≥ 5,000 Run/s — ${c64.perSecond >= 5000 ? "met" : "not met"} (${fmt(c64.perSecond)}); ` +
      `p50 at concurrency 1 under 1 ms — ${c1.p50Ms < 1 ? "met" : "not met"} (${fmt(c1.p50Ms, 3)} ms).`,
    "",
  ].join("\n");
  if (!h2) process.stdout.write("\nh2load not found: the load came from this process (install nghttp2-client for a fairer measurement)\n");
  process.stdout.write(`\n${section}\n`);

  if (write) {
    writeResultsSection("omi", section);
    process.stdout.write(`\nwrote the ## omi section of ${path.relative(repo, RESULTS_FILE)}\n`);
  }
} finally {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
  compiled.remove();
}
