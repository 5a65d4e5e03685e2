// Soak of `omaf serve examples/iris-onnx`: 200,000 OIP REST JSON requests at concurrency 32, then 100,000 OIP gRPC
// ModelInfer calls at concurrency 32, on one server process (compiled JavaScript, as the published CLI runs; the
// inference log on, to a file, as a deployment writes it). The server's resident memory (VmRSS from /proc) is read
// every 500 ms and at the start, middle (h2load's 50 % progress line) and end of each phase; what it is measured
// against is itself: the end of a phase against its middle. Load from h2load in its own process (runs of a fixed
// number of requests, so none is cut off). Writes the `## soak` section of bench/RESULTS.md unless --no-write.
//   node --import tsx bench/soak.ts [--rest-requests 200000] [--grpc-requests 100000] [--concurrency 32] [--no-write]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import { loadOipPackage, OIP_SERVICE_NAME, type GrpcModelInferResponse } from "../src/tensor/grpc-contents.ts";
import { checkGrpcAnswer, checkGrpcBytes, compileServer, grpcFrame, h2loadVersion, processCpuSeconds } from "./load-tools.ts";
import { h2loadCount, killProcess, rssBytes, startOmaf, stopProcess, waitReady, type OmafPorts, type Started } from "./harness.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const irisDir = path.join(repo, "examples", "iris-onnx");
const ROW = [5.1, 3.5, 1.4, 0.2];

const restRequests = numberFlag("--rest-requests", 200_000);
const grpcRequests = numberFlag("--grpc-requests", 100_000);
const concurrency = numberFlag("--concurrency", 32);
/** Requests of each protocol before the soak starts (cold code paths, pools, caches). */
const warmupRequests = numberFlag("--warmup-requests", 5_000);
const write = !process.argv.includes("--no-write");
/** Most growth of resident memory allowed from the middle of a phase to its end. */
const MAX_GROWTH = 0.1;

const h2 = h2loadVersion();
if (!h2) throw new Error("bench/soak.ts needs h2load: apt-get install -y nghttp2-client");

const JSON_HEADERS = { "content-type": "application/json" };
const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
const oipDef = loadOipPackage()[OIP_SERVICE_NAME] as grpc.ServiceDefinition;

interface Sample {
  ms: number;
  rss: number;
}

interface Phase {
  label: string;
  requests: number;
  /** Requests not answered (200 and, for gRPC, a full message). */
  failed: number;
  perSecond: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUs: number;
  rssStart: number;
  rssMiddle: number;
  rssEnd: number;
  rssMax: number;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");
const mib = (bytes: number) => fmt(bytes / 1024 ** 2, 1);

const work = mkdtempSync(path.join(tmpdir(), "omaf-bench-soak-"));
const compiled = compileServer(repo);
let server: (Started & { ports: OmafPorts }) | undefined;
try {
  const logFile = path.join(work, "inference.jsonl");
  const loadBefore = loadavg();
  server = await startOmaf(compiled.root, irisDir, [
    "--interfaces",
    "oip-rest,oip-grpc",
    "--http-port",
    "0",
    "--oip-grpc-port",
    "0",
    "--inference-log-file",
    logFile,
  ]);
  const pid = server.child.pid!;
  const http = `http://127.0.0.1:${server.ports["oip-rest"]}`;
  const grpcAuthority = `http://127.0.0.1:${server.ports["oip-grpc"]}`;
  await waitReady(`${http}/v2/models/iris-onnx/ready`, server);
  const rssIdle = rssBytes(pid);

  const rest = {
    url: `${http}/v2/models/iris-onnx/infer`,
    h1: true,
    body: Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] })),
    headers: JSON_HEADERS,
  };
  const raw = Buffer.alloc(16);
  ROW.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  const grpcRun = {
    url: `${grpcAuthority}${oipDef.ModelInfer.path}`,
    h1: false,
    body: grpcFrame(
      oipDef.ModelInfer.requestSerialize({ model_name: "iris-onnx", inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }], raw_input_contents: [raw] }),
    ),
    headers: GRPC_HEADERS,
  };

  // One answer of each, checked, before any load.
  const check = await fetch(rest.url, { method: "POST", body: rest.body, headers: JSON_HEADERS });
  const checkText = await check.text();
  if (check.status !== 200 || !checkText.includes('"label"')) throw new Error(`REST answered ${check.status}: ${checkText}`);
  const decode = oipDef.ModelInfer.responseDeserialize as (b: Buffer) => GrpcModelInferResponse;
  const answerBytes = await checkGrpcAnswer(grpcAuthority, oipDef.ModelInfer.path, grpcRun.body, GRPC_HEADERS, (m) => {
    if (decode(m).outputs.length !== 2) throw new Error("expected 2 outputs");
  });
  let sent = 2;

  const samples: Sample[] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => samples.push({ ms: performance.now() - t0, rss: rssBytes(pid) }), 500);

  for (const run of [rest, grpcRun]) {
    const r = await h2loadCount({ ...run, concurrency, requests: warmupRequests });
    if (!run.h1) checkGrpcBytes("warm-up gRPC", r, answerBytes, 0);
    sent += warmupRequests;
  }

  const phases: Phase[] = [];
  for (const [label, run, requests] of [
    ["OIP REST JSON", rest, restRequests],
    ["OIP gRPC", grpcRun, grpcRequests],
  ] as const) {
    const rssStart = rssBytes(pid);
    const from = samples.length;
    let rssMiddle = NaN;
    const cpu0 = processCpuSeconds(pid);
    // A soak counts failures rather than stopping at the first: they are part of what it reports.
    const r = await h2loadCount({
      ...run,
      concurrency,
      requests,
      allowFailures: true,
      onProgress: (pct) => {
        if (pct === 50) rssMiddle = rssBytes(pid);
      },
    });
    const cpu = processCpuSeconds(pid) - cpu0;
    const rssEnd = rssBytes(pid);
    if (!run.h1) checkGrpcBytes(`${label} soak`, r, answerBytes, 0);
    sent += r.count;
    const during = samples.slice(from).map((s) => s.rss);
    phases.push({
      label,
      requests,
      failed: r.failed,
      perSecond: r.perSecond,
      seconds: r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      serverCpuUs: (cpu * 1e6) / r.count,
      rssStart,
      rssMiddle,
      rssEnd,
      rssMax: Math.max(rssStart, rssEnd, ...during),
    });
    process.stderr.write(
      `${label}: ${fmt(requests)} requests (${fmt(r.failed)} failed), ${fmt(r.perSecond)} req/s, RSS ${mib(rssStart)} → ${mib(rssMiddle)} → ${mib(rssEnd)} MiB\n`,
    );
  }
  clearInterval(sampler);
  const rssAfter = rssBytes(pid);
  await stopProcess(server.child);
  const exitCode = server.child.exitCode;
  const loadAfter = loadavg();
  // One inference-log line per answered request, everything written by the time the server exited (the file also
  // holds the server's own events: listening, model loaded, stopping).
  const logLines = readFileSync(logFile, "utf8")
    .split("\n")
    .filter((l) => l.includes('"msg":"inference"')).length;

  const ortVersion = (JSON.parse(readFileSync(path.join(repo, "node_modules/onnxruntime-node/package.json"), "utf8")) as { version: string }).version;
  const omafVersion = spawnSync(process.execPath, [path.join(compiled.root, "dist", "cli", "main.js"), "--version"], { encoding: "utf8" }).stdout.trim();
  const rows = phases.map((p) => {
    const growth = p.rssEnd / p.rssMiddle - 1;
    return (
      `| ${p.label} | ${fmt(p.requests)} | ${fmt(p.failed)} | ${concurrency} | ${fmt(p.perSecond)} | ${fmt(p.seconds, 1)} | ${fmt(p.p50Ms, 2)} | ${fmt(p.p99Ms, 2)} | ${fmt(p.serverCpuUs)} | ` +
      `${mib(p.rssStart)} | ${mib(p.rssMiddle)} | ${mib(p.rssEnd)} | ${mib(p.rssMax)} | ${fmt(p.rssEnd / p.rssMiddle, 3)}× (${growth >= 0 ? "+" : ""}${fmt(growth * 100, 1)} %) |`
    );
  });
  const verdicts = phases.map((p) => {
    const growth = p.rssEnd / p.rssMiddle - 1;
    return `${p.label} ${growth <= MAX_GROWTH ? "met" : "not met"} (${growth >= 0 ? "+" : ""}${fmt(growth * 100, 1)} %)`;
  });
  const failures = phases.filter((p) => p.failed > 0).map((p) => `${p.label}: ${fmt(p.failed)} of ${fmt(p.requests)}`);
  const cpu = cpus();
  const section = [
    "## soak",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/soak.ts --rest-requests ${restRequests} --grpc-requests ${grpcRequests} --concurrency ${concurrency}\`.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Node ${process.version}, omaf ${omafVersion}, onnxruntime-node ${ortVersion}, ${h2}.`,
    `Machine load: load average (1, 5, 15 min) ${loadBefore.map((x) => fmt(x, 2)).join(", ")} before, ${loadAfter.map((x) => fmt(x, 2)).join(", ")} after.`,
    "",
    "Server: one `omaf serve examples/iris-onnx --interfaces oip-rest,oip-grpc` process, compiled JavaScript as the published CLI",
    "runs, inference log on (to a file). Each request is one row `[5.1, 3.5, 1.4, 0.2]`: OIP REST JSON FP32 [1, 4]; OIP gRPC",
    "ModelInfer with raw_input_contents (as tritonclient.grpc). Load: h2load in its own process; REST one HTTP/1.1 connection per",
    "concurrent request, gRPC one HTTP/2 connection with `concurrency` streams; each phase is a fixed number of requests, every",
    `one answered 200 (and every gRPC answer a full message). Before the soak: ${fmt(warmupRequests)} requests of each protocol.`,
    "RSS: VmRSS of the server process from /proc at the start of a phase, when h2load reports 50 % of it done (middle), at its",
    "end, and every 500 ms (max).",
    "",
    "| phase | requests | failed | concurrency | req/s | seconds | p50 ms | p99 ms | server CPU µs/req | RSS start MiB | middle | end | max | end ÷ middle |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `RSS idle after start ${mib(rssIdle)} MiB, after the soak ${mib(rssAfter)} MiB. The server exited ${exitCode} on SIGTERM; its inference log`,
    `holds ${fmt(logLines)} inference lines for ${fmt(sent)} requests answered.`,
    "",
    `Target: no RSS growth beyond ${fmt(MAX_GROWTH * 100)} % between the middle and the end of the soak — ${verdicts.join("; ")}.`,
    `Every request answered: ${failures.length === 0 ? "yes" : `no — ${failures.join("; ")} failed`}.`,
    "",
  ].join("\n");
  process.stdout.write(`\n${section}\n`);
  if (write) {
    writeResultsSection("soak", section);
    process.stdout.write(`\nwrote the ## soak section of ${path.relative(repo, RESULTS_FILE)}\n`);
  }
} finally {
  if (server) killProcess(server.child);
  rmSync(work, { recursive: true, force: true });
  compiled.remove();
}
