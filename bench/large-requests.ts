// How long one large request holds the server's main thread, and whether health probes are answered meanwhile.
//   node --import tsx bench/large-requests.ts [--rows 1000000] [--no-write]
// Serves examples/iris-onnx (`omaf serve` in a child process, with --health-port) and sends one request of 10,000,
// 100,000 and --rows rows over OIP REST (JSON and the binary extension), KServe v1 and Odahu, one at a time. While each
// runs, GET /healthz is probed every 20 ms on the shared HTTP port (same thread as the request) and on the health port
// (its own thread). The baseline is the shared port's slowest probe, measured in the same run: the health port's
// slowest probe is reported against it. Writes the `## large-requests` section of bench/RESULTS.md unless --no-write.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { numberFlag } from "./flags.js";
import { writeResultsSection } from "./results.js";

const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const MAX_ROWS = numberFlag("--rows", 1_000_000);
const write = !process.argv.includes("--no-write");
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

interface Served {
  http: string;
  health: string;
  stop(): void;
}

async function serve(): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(repo, "src/cli/main.ts"),
      "serve",
      path.join(repo, "examples/iris-onnx"),
      "--host",
      "127.0.0.1",
      "--interfaces",
      "oip-rest,kserve-v1,odahu",
      "--http-port",
      "0",
      "--odahu-port",
      "0",
      "--health-port",
      "0",
      "--no-inference-log",
      "--json",
    ],
    { cwd: repo, stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const l = out.split("\n").find((x) => x.includes('"event":"listening"'));
      if (l) resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`omaf serve exited (${code})`)));
  });
  const listeners = (JSON.parse(line) as { listeners: { interface: string; port: number }[] }).listeners;
  const port = (name: string) => listeners.find((l) => l.interface === name)!.port;
  return { http: `http://127.0.0.1:${port("oip-rest")}`, health: `http://127.0.0.1:${port("health")}`, stop: () => child.kill("SIGKILL") };
}

/** One request body per protocol for `n` iris rows. */
function requests(n: number): { protocol: string; path: string; body: Buffer; headers: Record<string, string> }[] {
  const row = [5.1, 3.5, 1.4, 0.2];
  const rows = Array.from({ length: n }, () => row);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input", shape: [n, 4], datatype: "FP32", parameters: { binary_data_size: n * 16 } }],
      outputs: [
        { name: "probabilities", parameters: { binary_data: true } },
        { name: "label", parameters: { binary_data: true } },
      ],
    }),
  );
  const raw = Buffer.from(Float32Array.from(rows.flat()).buffer);
  return [
    {
      protocol: "OIP REST JSON",
      path: "/v2/models/iris-onnx/infer",
      body: Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [n, 4], datatype: "FP32", data: rows.flat() }] })),
      headers: {},
    },
    {
      protocol: "OIP REST binary",
      path: "/v2/models/iris-onnx/infer",
      body: Buffer.concat([header, raw]),
      headers: { "inference-header-content-length": String(header.length) },
    },
    { protocol: "KServe v1", path: "/v1/models/iris-onnx:predict", body: Buffer.from(JSON.stringify({ instances: rows })), headers: {} },
    { protocol: "Odahu", path: "/api/model/invoke", body: Buffer.from(JSON.stringify({ data: rows })), headers: {} },
  ];
}

/** Probes `url` every 20 ms until `done` settles; answers the slowest probe in ms. */
async function probe(url: string, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true));
  let slowest = 0;
  while (!finished) {
    const t0 = performance.now();
    await (await fetch(url)).arrayBuffer();
    slowest = Math.max(slowest, performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  return slowest;
}

const server = await serve();
const loadBefore = loadAverage();
const results: string[] = [];
try {
  for (const n of [10_000, 100_000, MAX_ROWS]) {
    for (const r of requests(n)) {
      const t0 = performance.now();
      const answer = fetch(server.http + r.path, { method: "POST", body: r.body, headers: r.headers }).then(async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${r.protocol}: HTTP ${res.status}`);
      });
      const [shared, own] = await Promise.all([probe(`${server.http}/healthz`, answer), probe(`${server.health}/healthz`, answer)]);
      await answer;
      const ms = performance.now() - t0;
      const line = `| ${fmt(n)} | ${r.protocol} | ${(r.body.length / 1024 ** 2).toFixed(1)} | ${fmt(ms)} | ${fmt(shared)} | ${fmt(own)} | ${(own / shared).toFixed(2)}× |`;
      console.log(line);
      results.push(line);
    }
  }
} finally {
  server.stop();
}

const cpu = cpus();
const section = [
  "## large-requests",
  "",
  `Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx bench/large-requests.ts\` (one run).`,
  `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}.`,
  `Machine load during the run: 1-minute load average ${loadBefore} before, ${loadAverage()} after.`,
  "",
  "Server: `omaf serve examples/iris-onnx` (from source through tsx) with `--health-port`; one request at a time. While it",
  "runs, `/healthz` is probed every 20 ms on the shared HTTP port (the thread that decodes and encodes the request) and",
  "on the health port (its own thread). Baseline: the shared port's slowest probe in the same run.",
  "",
  "| rows | protocol | body MiB | request ms | slowest probe, shared port ms | slowest probe, health port ms | health ÷ shared |",
  "|---:|---|---:|---:|---:|---:|---:|",
  ...results,
  "",
].join("\n");
if (write) writeResultsSection("large-requests", section);
