// Benchmark of node models in worker threads against the same model in the server's own thread.
//   node --import tsx bench/node-worker.ts [--calls 5000] [--seconds 3] [--rounds 3] [--no-write]
// Measures, in one run, for the examples/node-matrix model and requests of 1, 4 and 1,000 rows:
// - cost per call, sequential: wall time of predictMatrix() (median of --calls calls after a warm-up, best of 3
//   rounds) and CPU time per call of the whole process (all threads);
// - 16 concurrent callers for --seconds: calls per second, p50 latency and CPU time per call;
// each in-process (the model loaded in this thread) and in 1 and 2 worker threads; what a 1,000-row matrix costs to
// cross to a thread and back as cloned arrays against one transferred Float64Array; and the same three modes behind
// `omaf serve` (KServe v1 REST, autocannon with 16 connections from this process, --rounds rounds taking turns).
// Writes the `## node-worker` section of bench/RESULTS.md unless --no-write.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { parse } from "yaml";
import type { OmafManifest } from "../src/manifest/manifest.types.js";
import { createModel } from "../src/runtime/load.js";
import type { MatrixInput, Model } from "../src/runtime/model.js";
import { packRows, unpack, type PackedMatrix } from "../src/runtime/node/protocol.js";
import { numberFlag } from "./flags.js";
import { processCpuSeconds } from "./load-tools.js";
import { RESULTS_FILE, writeResultsSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const EXAMPLE = path.join(repo, "examples", "node-matrix");
const CALLS = numberFlag("--calls", 5000);
const SECONDS = numberFlag("--seconds", 3);
const CONCURRENCY = 16;
const ROUNDS = 3;
const SERVE_ROUNDS = numberFlag("--rounds", 3);
const write = !process.argv.includes("--no-write");

const manifest = parse(readFileSync(path.join(EXAMPLE, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
const quiet = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
const rows = (n: number): MatrixInput => ({ data: Array.from({ length: n }, (_, i) => [i, i + 0.5, -i / 3]) });
const INPUTS: { label: string; input: MatrixInput; calls: number }[] = [
  { label: "1 row", input: rows(1), calls: CALLS },
  { label: "4 rows", input: rows(4), calls: CALLS },
  { label: "1,000 rows", input: rows(1000), calls: Math.max(200, Math.round(CALLS / 10)) },
];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const cpuMicros = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];

interface Sequential {
  p50: number;
  mean: number;
  cpu: number;
}

/** Back-to-back calls; the round with the lowest median wins, since other work on shared CPUs only ever adds time. */
async function sequential(call: () => Promise<unknown>, calls: number): Promise<Sequential> {
  for (let i = 0; i < Math.min(calls, 1000); i++) await call();
  let best: Sequential | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await call();
      times.push((performance.now() - t0) * 1000);
    }
    const cpu = cpuMicros(cpu0) / calls;
    const mean = times.reduce((a, b) => a + b, 0) / calls;
    times.sort((a, b) => a - b);
    const result = { p50: percentile(times, 50), mean, cpu };
    if (!best || result.p50 < best.p50) best = result;
  }
  return best!;
}

interface Concurrent {
  perSecond: number;
  p50Ms: number;
  cpu: number;
}

/** CONCURRENCY callers back to back for SECONDS. */
async function concurrent(call: () => Promise<unknown>): Promise<Concurrent> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await call();
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMicros(cpu0) / latencies.length;
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), cpu };
}

const MODES = [
  { label: "in-process", options: { inProcess: true } },
  { label: "1 worker thread", options: { workers: 1 } },
  { label: "2 worker threads", options: { workers: 2 } },
] as const;

type Row = { mode: string; input: string; seq: Sequential; conc: Concurrent };
const results: Row[] = [];
const loadBefore = loadAverage();
for (const mode of MODES) {
  const model: Model = createModel({ dir: EXAMPLE, manifest, nodeOptions: { ...mode.options, logger: quiet } });
  await model.load();
  for (const { label, input, calls } of INPUTS) {
    const call = () => model.predictMatrix(input);
    const seq = await sequential(call, calls);
    const conc = await concurrent(call);
    results.push({ mode: mode.label, input: label, seq, conc });
    console.log(
      `${mode.label.padEnd(17)} ${label.padEnd(10)} sequential p50 ${fmt(seq.p50, 1)} µs, cpu ${fmt(seq.cpu, 1)} µs/call; ` +
        `${CONCURRENCY} concurrent ${fmt(conc.perSecond)} calls/s, p50 ${fmt(conc.p50Ms, 3)} ms, cpu ${fmt(conc.cpu, 1)} µs/call`,
    );
  }
  await model.close();
}

// A model that computes for 1 ms per call: what more worker threads buy when the model, not the crossing, costs.
const busyDir = mkdtempSync(path.join(tmpdir(), "omaf-bench-node-busy-"));
writeFileSync(
  path.join(busyDir, "model.mjs"),
  `export const init = () => "matrix";
export function predict_on_matrix(rows) {
  const end = performance.now() + 1;
  while (performance.now() < end);
  return [rows.map((r) => [r[0]]), ["first"]];
}
`,
);
const busyManifest: OmafManifest = { ...manifest, model: { ...manifest.model, name: "busy", workDir: "", entrypoint: "model.mjs" } };
const busy: { mode: string; conc: Concurrent }[] = [];
for (const mode of MODES) {
  const model = createModel({ dir: busyDir, manifest: busyManifest, nodeOptions: { ...mode.options, logger: quiet } });
  await model.load();
  const conc = await concurrent(() => model.predictMatrix(rows(1)));
  busy.push({ mode: mode.label, conc });
  console.log(`busy 1 ms model, ${mode.label.padEnd(17)} ${CONCURRENCY} concurrent ${fmt(conc.perSecond)} calls/s, p50 ${fmt(conc.p50Ms, 2)} ms`);
  await model.close();
}
rmSync(busyDir, { recursive: true, force: true });

// The crossing alone: an echo thread, 1,000 rows of 3 numbers out and back, cloned arrays vs one transferred block.
const ECHO = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => parentPort.postMessage(m, m.values instanceof Float64Array ? [m.values.buffer] : []));`;
const echo = new Worker(ECHO, { eval: true });
let answer: (m: unknown) => void = () => {};
echo.on("message", (m) => answer(m));
const roundTrip = (msg: unknown, transfer: ArrayBuffer[]) =>
  new Promise<unknown>((resolve) => {
    answer = resolve;
    echo.postMessage(msg, transfer);
  });
const matrix = rows(1000).data;
const crossing = {
  cloned: await sequential(() => roundTrip(matrix, []), 1000),
  packed: await sequential(async () => {
    const packed = packRows(matrix)!;
    unpack((await roundTrip(packed, [packed.values.buffer as ArrayBuffer])) as PackedMatrix);
  }, 1000),
};
await echo.terminate();
console.log(`crossing of 1,000×3: cloned ${fmt(crossing.cloned.p50, 1)} µs, packed ${fmt(crossing.packed.p50, 1)} µs (p50 round trip)`);

// Behind a protocol: `omaf serve` in each mode, the same KServe v1 request, the modes taking turns round after round.
interface Served {
  mode: string;
  child: ChildProcess;
  url: string;
}
interface ServeLevel {
  perSecond: number;
  p50Ms: number;
  serverCpu: number;
}
type Autocannon = (opts: Record<string, unknown>) => {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
} & PromiseLike<{ errors: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
const SERVE_INPUTS = [INPUTS[0]!, INPUTS[2]!];

async function startServe(mode: string, flags: string[], cacheDir: string): Promise<Served> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OMAF_")) env[k] = v;
  const args = ["--import", "tsx", path.join(repo, "src/cli/main.ts"), "serve", EXAMPLE, "--json", "--host", "127.0.0.1"];
  args.push("--interfaces", "kserve-v1", "--http-port", "0", "--no-inference-log", "--cache-dir", cacheDir, ...flags);
  const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /^(\{.*"event":"listening".*\})$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`omaf serve (${mode}) exited ${code}`)));
  });
  const { listeners } = JSON.parse(line) as { listeners: { port: number }[] };
  return { mode, child, url: `http://127.0.0.1:${listeners[0]!.port}/v1/models/${manifest.model.name}:predict` };
}

async function serveLevel(target: Served, body: Buffer): Promise<ServeLevel> {
  const latencies: number[] = [];
  let bad = 0;
  const cpu0 = processCpuSeconds(target.child.pid);
  const t0 = performance.now();
  const instance = autocannon({
    url: target.url,
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    connections: CONCURRENCY,
    pipelining: 1,
    duration: SECONDS,
  });
  instance.on("response", (_c, status, _b, ms) => (status === 200 ? latencies.push(ms) : bad++));
  const result = await instance;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = processCpuSeconds(target.child.pid) - cpu0;
  if (bad > 0 || result.errors > 0) throw new Error(`${target.mode}: ${bad} non-200 answers, ${result.errors} errors`);
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), serverCpu: (cpu * 1e6) / latencies.length };
}

const cacheDir = mkdtempSync(path.join(tmpdir(), "omaf-bench-node-worker-"));
const served: Served[] = [];
const serveResults = new Map<string, ServeLevel[]>();
try {
  served.push(await startServe("in-process", ["--node-in-process"], cacheDir));
  served.push(await startServe("1 worker thread", ["--node-workers", "1"], cacheDir));
  served.push(await startServe("2 worker threads", ["--node-workers", "2"], cacheDir));
  for (const { label, input } of SERVE_INPUTS) {
    const body = Buffer.from(JSON.stringify({ instances: input.data }));
    for (const t of served) await serveLevel(t, body); // warm-up, unmeasured
    for (let round = 0; round < SERVE_ROUNDS; round++) {
      for (const t of served) {
        const r = await serveLevel(t, body);
        const key = `${t.mode}|${label}`;
        serveResults.set(key, [...(serveResults.get(key) ?? []), r]);
        console.log(
          `serve ${t.mode.padEnd(17)} ${label.padEnd(10)} round ${round + 1}: ${fmt(r.perSecond)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, server CPU ${fmt(r.serverCpu)} µs/req`,
        );
      }
    }
  }
} finally {
  for (const t of served) {
    t.child.kill("SIGTERM");
    if (t.child.exitCode === null) await once(t.child, "exit");
  }
  rmSync(cacheDir, { recursive: true, force: true });
}
/** The round with the median req/s. */
const servedMedian = (mode: string, input: string) => {
  const rounds = [...serveResults.get(`${mode}|${input}`)!].sort((a, b) => a.perSecond - b.perSecond);
  return rounds[Math.floor(rounds.length / 2)]!;
};
const serveTable = [
  `| mode | request | req/s | ÷ in-process | p50 ms | server CPU µs/req |`,
  "|---|---|---:|---:|---:|---:|",
  ...SERVE_INPUTS.flatMap(({ label }) =>
    MODES.map(({ label: mode }) => {
      const r = servedMedian(mode, label);
      const base = servedMedian("in-process", label);
      return `| ${mode} | ${label} | ${fmt(r.perSecond)} | ${(r.perSecond / base.perSecond).toFixed(2)}× | ${fmt(r.p50Ms, 2)} | ${fmt(r.serverCpu)} |`;
    }),
  ),
];

const find = (mode: string, input: string) => results.find((r) => r.mode === mode && r.input === input)!;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const table = [
  "| mode | request | sequential p50 µs/call | ÷ in-process | CPU µs/call | 16 concurrent calls/s | ÷ in-process | p50 ms | CPU µs/call |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map((r) => {
    const base = find("in-process", r.input);
    return (
      `| ${r.mode} | ${r.input} | ${fmt(r.seq.p50, 1)} | ${ratio(r.seq.p50, base.seq.p50)} | ${fmt(r.seq.cpu, 1)} | ` +
      `${fmt(r.conc.perSecond)} | ${ratio(r.conc.perSecond, base.conc.perSecond)} | ${fmt(r.conc.p50Ms, 3)} | ${fmt(r.conc.cpu, 1)} |`
    );
  }),
];
const section = [
  "## node-worker",
  "",
  `Run \`node --import tsx bench/node-worker.ts --calls ${CALLS} --seconds ${SECONDS}\` on ${new Date().toISOString().slice(0, 10)}; ` +
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}. ` +
    `Machine load during the run: 1-minute load average ${loadBefore} before, ${loadAverage()} after.`,
  "",
  "The examples/node-matrix model (rows of 3 numbers → [sum, score]) through `predictMatrix()`, called from this " +
    "process without any protocol: in-process (the model loaded in this thread, `nodeOptions.inProcess`) against 1 and " +
    `2 worker threads. Sequential: median wall time of ${fmt(CALLS)} back-to-back calls (1,000 rows: ` +
    `${fmt(INPUTS[2]!.calls)}), best of ${ROUNDS} rounds; CPU: user + system time of the whole process (all threads) ` +
    `per call. Concurrent: ${CONCURRENCY} callers back to back for ${SECONDS} s.`,
  "",
  ...table,
  "",
  `A model that computes for 1 ms per call (one row), ${CONCURRENCY} concurrent callers: ` +
    busy.map((b) => `${b.mode} ${fmt(b.conc.perSecond)} calls/s (p50 ${fmt(b.conc.p50Ms, 2)} ms)`).join(", ") +
    ".",
  "",
  `Crossing alone (an echo thread, 1,000 rows of 3 numbers out and back): cloned arrays ${fmt(crossing.cloned.p50, 1)} µs, ` +
    `one transferred Float64Array (packed and unpacked) ${fmt(crossing.packed.p50, 1)} µs per round trip (p50).`,
  "",
  "### protocol level",
  "",
  "`omaf serve examples/node-matrix --interfaces kserve-v1 --no-inference-log` from source through tsx, one process " +
    "per mode (`--node-in-process`, `--node-workers 1`, `--node-workers 2`), all running for the whole benchmark. " +
    `Load: autocannon in this process, ${CONCURRENCY} connections, one request at a time on each, ${SECONDS} s per ` +
    `level after a warm-up; ${SERVE_ROUNDS} rounds in which the modes take turns, the round with the median req/s ` +
    "shown. The load generator shares the CPUs with the server, so server CPU per request (user + system of its whole " +
    "process, all threads, from /proc) is the steadier column.",
  "",
  ...serveTable,
  "",
  (() => {
    const small = servedMedian("1 worker thread", "1 row");
    const smallBase = servedMedian("in-process", "1 row");
    const large = servedMedian("1 worker thread", "1,000 rows");
    const largeBase = servedMedian("in-process", "1,000 rows");
    return (
      `What this says: a call through a worker thread costs about ${fmt(find("1 worker thread", "1 row").seq.p50 - find("in-process", "1 row").seq.p50)} µs ` +
      `more than in-process; behind a protocol, for a model that costs next to nothing, that is ${(small.perSecond / smallBase.perSecond).toFixed(2)}× ` +
      `the in-process req/s (${fmt(small.serverCpu - smallBase.serverCpu)} µs more server CPU per request), and ` +
      `${(large.perSecond / largeBase.perSecond).toFixed(2)}× for 1,000 rows, where JSON and the model dominate. Worker ` +
      "threads stay the default (a stuck model must not stop the server); `--node-in-process` is there for trusted models " +
      "whose calls cost microseconds, where the crossing is most of the work. Two threads against one: " +
      `${fmt(servedMedian("2 worker threads", "1 row").perSecond)} vs ${fmt(small.perSecond)} req/s for one row behind the protocol, ` +
      `${fmt(busy[2]!.conc.perSecond)} vs ${fmt(busy[1]!.conc.perSecond)} calls/s for the 1 ms model; and with one thread a ` +
      "stuck call holds up every other until the timeout. So the default is one thread per CPU, as for Python workers."
    );
  })(),
  "",
].join("\n");
process.stdout.write(`\n${section}\n`);
if (write) {
  writeResultsSection("node-worker", section);
  process.stdout.write(`wrote the ## node-worker section of ${path.relative(repo, RESULTS_FILE)}\n`);
}
