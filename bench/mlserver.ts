// omaf against MLServer on the same scikit-learn iris model file, over OIP v2 REST (JSON) and OIP v2 gRPC, at
// concurrency 1, 16 and 64, with the same load generator (h2load, in its own process) for both; plus the iris ONNX
// example on omaf against the same MLServer model (a user choosing a server, not a runtime).
//
// bench/mlserver/setup.sh (run first unless --skip-setup) makes a venv with the pinned mlserver and mlserver-sklearn,
// trains the model once in it and writes the one model.joblib into MLServer's model folder and into an Odahu-style
// GPPI artifact for omaf. omaf serves that artifact with OMAF_PYTHON = the venv's interpreter, so both servers import
// the same scikit-learn and numpy. MLServer: its sklearn runtime, 2 parallel workers, metrics off, as in its published
// benchmark (benchmarking/ in its repository), in three adaptive-batching settings: that benchmark's (300 rows /
// 0.3 s), a window fitted to these loads (64 / 5 ms) and none, since the published window holds every batch for
// 0.3 s at concurrency up to 64. omaf: compiled JavaScript (as the published CLI), 2 python workers, batching with
// the published settings when this build has --max-batch-size / --max-batch-time. All servers run for the whole
// benchmark and take turns at each level. Every server's answer is checked (same predicted class) before timing.
// Writes the `## mlserver` section of bench/RESULTS.md unless --no-write.
//   node --import tsx bench/mlserver.ts [--seconds 10] [--warmup 2] [--rounds 1] [--skip-setup] [--no-write]
//     [--mlserver published,fitted,off]
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import { loadOipPackage, OIP_SERVICE_NAME, type GrpcInferOutputTensor, type GrpcModelInferResponse } from "../src/tensor/grpc-contents.ts";
import { checkGrpcAnswer, checkGrpcBytes, compileServer, grpcFrame, h2loadVersion } from "./load-tools.ts";
import { freePort, h2loadCount, killProcess, serveOptions, startOmaf, startProcess, stopProcess, treeCpuSeconds, waitReady, type Started } from "./harness.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const work = path.join(here, ".work");
const venvPython = path.join(work, "mlserver-venv", "bin", "python");
const mlserverRepo = path.join(work, "mlserver", "repo");
const omafArtifact = path.join(work, "mlserver", "omaf-iris");
const irisOnnx = path.join(repo, "examples", "iris-onnx");
const LEVELS = [1, 16, 64];
const ROW = [5.1, 3.5, 1.4, 0.2];
/** What the iris models answer for ROW: class 0, setosa. */
const EXPECTED_CLASS = 0;

const seconds = numberFlag("--seconds", 10);
const warmup = numberFlag("--warmup", 2);
const rounds = numberFlag("--rounds", 1);
const write = !process.argv.includes("--no-write");
const skipSetup = process.argv.includes("--skip-setup");
const pick = process.argv.indexOf("--mlserver");
/** MLServer's batching settings to run: the published benchmark's, one fitted to these loads, none. */
const MLSERVER_CONFIGS = [
  { key: "published", maxBatchSize: 300, maxBatchTime: 0.3, label: "MLServer, batching 300 / 0.3 s (published)" },
  { key: "fitted", maxBatchSize: 64, maxBatchTime: 0.005, label: "MLServer, batching 64 / 5 ms" },
  { key: "off", maxBatchSize: 0, maxBatchTime: 0, label: "MLServer, no batching" },
].filter((c) => pick < 0 || (process.argv[pick + 1] ?? "").split(",").includes(c.key));
/** omaf's batching when the build has the flags: the same numbers as MLServer's published benchmark. */
const OMAF_BATCH = { maxBatchSize: 300, maxBatchTimeMs: 300 };

type Protocol = "rest" | "grpc";
const PROTOCOLS: Protocol[] = ["rest", "grpc"];

interface LevelResult {
  concurrency: number;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** User + system CPU of the server's processes (all of them: workers too) per answered request, µs. */
  serverCpuUs: number;
  clientCpuUs: number;
}

/** One server under test, and how to load it over each protocol. */
interface Target {
  key: string;
  label: string;
  kind: "mlserver" | "omaf-sklearn" | "omaf-onnx";
  server: Started;
  rest: { url: string; body: Buffer };
  grpc: { authority: string; path: string; body: Buffer; answerBytes: number };
}

const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
const JSON_HEADERS = { "content-type": "application/json" };
const oipDef = loadOipPackage()[OIP_SERVICE_NAME] as grpc.ServiceDefinition;
const decodeInfer = oipDef.ModelInfer.responseDeserialize as (b: Buffer) => GrpcModelInferResponse;

/** The OIP REST JSON body every server gets (MLServer's benchmark request, with the example row): one FP32 [1, 4]. */
const restBody = (inputName: string) => Buffer.from(JSON.stringify({ inputs: [{ name: inputName, shape: [1, 4], datatype: "FP32", data: ROW }] }));
/** The ModelInfer request, with typed contents as MLServer's benchmark sends it (fp32_contents). */
const grpcBody = (model: string, inputName: string) =>
  grpcFrame(
    oipDef.ModelInfer.requestSerialize({ model_name: model, inputs: [{ name: inputName, datatype: "FP32", shape: [1, 4], contents: { fp32_contents: ROW } }] }),
  );

/** The class an answer names: the first value of its `predict` (MLServer), `prediction` (omaf GPPI) or `label` (ONNX) output. */
const CLASS_OUTPUTS = ["predict", "prediction", "label"];

function classOfRest(text: string): number {
  const body = JSON.parse(text) as { outputs?: { name: string; data: unknown[] }[] };
  const out = body.outputs?.find((o) => CLASS_OUTPUTS.includes(o.name));
  if (!out) throw new Error(`no class output in ${text}`);
  return Number(out.data.flat(4)[0]);
}

function classOfGrpc(res: GrpcModelInferResponse): number {
  const i = res.outputs.findIndex((o) => CLASS_OUTPUTS.includes(o.name));
  if (i < 0) throw new Error(`no class output in ${JSON.stringify(res.outputs)}`);
  const out: GrpcInferOutputTensor = res.outputs[i];
  const raw = res.raw_output_contents?.[i];
  if (raw && raw.length > 0) {
    const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (out.datatype === "INT64") return Number(b.readBigInt64LE(0));
    if (out.datatype === "FP64") return b.readDoubleLE(0);
    if (out.datatype === "INT32") return b.readInt32LE(0);
    if (out.datatype === "FP32") return b.readFloatLE(0);
    throw new Error(`class output of datatype ${out.datatype}`);
  }
  const c = out.contents ?? {};
  const v = c.int64_contents?.[0] ?? c.fp64_contents?.[0] ?? c.int_contents?.[0] ?? c.fp32_contents?.[0];
  if (v === undefined) throw new Error(`no class value in ${JSON.stringify(out)}`);
  return Number(v);
}

/** Fails unless the target answers ROW with EXPECTED_CLASS over both protocols; records the gRPC answer's size. */
async function checkTarget(t: Target): Promise<void> {
  const res = await fetch(t.rest.url, { method: "POST", body: t.rest.body, headers: JSON_HEADERS });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${t.label}: REST answered ${res.status}: ${text}`);
  const restClass = classOfRest(text);
  let grpcClass = NaN;
  t.grpc.answerBytes = await checkGrpcAnswer(t.grpc.authority, t.grpc.path, t.grpc.body, GRPC_HEADERS, (m) => (grpcClass = classOfGrpc(decodeInfer(m))));
  if (restClass !== EXPECTED_CLASS || grpcClass !== EXPECTED_CLASS) {
    throw new Error(`${t.label}: predicted class ${restClass} (REST), ${grpcClass} (gRPC); expected ${EXPECTED_CLASS}`);
  }
}

/** The last req/s seen per target and protocol, to size the next run (runs are counts of requests, not durations). */
const lastRate = new Map<string, number>();
const requestsFor = (rate: number, s: number, concurrency: number) => Math.min(5_000_000, Math.max(4 * concurrency, Math.round(rate * s)));

function loadRun(t: Target, protocol: Protocol) {
  const key = `${t.key}/${protocol}`;
  return protocol === "rest"
    ? { key, url: t.rest.url, h1: true, body: t.rest.body, headers: JSON_HEADERS }
    : { key, url: `${t.grpc.authority}${t.grpc.path}`, h1: false, body: t.grpc.body, headers: GRPC_HEADERS };
}

/** An unmeasured run of about `warmup` seconds; its rate sizes the measured run that follows. */
async function warmUp(t: Target, protocol: Protocol, concurrency: number): Promise<void> {
  const run = loadRun(t, protocol);
  const r = await h2loadCount({ ...run, concurrency, requests: requestsFor(lastRate.get(run.key) ?? 100, warmup, concurrency) });
  lastRate.set(run.key, r.perSecond);
}

/**
 * One measured level: an unmeasured warm-up run of about `warmup` seconds, then a run of about `seconds` (its request
 * count from the warm-up's rate) with the server's CPU read around it. Runs are counts (h2load -n) so that none ends
 * with requests in flight: MLServer 1.7.1's adaptive batcher loses the rest of a batch when one of its requests is
 * cancelled (a KeyError in AdaptiveBatcher._predict_callback), and every later request then waits forever.
 */
async function measure(t: Target, protocol: Protocol, concurrency: number): Promise<LevelResult> {
  const run = loadRun(t, protocol);
  await warmUp(t, protocol, concurrency);
  const cpu0 = treeCpuSeconds(t.server.child.pid);
  const r = await h2loadCount({ ...run, concurrency, requests: requestsFor(lastRate.get(run.key)!, seconds, concurrency) });
  const cpu = treeCpuSeconds(t.server.child.pid) - cpu0;
  lastRate.set(run.key, r.perSecond);
  if (protocol === "grpc") checkGrpcBytes(`${t.label} gRPC`, r, t.grpc.answerBytes, 0);
  return {
    concurrency,
    count: r.count,
    perSecond: r.perSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUs: (cpu * 1e6) / r.count,
    clientCpuUs: (r.clientCpuS * 1e6) / r.count,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

const runDir = mkdtempSync(path.join(tmpdir(), "omaf-bench-mlserver-"));

async function startMlserver(config: (typeof MLSERVER_CONFIGS)[number]): Promise<Target> {
  // Each instance gets its own copy of the model repository (its batching settings) and working folder (.metrics).
  const dir = path.join(runDir, `mlserver-${config.key}`);
  cpSync(mlserverRepo, dir, { recursive: true });
  const settingsFile = path.join(dir, "iris", "model-settings.json");
  const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, unknown>;
  if (config.maxBatchSize > 0) Object.assign(settings, { max_batch_size: config.maxBatchSize, max_batch_time: config.maxBatchTime });
  else {
    delete settings.max_batch_size;
    delete settings.max_batch_time;
  }
  writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const [httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    MLSERVER_HTTP_PORT: String(httpPort),
    MLSERVER_GRPC_PORT: String(grpcPort),
    MLSERVER_METRICS_PORT: String(metricsPort),
  };
  const server = startProcess(path.join(path.dirname(venvPython), "mlserver"), ["start", dir], { cwd: dir, env });
  children.push(server);
  await waitReady(`http://127.0.0.1:${httpPort}/v2/health/ready`, server);
  await waitReady(`http://127.0.0.1:${httpPort}/v2/models/iris/ready`, server);
  return {
    key: `mlserver-${config.key}`,
    label: config.label,
    kind: "mlserver",
    server,
    rest: { url: `http://127.0.0.1:${httpPort}/v2/models/iris/infer`, body: restBody("input-0") },
    grpc: { authority: `http://127.0.0.1:${grpcPort}`, path: oipDef.ModelInfer.path, body: grpcBody("iris", "input-0"), answerBytes: 0 },
  };
}

async function startOmafTarget(root: string, kind: "omaf-sklearn" | "omaf-onnx", batchArgs: string[]): Promise<Target> {
  const sklearn = kind === "omaf-sklearn";
  const env = { ...process.env, OMAF_PYTHON: venvPython, OMAF_PYTHON_WORKERS: "2", OMAF_PYTHON_MATRIX: "numpy" };
  const args = [
    "--interfaces",
    "oip-rest,oip-grpc",
    "--http-port",
    "0",
    "--oip-grpc-port",
    "0",
    "--no-inference-log",
    "--cache-dir",
    path.join(runDir, "cache"),
    ...batchArgs,
  ];
  const server = await startOmaf(root, sklearn ? omafArtifact : irisOnnx, args, env);
  children.push(server);
  const http = `http://127.0.0.1:${server.ports["oip-rest"]}`;
  const model = sklearn ? "iris" : "iris-onnx";
  await waitReady(`${http}/v2/models/${model}/ready`, server);
  const input = sklearn ? "input-0" : "input";
  return {
    key: kind,
    label: sklearn ? "omaf, GPPI artifact, 2 python workers" : "omaf, iris ONNX example",
    kind,
    server,
    rest: { url: `${http}/v2/models/${model}/infer`, body: restBody(input) },
    grpc: { authority: `http://127.0.0.1:${server.ports["oip-grpc"]}`, path: oipDef.ModelInfer.path, body: grpcBody(model, input), answerBytes: 0 },
  };
}

// ---------------------------------------------------------------------------------------------------------------

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");
const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)];

function versions(): Record<string, string> {
  const r = spawnSync(
    venvPython,
    [
      "-c",
      "import json, sys; from importlib import metadata as m; " +
        "print(json.dumps({'python': sys.version.split()[0], **{n: m.version(n) for n in ['mlserver', 'mlserver-sklearn', 'scikit-learn', 'numpy', 'joblib', 'uvloop']}}))",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`cannot read the venv's versions: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Record<string, string>;
  out["onnxruntime-node"] = (JSON.parse(readFileSync(path.join(repo, "node_modules/onnxruntime-node/package.json"), "utf8")) as { version: string }).version;
  return out;
}

const children: Started[] = [];
const h2 = h2loadVersion();
if (!h2) throw new Error("bench/mlserver.ts needs h2load (the same load generator for every server): apt-get install -y nghttp2-client");
if (!skipSetup) {
  const r = spawnSync("sh", [path.join(here, "mlserver", "setup.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/mlserver/setup.sh exited ${r.status}`);
}
if (!existsSync(venvPython) || !existsSync(path.join(omafArtifact, "odahuflow_model", "model.joblib"))) {
  throw new Error("bench/.work/mlserver is not set up: run sh bench/mlserver/setup.sh (or drop --skip-setup)");
}
const compiled = compileServer(repo);
try {
  const help = spawnSync(process.execPath, [path.join(compiled.root, "dist", "cli", "main.js"), "serve", "--help"], { encoding: "utf8" }).stdout;
  const options = serveOptions(help);
  // --max-batch-time takes milliseconds (`<ms>`) or, if a build says so, seconds.
  const timeInSeconds = /sec/i.test(options.get("--max-batch-time") ?? "");
  const batchArgs =
    options.has("--max-batch-size") && options.has("--max-batch-time")
      ? [
          "--max-batch-size",
          String(OMAF_BATCH.maxBatchSize),
          "--max-batch-time",
          String(timeInSeconds ? OMAF_BATCH.maxBatchTimeMs / 1000 : OMAF_BATCH.maxBatchTimeMs),
        ]
      : [];
  const loadBefore = loadavg();
  const v = versions();

  const targets: Target[] = [];
  for (const config of MLSERVER_CONFIGS) targets.push(await startMlserver(config));
  targets.push(await startOmafTarget(compiled.root, "omaf-sklearn", batchArgs));
  targets.push(await startOmafTarget(compiled.root, "omaf-onnx", batchArgs));
  for (const t of targets) {
    await checkTarget(t);
    // Cold code paths, unmeasured.
    for (const p of PROTOCOLS) await warmUp(t, p, 16);
  }

  const results = new Map<string, LevelResult[][]>(); // `${target}/${protocol}` → per level → rounds
  for (let r = 0; r < rounds; r++) {
    for (const [li, c] of LEVELS.entries()) {
      for (const p of PROTOCOLS) {
        for (const t of targets) {
          const res = await measure(t, p, c);
          const key = `${t.key}/${p}`;
          const perLevel = results.get(key) ?? LEVELS.map((): LevelResult[] => []);
          results.set(key, perLevel);
          perLevel[li].push(res);
          process.stderr.write(`round ${r + 1}/${rounds}, ${t.label}, ${p}, concurrency ${c}: ${fmt(res.perSecond)} req/s, p99 ${fmt(res.p99Ms, 2)} ms\n`);
        }
      }
    }
  }
  for (const s of children) await stopProcess(s.child);
  const loadAfter = loadavg();

  const get = (key: string, p: Protocol, li: number) => median(results.get(`${key}/${p}`)![li], (x) => x.perSecond);
  const mlsTargets = targets.filter((t) => t.kind === "mlserver");
  const published = mlsTargets.find((t) => t.key === "mlserver-published");
  /** MLServer's best setting at that protocol and level (most req/s). */
  const best = (p: Protocol, li: number) => mlsTargets.map((t) => ({ t, r: get(t.key, p, li) })).reduce((a, b) => (b.r.perSecond > a.r.perSecond ? b : a));

  const rows: string[] = [];
  for (const p of PROTOCOLS) {
    for (const t of targets) {
      LEVELS.forEach((c, li) => {
        const r = get(t.key, p, li);
        const vsPublished = published ? `${fmt(r.perSecond / get(published.key, p, li).perSecond, 2)}×` : "–";
        const b = best(p, li);
        const vsBest = `${fmt(r.perSecond / b.r.perSecond, 2)}×`;
        rows.push(
          `| ${t.label} | ${p === "rest" ? "REST JSON" : "gRPC"} | ${c} | ${fmt(r.perSecond)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.serverCpuUs)} | ${vsPublished} | ${vsBest} |`,
        );
      });
    }
  }

  const at64 = LEVELS.indexOf(64);
  const verdict = (key: string, factor: number, withP99: boolean, against: "best" | "published") =>
    PROTOCOLS.map((p) => {
      const o = get(key, p, at64);
      const m = against === "best" ? best(p, at64) : { t: published!, r: get(published!.key, p, at64) };
      const ratio = o.perSecond / m.r.perSecond;
      const p99ok = !withP99 || o.p99Ms <= m.r.p99Ms;
      const met = ratio >= factor && p99ok;
      const p99Text = withP99 ? `, p99 ${fmt(o.p99Ms, 1)} vs ${fmt(m.r.p99Ms, 1)} ms` : "";
      return `${p === "rest" ? "REST" : "gRPC"} ${met ? "met" : "not met"} (${fmt(ratio, 2)}× ${against === "best" ? `${m.t.label}` : "published"}${p99Text})`;
    }).join("; ");
  const targetLines = [
    `- omaf ≥ 3× MLServer's req/s on the same sklearn model at concurrency 64, p99 no worse — against MLServer's best setting: ${verdict("omaf-sklearn", 3, true, "best")}.`,
    ...(published ? [`  Against the published setting alone: ${verdict("omaf-sklearn", 3, true, "published")}.`] : []),
    `- The ONNX example ≥ 10× MLServer's sklearn req/s at concurrency 64 — against MLServer's best setting: ${verdict("omaf-onnx", 10, false, "best")}.`,
    ...(published ? [`  Against the published setting alone: ${verdict("omaf-onnx", 10, false, "published")}.`] : []),
  ];
  const cpu = cpus();
  const section = [
    "## mlserver",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/mlserver.ts --seconds ${seconds} --warmup ${warmup} --rounds ${rounds}\`` +
      `${rounds > 1 ? " (the round with the median req/s shown per row)" : " (one round)"}.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Node ${process.version}, ${h2}; ` +
      `venv: Python ${v.python}, mlserver ${v.mlserver}, mlserver-sklearn ${v["mlserver-sklearn"]}, scikit-learn ${v["scikit-learn"]}, numpy ${v.numpy}, ` +
      `joblib ${v.joblib}, uvloop ${v.uvloop}; onnxruntime-node ${v["onnxruntime-node"]}.`,
    `Machine load: load average (1, 5, 15 min) ${loadBefore.map((x) => fmt(x, 2)).join(", ")} before, ${loadAfter.map((x) => fmt(x, 2)).join(", ")} after; ` +
      "other work on the machine skews single numbers, and every row comes from the same run.",
    "",
    "The model: one scikit-learn LogisticRegression on iris, trained once in the benchmark's venv (bench/mlserver/train.py) and written",
    "with joblib; the same model.joblib is served by both servers. Each request is one row `[5.1, 3.5, 1.4, 0.2]` as FP32 [1, 4]",
    '(MLServer\'s benchmark request): REST `{"inputs": [{"name": "input-0", ...}]}`, gRPC ModelInfer with `fp32_contents`; every',
    "server answers class 0, checked over both protocols before timing.",
    "- MLServer: `mlserver start` on bench/mlserver's model-settings.json (implementation `mlserver_sklearn.SKLearnModel`, content",
    "  type np) and settings.json (2 parallel workers, metrics off, debug off), as in MLServer's benchmarking/ folder, which",
    "  publishes ~1,300 req/s REST and ~2,259 gRPC with adaptive batching 300 / 0.3 s at 300 virtual users. At concurrency ≤ 64",
    "  that window holds every batch for the whole 0.3 s (at most 64 / 0.3 s ≈ 213 req/s), so it also runs with a window fitted",
    "  to these loads (64 rows / 5 ms) and without batching; the `÷ best MLServer` column compares with whichever of the three",
    "  did best at that protocol and level.",
    `- omaf GPPI: \`omaf serve\` on an Odahu-style artifact (bench/mlserver/omaf-artifact: entrypoint.py loads the model.joblib and`,
    "  answers `predict()`), `--interfaces oip-rest,oip-grpc --no-inference-log`, with `OMAF_PYTHON` = the venv's python,",
    `  \`OMAF_PYTHON_WORKERS=2\`, \`OMAF_PYTHON_MATRIX=numpy\`, ${batchArgs.length > 0 ? `\`${batchArgs.join(" ")}\` (MLServer's published batching) and the manifest's \`serving.batch_rows: true\`` : "no batching (this build has no --max-batch-size / --max-batch-time)"};`,
    "  compiled JavaScript as the published CLI runs.",
    "- omaf ONNX: `omaf serve examples/iris-onnx` (the same iris task as an ONNX graph, run by onnxruntime in the server",
    "  process), the same flags.",
    `- Load: h2load (C, one thread, its own process). REST: one connection per concurrent request, no pipelining (HTTP/1.1).`,
    "  gRPC: one HTTP/2 connection with `concurrency` streams, as one gRPC channel; every gRPC run checks that each answer carried",
    `  a full message. Per level about ${warmup} s of warm-up then about ${seconds} s measured, as request counts (h2load -n) sized from`,
    "  the warm-up's rate, so no run ends with requests in flight: MLServer 1.7.1's adaptive batcher strands the rest of a batch",
    "  when one of its requests is cancelled (KeyError in AdaptiveBatcher._predict_callback) and then stops answering, which",
    "  duration-bound runs (h2load -D) trigger at every stop. The servers take turns at each level.",
    "  Server CPU: user + system time of the server's whole process tree (MLServer's main process and workers, omaf's Node",
    "  process and python workers) per answered request.",
    "",
    "| server | protocol | concurrency | req/s | p50 ms | p99 ms | server CPU µs/req | ÷ MLServer published | ÷ best MLServer |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Targets:",
    ...targetLines,
    "",
  ].join("\n");
  process.stdout.write(`\n${section}\n`);
  if (write) {
    writeResultsSection("mlserver", section);
    process.stdout.write(`\nwrote the ## mlserver section of ${path.relative(repo, RESULTS_FILE)}\n`);
  }
} finally {
  for (const s of children) killProcess(s.child);
  rmSync(runDir, { recursive: true, force: true });
  compiled.remove();
}
