// Protocol-level benchmark of the python environment: `omaf serve examples/python-sklearn` answering OIP v2 REST JSON
// infer requests, next to a minimal Python server measured in the same run — stdlib http.server (ThreadingHTTPServer,
// keep-alive) calling the same GPPI entrypoint in one process, written to a temp file by this script and answering the
// same OIP request with the same OIP-shaped JSON — and omaf again with adaptive batching on (queued one-row requests
// merged into one predict_on_matrix call). HTTP load from autocannon in this process at concurrency 1, 8 and 16.
// Prints req/s, p50/p99 latency and CPU per request, and writes the "### protocol level" part of the `## python`
// section of bench/RESULTS.md unless --no-write (the rest of that section belongs to bench/python.ts).
//   node --import tsx bench/python-serve.ts [--seconds 5] [--warmup 1] [--rounds 3] [--workers 2] [--max-batch-size 16]
//     [--max-batch-time 5] [--no-write]
// Interpreter: OMAF_PYTHON or /usr/bin/python3 (needs numpy, pandas and scikit-learn, as the example does).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const IRIS_DIR = path.join(repo, "examples", "python-sklearn");
const PYTHON = process.env.OMAF_PYTHON || "/usr/bin/python3";
const LEVELS = [1, 8, 16];
const ROW = [5.1, 3.5, 1.4, 0.2];

const seconds = numberFlag("--seconds", 5);
const warmup = numberFlag("--warmup", 1);
const rounds = numberFlag("--rounds", 3);
const workers = numberFlag("--workers", 2);
const maxBatchSize = numberFlag("--max-batch-size", 16);
const maxBatchTime = numberFlag("--max-batch-time", 5);
const write = !process.argv.includes("--no-write");

// ---------------------------------------------------------------------------------------------------------------
// CPU time from /proc (Linux): a process and its children (omaf's Python workers are its children).

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime (fields 14 and 15 of stat) in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** CPU seconds of `pid` itself and of its children (the set of children is read once, when the server is up). */
function cpuMeter(pid: number): { pids: number[]; read: () => [main: number, children: number] } {
  const children = childrenOf(pid);
  return { pids: [pid, ...children], read: () => [cpuSecondsOf(pid), children.reduce((sum, p) => sum + cpuSecondsOf(p), 0)] };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP load: autocannon, every response's latency recorded (its own histogram rounds to whole milliseconds).

interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance & PromiseLike<{ errors: number; timeouts: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

interface Result {
  concurrency: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** User + system CPU of the server (and its workers) per answered request, µs. */
  serverCpuUs: number;
  /** Of which the server's own process (omaf: Node; the rest is its Python workers). */
  mainCpuUs: number;
  /** The same for this load-generating process. */
  clientCpuUs: number;
}

interface Target {
  label: string;
  url: string;
  cpu: () => [main: number, children: number];
}

const body = Buffer.from(JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, ROW.length], data: ROW }] }));

async function level(target: Target, concurrency: number, durationS: number): Promise<Result> {
  const lat = new Float64Array(2_000_000);
  let n = 0;
  let bad = 0;
  const server0 = target.cpu();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const instance = autocannon({
    url: target.url,
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
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
  const client = process.cpuUsage(client0);
  const server1 = target.cpu();
  const main = server1[0] - server0[0];
  const server = main + server1[1] - server0[1];
  if (bad > 0 || result.errors > 0) throw new Error(`${target.label}: ${bad} non-200 answers, ${result.errors} errors`);
  const sorted = lat.subarray(0, n).sort();
  const pct = (p: number) => sorted[Math.min(n - 1, Math.floor((p / 100) * n))]!;
  return {
    concurrency,
    perSecond: n / elapsed,
    p50Ms: pct(50),
    p99Ms: pct(99),
    serverCpuUs: (server * 1e6) / n,
    mainCpuUs: (main * 1e6) / n,
    clientCpuUs: (client.user + client.system) / n,
  };
}

/** Fails unless the target answers the iris row with "setosa". */
async function check(target: Target): Promise<void> {
  const res = await fetch(target.url, { method: "POST", body, headers: { "content-type": "application/json" } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target.label} answered ${res.status}: ${text}`);
  const out = JSON.parse(text) as { outputs?: { data?: unknown[] }[] };
  if (out.outputs?.[0]?.data?.[0] !== "setosa") throw new Error(`${target.label} answered ${text}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The Python baseline: stdlib only, the same entrypoint, the same OIP request and answer.

const STDLIB_SERVER = `
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.environ["MODEL_LOCATION"])
os.chdir(os.environ["MODEL_LOCATION"])
import entrypoint

entrypoint.init()


def plain(o):
    return o.tolist() if hasattr(o, "tolist") else str(o)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as autocannon and omaf use
    disable_nagle_algorithm = True  # else headers and body wait for a delayed ACK

    def log_message(self, *args):
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        tensor = request["inputs"][0]
        rows, cols = tensor["shape"]
        data = tensor["data"]
        matrix = [data[r * cols:(r + 1) * cols] for r in range(rows)]
        prediction, columns = entrypoint.predict_on_matrix(matrix, None)
        flat = [value for row in prediction for value in row]
        out = json.dumps({
            "model_name": "iris-sklearn",
            "outputs": [{"name": "prediction", "datatype": "BYTES", "shape": [len(prediction), len(columns)], "data": flat}],
        }, default=plain).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening %d" % server.server_address[1], flush=True)
server.serve_forever()
`;

/**
 * CPU cost of predict_on_matrix() alone, in one Python process: back to back (hot caches), with 16 MiB of other
 * memory touched between calls (what serving looks like: other code runs between requests), and per row with 4 rows
 * per call. Prints JSON.
 */
const MODEL_COST = `
import json, os, sys, time
sys.path.insert(0, os.environ["MODEL_LOCATION"])
os.chdir(os.environ["MODEL_LOCATION"])
import numpy as np
import entrypoint

entrypoint.init()
row = [5.1, 3.5, 1.4, 0.2]
other = np.ones(2 * 1024 * 1024)


def cost(rows, calls, flush):
    total = 0.0
    for _ in range(calls):
        if flush:
            other.__iadd__(1.0)
        t0 = time.process_time()
        entrypoint.predict_on_matrix([row] * rows, None)
        total += time.process_time() - t0
    return total / calls * 1e6


cost(1, 300, False)
print(json.dumps({"hot": cost(1, 2000, False), "cold": cost(1, 400, True), "cold4PerRow": cost(4, 400, True) / 4}))
`;

async function startChild(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(command, args, { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout!.setEncoding("utf8");
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on("data", (d: string) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m);
    });
    child.once("exit", (code) => reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${err}`)));
  });
  return { child, match };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

// ---------------------------------------------------------------------------------------------------------------

const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;

const work = mkdtempSync(path.join(tmpdir(), "omaf-bench-python-serve-"));
const children: ChildProcess[] = [];
const loadBefore = loadavg()[0];
try {
  // Both servers run for the whole benchmark; the targets take turns at each level, round after round, so slow drifts
  // in what the rest of the machine does hit both alike.
  const script = path.join(work, "stdlib_server.py");
  writeFileSync(script, STDLIB_SERVER);
  const threads = { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1" };
  const stdlib = await startChild(PYTHON, [script], { ...process.env, ...threads, MODEL_LOCATION: path.join(IRIS_DIR, "odahuflow_model") }, /listening (\d+)/);
  children.push(stdlib.child);

  const omafEnv: NodeJS.ProcessEnv = { ...process.env, OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: String(workers) };
  /** One `omaf serve` of the example on OIP REST, with `extra` flags: its infer URL and CPU meter. */
  const startOmaf = async (label: string, extra: string[]): Promise<Target> => {
    const omaf = await startChild(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(repo, "src/cli/main.ts"),
        "serve",
        IRIS_DIR,
        "--json",
        "--host",
        "127.0.0.1",
        "--interfaces",
        "oip-rest",
        "--http-port",
        "0",
        "--no-inference-log",
        "--cache-dir",
        path.join(work, "cache"),
        ...extra,
      ],
      omafEnv,
      /^(\{.*"event":"listening".*\})$/m,
    );
    children.push(omaf.child);
    const listening = JSON.parse(omaf.match[1]!) as { listeners: { interfaces?: string[]; interface: string; port: number }[] };
    const port = listening.listeners.find((l) => l.interface === "oip-rest" || l.interfaces?.includes("oip-rest"))!.port;
    const meter = cpuMeter(omaf.child.pid!);
    const workerPids = meter.pids.filter((p) => commandOf(p).includes("omaf_worker.py"));
    if (workerPids.length !== workers) throw new Error(`expected ${workers} python workers under omaf, found ${workerPids.length}`);
    return { label, url: `http://127.0.0.1:${port}/v2/models/iris-sklearn/infer`, cpu: meter.read };
  };
  const batchFlags = ["--max-batch-size", String(maxBatchSize), "--max-batch-time", String(maxBatchTime), "--batch-rows"];
  const stdlibCpu = cpuMeter(stdlib.child.pid!);
  const targets: Target[] = [
    {
      label: "Python stdlib http.server (ThreadingHTTPServer), same entrypoint",
      url: `http://127.0.0.1:${stdlib.match[1]}/v2/models/iris-sklearn/infer`,
      cpu: stdlibCpu.read,
    },
    await startOmaf(`omaf serve, OIP v2 REST JSON, ${workers} python workers`, []),
    await startOmaf(`omaf serve, the same, batching ${maxBatchSize} rows / ${maxBatchTime} ms`, batchFlags),
  ];

  for (const t of targets) {
    await check(t);
    await level(t, 8, warmup); // cold code paths, unmeasured
  }
  const results: Result[][][] = targets.map(() => LEVELS.map(() => []));
  for (let r = 0; r < rounds; r++) {
    for (const [li, c] of LEVELS.entries()) {
      for (const [ti, t] of targets.entries()) {
        await level(t, c, warmup);
        const res = await level(t, c, seconds);
        results[ti]![li]!.push(res);
        process.stderr.write(`round ${r + 1}/${rounds}, ${t.label}, concurrency ${c}: ${fmt(res.perSecond)} req/s\n`);
      }
    }
  }
  for (const child of children) await stopChild(child);
  const loadAfter = loadavg()[0];
  const probe = path.join(work, "model_cost.py");
  writeFileSync(probe, MODEL_COST);
  const modelCost = JSON.parse(
    (await startChild(PYTHON, [probe], { ...process.env, ...threads, MODEL_LOCATION: path.join(IRIS_DIR, "odahuflow_model") }, /^(\{.*\})$/m)).match[1]!,
  ) as { hot: number; cold: number; cold4PerRow: number };

  // Per target and level: the round with the median throughput.
  const picked = results.map((byLevel) => byLevel.map((rs) => median(rs, (x) => x.perSecond)));
  /** Target `a` ÷ target `b` in req/s at each level (median rounds), and every round's ratio as text. */
  const ratiosOf = (a: number, b: number) => LEVELS.map((_, li) => picked[a]![li]!.perSecond / picked[b]![li]!.perSecond);
  const roundRatios = (a: number, b: number, c: number) => {
    const li = LEVELS.indexOf(c);
    return results[a]![li]!.map((o, r) => fmt(o.perSecond / results[b]![li]![r]!.perSecond, 2)).join(", ");
  };
  const ratios = ratiosOf(1, 0);
  const batchedRatios = ratiosOf(2, 0);
  const batchGain = ratiosOf(2, 1);
  const at = (xs: number[], c: number) => xs[LEVELS.indexOf(c)]!;
  const p50Change = picked[2]![LEVELS.indexOf(1)]!.p50Ms / picked[1]![LEVELS.indexOf(1)]!.p50Ms - 1;
  const pythonVersion = (
    await new Promise<string>((resolve) => {
      const p = spawn(PYTHON, [
        "-c",
        "import sys, sklearn, pandas, numpy; print(sys.version.split()[0], sklearn.__version__, pandas.__version__, numpy.__version__)",
      ]);
      let out = "";
      p.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      p.on("close", () => resolve(out.trim()));
    })
  ).split(" ");
  const acVersion = (JSON.parse(readFileSync(path.join(repo, "node_modules/autocannon/package.json"), "utf8")) as { version: string }).version;
  const cpu = cpus();

  const rows: string[] = [];
  targets.forEach((t, ti) =>
    LEVELS.forEach((c, li) => {
      const r = picked[ti]![li]!;
      const ratio = ti === 0 ? "1.00×" : `**${fmt((ti === 1 ? ratios : batchedRatios)[li]!, 2)}×**`;
      const cpuText = ti === 0 ? fmt(r.serverCpuUs) : `${fmt(r.serverCpuUs)} (Node ${fmt(r.mainCpuUs)} + workers ${fmt(r.serverCpuUs - r.mainCpuUs)})`;
      rows.push(`| ${t.label} | ${c} | ${fmt(r.perSecond)} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${cpuText} | ${fmt(r.clientCpuUs)} | ${ratio} |`);
    }),
  );
  // What the CPU figures allow on this machine with nobody else on it: Python code under one GIL uses at most one
  // core; omaf's processes can use both, shared with the load generator.
  const at8 = LEVELS.indexOf(8);
  const std8 = picked[0]![at8]!;
  const omaf8 = picked[1]![at8]!;
  const stdCeiling = Math.min(1e6 / std8.serverCpuUs, 2e6 / (std8.serverCpuUs + std8.clientCpuUs));
  const omafCeiling = 2e6 / (omaf8.serverCpuUs + omaf8.clientCpuUs);
  const notes = [
    "Where the time goes (CPU time, so independent of what else ran; concurrency 8):",
    `- \`predict_on_matrix()\` alone, in one Python process: ${fmt(modelCost.hot)} µs per call back to back, ${fmt(modelCost.cold)} µs ` +
      "when other memory was touched between calls (the pandas objects it builds fall out of the CPU caches) — the serving case, " +
      "for both servers.",
    `- The stdlib server spent ${fmt(std8.serverCpuUs)} µs per request in its one process; omaf ${fmt(omaf8.serverCpuUs)} µs: ` +
      `${fmt(omaf8.mainCpuUs)} in Node (HTTP, OIP, dataplane, bridge) and ${fmt(omaf8.serverCpuUs - omaf8.mainCpuUs)} in the workers ` +
      "(the model call, cold, plus the frame exchange).",
    `- Ceiling with both cores to ourselves: the stdlib server runs under one GIL, ≤ 1 core → ~${fmt(stdCeiling)} req/s; omaf ≤ 2 cores ` +
      `shared with the load generator → ~${fmt(omafCeiling)} req/s, ${fmt(omafCeiling / stdCeiling, 2)}× at best. 2× needs omaf to spend ` +
      "no more CPU per request than the stdlib server spends in one process, which the model call alone nearly does.",
    `- The lever is fewer model calls: with 4 rows per call \`predict_on_matrix()\` costs ${fmt(modelCost.cold4PerRow)} µs per row. ` +
      `Merging queued requests into one call is what the batching rows measure: \`--max-batch-size ${maxBatchSize} --max-batch-time ${maxBatchTime} --batch-rows\` ` +
      "(opt-in, as in Triton and MLServer, since it assumes rows are predicted independently); a lone request does not wait for batch-mates.",
  ];
  const section = [
    "### protocol level",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/python-serve.ts --seconds ${seconds} --rounds ${rounds} --workers ${workers}\`.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Node ${process.version}, ` +
      `${PYTHON} (Python ${pythonVersion[0]}, scikit-learn ${pythonVersion[1]}, pandas ${pythonVersion[2]}, numpy ${pythonVersion[3]}), autocannon ${acVersion}.`,
    `Machine load during the run: 1-minute load average ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after; ` +
      "so absolute numbers are noisy; the three servers ran side by side for the whole run and took turns at each level.",
    "",
    `omaf: \`omaf serve examples/python-sklearn --interfaces oip-rest --no-inference-log\` with \`OMAF_PYTHON_WORKERS=${workers}\`, from source ` +
      `through tsx; and a second such server with \`${batchFlags.join(" ")}\`. ` +
      "Baseline: a stdlib `http.server.ThreadingHTTPServer` (HTTP/1.1 keep-alive, Nagle off) in one Python process that imports the same " +
      "entrypoint and answers the same OIP request with the same OIP-shaped JSON; no validation, provenance or metrics. " +
      "Each request: `POST /v2/models/iris-sklearn/infer` with one FP64 [1, 4] row; both answer `setosa`. " +
      `Load: autocannon in the benchmark process (one connection per concurrent request), ${warmup} s warm-up then ${seconds} s measured per ` +
      `level; ${rounds} rounds, the round with the median req/s is shown (latency from every response). ` +
      "CPU columns: user + system time per answered request of the server (omaf: the Node process plus its Python workers) and of the load " +
      "generator, from /proc; they vary less than req/s on a shared machine.",
    "",
    "| server | concurrency | req/s | p50 ms | p99 ms | server CPU µs/req | client CPU µs/req | ÷ stdlib (req/s) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Targets:",
    `- omaf ≥ 2× the stdlib server's throughput with ${workers} workers at concurrency 8, batching off — ` +
      `${at(ratios, 8) >= 2 ? "met" : "not met"} (${fmt(at(ratios, 8), 2)}×; every round: ${roundRatios(1, 0, 8)}).`,
    `- Batching on ≥ 2× batching off at concurrency 16 — ${at(batchGain, 16) >= 2 ? "met" : "not met"} ` +
      `(${fmt(at(batchGain, 16), 2)}×; every round: ${roundRatios(2, 1, 16)}).`,
    `- Batching on ≥ 2× the stdlib server at concurrency 16 — ${at(batchedRatios, 16) >= 2 ? "met" : "not met"} ` +
      `(${fmt(at(batchedRatios, 16), 2)}×; every round: ${roundRatios(2, 0, 16)}).`,
    `- p50 at concurrency 1 with batching on at most 10 % above batching off — ${p50Change <= 0.1 ? "met" : "not met"} ` +
      `(${fmt(picked[2]![LEVELS.indexOf(1)]!.p50Ms, 3)} ms against ${fmt(picked[1]![LEVELS.indexOf(1)]!.p50Ms, 3)} ms, ${p50Change >= 0 ? "+" : ""}${fmt(p50Change * 100, 1)} %).`,
    "",
    ...notes,
    "",
  ].join("\n");
  process.stdout.write(`\n${section}\n`);

  if (write) {
    const file = path.join(here, "RESULTS.md");
    let text = readFileSync(file, "utf8");
    const python = text.search(/^## python\s*$/m);
    if (python < 0) text = `${text.trimEnd()}\n\n## python\n\n${section}`;
    else {
      // Replace this part only: from "### protocol level" (or the end of ## python) up to the next ## section.
      const afterHeading = python + "## python".length;
      const nextRel = text.slice(afterHeading).search(/^## /m);
      const end = nextRel < 0 ? text.length : afterHeading + nextRel;
      const ownRel = text.slice(afterHeading, end).search(/^### protocol level\s*$/m);
      const start = ownRel < 0 ? end : afterHeading + ownRel;
      const before = text.slice(0, start).trimEnd();
      text = `${before}\n\n${section}${end < text.length ? `\n${text.slice(end)}` : ""}`;
    }
    writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    process.stdout.write(`\nwrote the "### protocol level" part of ## python in ${path.relative(repo, file)}\n`);
  }
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
