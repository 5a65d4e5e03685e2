// The whole benchmark suite, side by side: every bench/*.ts benchmark in turn, each in its own process, each writing
// its own section of bench/RESULTS.md (with the ratio of every case to its baseline, measured in the same run); then
// the `## suite` section at the top: date, machine, Node and library versions, load average around each benchmark,
// how each ended, and the targets each one reported. `npm run bench` runs it.
//   node --import tsx bench/all.ts [--only a,b] [--skip a,b] [--quick] [--write] [--no-write]
// --quick runs every benchmark briefly (to check that the suite runs, not to measure) and writes nothing unless --write.
// Needs h2load (`apt-get install -y nghttp2-client`; bench/mlserver.ts and bench/soak.ts refuse to run without it) and
// PyPI for bench/mlserver/setup.sh's venv on its first run. A benchmark that fails is reported and the suite goes on;
// the exit code is then 1.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { h2loadVersion } from "./load-tools.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");

interface Bench {
  /** bench/<name>.ts; also the `## <name>` section it writes (python-serve writes a part of ## python). */
  name: string;
  section: string;
  /** Arguments of the real measurement. */
  args: string[];
  /** Arguments of a brief run that only checks the benchmark works. */
  quick: string[];
}

const BENCHES: Bench[] = [
  { name: "pack", section: "pack", args: ["--size-mb", "1024", "--runs", "3"], quick: ["--size-mb", "32", "--runs", "1"] },
  { name: "serve", section: "serve", args: ["--seconds", "5", "--warmup", "1", "--rounds", "3"], quick: ["--seconds", "1", "--warmup", "1", "--rounds", "1"] },
  { name: "omi", section: "omi", args: ["--seconds", "5", "--warmup", "1"], quick: ["--seconds", "1", "--warmup", "1"] },
  { name: "python", section: "python", args: ["--seconds", "3", "--calls", "3000"], quick: ["--seconds", "1", "--calls", "300"] },
  {
    name: "python-serve",
    section: "python",
    args: ["--seconds", "5", "--rounds", "3", "--workers", "2"],
    quick: ["--seconds", "1", "--warmup", "1", "--rounds", "1", "--workers", "2"],
  },
  { name: "java", section: "java", args: ["--seconds", "3", "--calls", "3000"], quick: ["--seconds", "1", "--calls", "300"] },
  {
    name: "node-worker",
    section: "node-worker",
    args: ["--calls", "5000", "--seconds", "3", "--rounds", "3"],
    quick: ["--calls", "300", "--seconds", "1", "--rounds", "1"],
  },
  { name: "large-requests", section: "large-requests", args: ["--rows", "1000000"], quick: ["--rows", "100000"] },
  { name: "cache-verify", section: "cache-verify", args: ["--size-mb", "1024", "--runs", "5"], quick: ["--size-mb", "32", "--runs", "1"] },
  { name: "cli-start", section: "cli-start", args: ["--runs", "21"], quick: ["--runs", "3"] },
  {
    name: "predict",
    section: "predict",
    args: ["--rows", "1000000", "--python-rows", "100000", "--runs", "3"],
    quick: ["--rows", "20000", "--python-rows", "2000", "--runs", "1"],
  },
  { name: "mlserver", section: "mlserver", args: ["--seconds", "10", "--warmup", "2", "--rounds", "3"], quick: ["--seconds", "1", "--warmup", "1"] },
  {
    name: "soak",
    section: "soak",
    args: ["--rest-requests", "200000", "--grpc-requests", "100000", "--concurrency", "32"],
    quick: ["--rest-requests", "10000", "--grpc-requests", "5000", "--warmup-requests", "500"],
  },
];

const list = (flag: string) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? undefined : (process.argv[i + 1] ?? "").split(",").filter((s) => s !== "");
};
const only = list("--only");
const skip = list("--skip") ?? [];
const quick = process.argv.includes("--quick");
const write = process.argv.includes("--write") || (!quick && !process.argv.includes("--no-write"));
for (const name of [...(only ?? []), ...skip]) {
  if (!BENCHES.some((b) => b.name === name)) throw new Error(`no benchmark ${name}; there are: ${BENCHES.map((b) => b.name).join(", ")}`);
}

interface Outcome {
  bench: Bench;
  args: string[];
  status: "ok" | "failed" | "absent";
  code?: number | null;
  minutes: number;
  loadBefore: number;
  loadAfter: number;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "absent";
  }
}

/** Versions of the Python side: the system interpreter (bench/python*.ts) and the MLServer venv (bench/mlserver.ts). */
function pythonVersions(python: string, names: string[]): string {
  if (!existsSync(python) && python.includes("/")) return `${python}: absent`;
  const r = spawnSync(
    python,
    [
      "-c",
      `import sys\nfrom importlib import metadata as m\nout = []\nfor n in ${JSON.stringify(names)}:\n    try: out.append(n + " " + m.version(n))\n    except Exception: pass\nprint(", ".join(["Python " + sys.version.split()[0]] + out))`,
    ],
    { encoding: "utf8" },
  );
  return r.status === 0 ? `${python}: ${r.stdout.trim()}` : `${python}: not runnable`;
}

const startedAt = new Date();
const h2 = h2loadVersion();
if (!h2) process.stderr.write("h2load not found (apt-get install -y nghttp2-client): serve and omi fall back to in-process load; mlserver and soak fail\n");
const outcomes: Outcome[] = [];
for (const bench of BENCHES) {
  if ((only && !only.includes(bench.name)) || skip.includes(bench.name)) continue;
  const file = path.join(here, `${bench.name}.ts`);
  const args = [...(quick ? bench.quick : bench.args), ...(write ? [] : ["--no-write"])];
  const loadBefore = loadavg()[0];
  if (!existsSync(file)) {
    outcomes.push({ bench, args, status: "absent", minutes: 0, loadBefore, loadAfter: loadBefore });
    continue;
  }
  process.stderr.write(`\n=== bench/${bench.name}.ts ${args.join(" ")}\n`);
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: repo, stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  const minutes = (performance.now() - t0) / 60_000;
  outcomes.push({ bench, args, status: code === 0 ? "ok" : "failed", code, minutes, loadBefore, loadAfter: loadavg()[0] });
  process.stderr.write(`=== bench/${bench.name}.ts ${code === 0 ? "done" : `failed (exit ${code})`} in ${fmt(minutes, 1)} min\n`);
}

/** The target lines a benchmark's section reports: from a line starting with "Target" to the next blank line. */
function targetsOf(text: string, section: string): string[] {
  const start = text.search(new RegExp(`^## ${section}\\s*$`, "m"));
  if (start < 0) return [];
  const rest = text.slice(start + 1);
  const next = rest.search(/^## /m);
  const body = next < 0 ? rest : rest.slice(0, next);
  const out: string[] = [];
  let inside = false;
  for (const line of body.split("\n")) {
    if (/^Targets?\b/.test(line)) inside = true;
    else if (line.trim() === "") inside = false;
    if (inside) out.push(line);
  }
  return out;
}

const failed = outcomes.filter((o) => o.status === "failed");
if (write) {
  const cpu = cpus();
  const results = readFileSync(RESULTS_FILE, "utf8");
  const rows = outcomes.map(
    (o) =>
      `| ${o.bench.name} | \`${o.args.join(" ")}\` | ${o.status === "ok" ? "ok" : o.status === "absent" ? "not in this tree" : `failed (exit ${o.code})`} | ${fmt(o.minutes, 1)} | ${fmt(o.loadBefore, 2)} → ${fmt(o.loadAfter, 2)} |`,
  );
  const seen = new Set<string>();
  const targets = outcomes
    .filter((o) => o.status === "ok" && !seen.has(o.bench.section) && seen.add(o.bench.section))
    .flatMap((o) => {
      const lines = targetsOf(results, o.bench.section);
      return lines.length === 0 ? [] : [`**${o.bench.section}**`, "", ...lines, ""];
    });
  const section = [
    "## suite",
    "",
    `Run with \`npm run bench\` (bench/all.ts${quick ? " --quick" : ""}) from ${startedAt.toISOString().replace(/\.\d+Z$/, "Z")} to ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}; every benchmark in its own process, one after another, each writing its own section below with the ratio of every case to its baseline measured in the same run.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB RAM, Linux ${release()}.`,
    `Versions: Node ${process.version}; onnxruntime-node ${packageVersion("onnxruntime-node")}, fastify ${packageVersion("fastify")}, @grpc/grpc-js ${packageVersion("@grpc/grpc-js")}, ` +
      `autocannon ${packageVersion("autocannon")}; ${h2 ?? "h2load absent"}; ${pythonVersions(process.env.OMAF_PYTHON || "/usr/bin/python3", ["scikit-learn", "pandas", "numpy"])}; ` +
      `${pythonVersions(path.join(here, ".work", "mlserver-venv", "bin", "python"), ["mlserver", "mlserver-sklearn", "scikit-learn", "numpy"])}.`,
    "",
    "| benchmark | arguments | outcome | minutes | 1-min load average before → after |",
    "|---|---|---|---:|---:|",
    ...rows,
    "",
    ...(targets.length > 0 ? ["What the benchmarks report against their targets (details in each section):", "", ...targets] : []),
  ].join("\n");
  // The suite's section goes first, under the title.
  if (!/^## suite\s*$/m.test(results)) {
    const title = /^# .*\n/m.exec(results);
    const at = title ? title.index + title[0].length : 0;
    writeFileSync(RESULTS_FILE, `${results.slice(0, at)}\n## suite\n\n${results.slice(at).replace(/^\n+/, "")}`);
  }
  writeResultsSection("suite", section);
  process.stderr.write(`\nwrote the ## suite section of ${path.relative(repo, RESULTS_FILE)}\n`);
}
for (const o of outcomes) process.stderr.write(`${o.bench.name}: ${o.status}${o.status === "failed" ? ` (exit ${o.code})` : ""}, ${fmt(o.minutes, 1)} min\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
