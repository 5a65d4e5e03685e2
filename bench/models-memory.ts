// What serving one more model costs in memory: `omaf serve` of 1 and of N copies of one example model (each copy a
// model of its own name, so its own dataplane, Model and workers), for the node, onnx and python environments, plus
// omaf serving no model at all. Memory is the whole process tree's (the server and its worker processes): the sum of
// RSS, and the sum of PSS (shared pages split between the processes sharing them — worker processes share their
// interpreter's libraries, which RSS counts once per process). Each model answers a few requests first, so lazily
// allocated state counts; the numbers are the median of 5 samples 200 ms apart, a second after the last request.
//   node --import tsx bench/models-memory.ts [--models 4] [--python-models 3] [--no-write]
// The server runs as the published package runs: compiled JavaScript (`npm run build` first; dist/cli/main.js), with
// its default workers (node and python: one per CPU). Writes a `## models-memory` section into bench/RESULTS.md
// unless --no-write.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { numberFlag } from "./flags.js";
import { writeResultsSection } from "./results.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(root, "dist", "cli", "main.js");
const PYTHON = process.env.OMAF_PYTHON || "/usr/bin/python3";
const models = numberFlag("--models", 4);
const pythonModels = numberFlag("--python-models", 3);

interface Environment {
  name: string;
  example: string;
  /** Copies served at most. */
  count: number;
  /** One OIP inference body the example answers. */
  body: string;
  /** Worker setup, as reported. */
  workers: string;
}

const ENVIRONMENTS: Environment[] = [
  {
    name: "node",
    example: "node-objects",
    count: models,
    body: JSON.stringify({ inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: [JSON.stringify({ text: "great product" })] }] }),
    workers: `${cpus().length} worker threads per model (--node-workers 0: one per CPU), JavaScript entrypoint`,
  },
  {
    name: "node-ts",
    example: "node-matrix",
    count: models,
    body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, 3], data: [1, 2, 3] }] }),
    workers: `${cpus().length} worker threads per model, TypeScript entrypoint (each thread loads tsx, whose esbuild service runs as a child process)`,
  },
  {
    name: "onnx",
    example: "iris-onnx",
    count: models,
    body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
    workers: "one onnxruntime session per model, in the server process",
  },
  {
    name: "python",
    example: "python-sklearn",
    count: pythonModels,
    body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
    workers: `${cpus().length} worker processes per model (OMAF_PYTHON_WORKERS unset: one per CPU), scikit-learn`,
  },
];

/** Memory of a process tree, in MiB. */
interface Memory {
  rss: number;
  pss: number;
  /** PSS of the server process alone; the rest is its worker processes. */
  serverPss: number;
  processes: number;
}

/** The process and its descendants, from /proc. */
async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields.length > 1) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

async function kib(file: string, field: string): Promise<number> {
  const text = await readFile(file, "utf8").catch(() => "");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function sample(pid: number): Promise<Memory> {
  const tree = await processTree(pid);
  let rss = 0;
  let pss = 0;
  let serverPss = 0;
  for (const p of tree) {
    rss += await kib(`/proc/${p}/status`, "VmRSS");
    const own = await kib(`/proc/${p}/smaps_rollup`, "Pss");
    pss += own;
    if (p === pid) serverPss = own;
  }
  return { rss: rss / 1024, pss: pss / 1024, serverPss: serverPss / 1024, processes: tree.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Copies of an example, each a model of its own name (`<name>-<i>`). */
async function copies(env: Environment, dir: string, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const to = path.join(dir, `${env.name}-${i}`);
    if (!existsSync(to)) {
      await cp(path.join(root, "examples", env.example), to, { recursive: true });
      const file = path.join(to, "odahuflow.model.yaml");
      const manifest = parse(await readFile(file, "utf8"));
      manifest.model.name = `${manifest.model.name}-${i}`;
      await writeFile(file, stringify(manifest));
    }
    out.push(to);
  }
  return out;
}

/** Serves `sources` (or an empty model repository), warms each model, and measures the process tree. */
async function measure(sources: string[], work: string, body?: string): Promise<Memory> {
  const empty = path.join(work, "empty-repository");
  await mkdir(empty, { recursive: true });
  const args = sources.length > 0 ? sources : ["--model-repository", empty];
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      ...args,
      "--host",
      "127.0.0.1",
      "--http-port",
      "0",
      "--interfaces",
      "oip-rest",
      "--json",
      "--no-inference-log",
      "--cache-dir",
      path.join(work, "cache"),
    ],
    { env: { ...process.env, OMAF_PYTHON: PYTHON }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = once(child, "exit");
  try {
    const line = await new Promise<{ models: { name: string; state: string }[]; listeners: { port: number }[] }>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        for (const text of out.split("\n")) {
          if (text.includes('"event":"listening"')) resolve(JSON.parse(text));
        }
      });
      void exited.then(() => reject(new Error(`omaf serve exited before listening:\n${stderr}`)));
    });
    const notReady = line.models.filter((m) => m.state !== "ready");
    if (notReady.length > 0) throw new Error(`models not loaded: ${JSON.stringify(notReady)}\n${stderr}`);
    const base = `http://127.0.0.1:${line.listeners[0].port}`;
    for (const m of line.models) {
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${base}/v2/models/${m.name}/infer`, { method: "POST", body });
        if (res.status !== 200) throw new Error(`${m.name} answered ${res.status}: ${await res.text()}`);
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    const samples: Memory[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(await sample(child.pid!));
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      rss: median(samples.map((s) => s.rss)),
      pss: median(samples.map((s) => s.pss)),
      serverPss: median(samples.map((s) => s.serverPss)),
      processes: samples[0].processes,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const mib = (n: number) => `${n.toFixed(1)} MiB`;

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const work = await mkdtemp(path.join(tmpdir(), "omaf-models-memory-"));
  const loadBefore = loadavg()[0];
  try {
    const none = await measure([], work);
    console.log(`no model: RSS ${mib(none.rss)}, PSS ${mib(none.pss)}`);
    const rows: string[] = [];
    /** The server process's share of one more python model: what omaf itself keeps per model (the model is in its workers). */
    let ownShare = 0;
    for (const env of ENVIRONMENTS) {
      const sources = await copies(env, work, env.count);
      const one = await measure(sources.slice(0, 1), work, env.body);
      const many = await measure(sources, work, env.body);
      const extra = env.count - 1;
      const per = { rss: (many.rss - one.rss) / extra, pss: (many.pss - one.pss) / extra, server: (many.serverPss - one.serverPss) / extra };
      if (env.name === "python") ownShare = per.server;
      console.log(`${env.name}: 1 model ${mib(one.pss)} PSS, ${env.count} models ${mib(many.pss)} PSS: ${mib(per.pss)} per model`);
      rows.push(
        `| ${env.name} (examples/${env.example}) | ${mib(one.rss)} / ${mib(one.pss)} | ${env.count} | ${mib(many.rss)} / ${mib(many.pss)} | ${many.processes} | **${mib(per.rss)}** | **${mib(per.pss)}** | ${mib(per.server)} | ${env.workers} |`,
      );
    }
    const section = [
      "## models-memory",
      "",
      `Run \`node --import tsx bench/models-memory.ts --models ${models} --python-models ${pythonModels}\` on ${new Date().toISOString().slice(0, 10)}; machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${PYTHON}. Machine load: 1-minute load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after.`,
      "",
      "What one more model costs in memory: `omaf serve` (compiled, `dist/cli/main.js`, OIP REST only, inference log off) of one copy of an example and of N copies, each copy a model of its own name (its own dataplane, Model and workers). Memory is the server's whole process tree, a second after every model answered 20 requests (median of 5 samples): RSS summed over the processes, and PSS (shared pages split between the processes sharing them, so a library shared by worker processes counts once). Per extra model = (N models − 1 model) ÷ (N − 1).",
      "",
      `omaf serving no model (an empty --model-repository): RSS ${mib(none.rss)}, PSS ${mib(none.pss)}.`,
      "",
      "| environment | 1 model RSS / PSS | N | N models RSS / PSS | processes at N | per extra model, RSS | per extra model, PSS | of which the server process (PSS) | workers |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|",
      ...rows,
      "",
      `Reading it: a node model's cost is its worker threads (each a V8 isolate with the entrypoint loaded) in the server process, plus for a TypeScript entrypoint the esbuild processes tsx starts; an onnx model's, its onnxruntime session and weights in the server process; a python model's, its worker processes (an interpreter each, with numpy, pandas and scikit-learn imported) — fewer workers (\`OMAF_PYTHON_WORKERS\`, \`--node-workers\`) cost proportionally less. What omaf itself keeps per model version (its dataplane, statistics, metrics series and the bridge to its workers) shows in the server process's share of a python model, whose model lives in the workers: ${mib(ownShare)}.`,
    ].join("\n");
    console.log(section);
    if (!process.argv.includes("--no-write")) writeResultsSection("models-memory", section);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
