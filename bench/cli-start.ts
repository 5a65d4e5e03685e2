// Start-up benchmark of the command line: whole-process wall time of `omaf --version` and `omaf validate` of a small
// artifact (and, for information, `omaf validate` of a folder and `omaf --help`), each against `node -e 0` measured
// in the same run, interleaved, as the median of --runs runs after 3 warm-up runs.
//   node --import tsx bench/cli-start.ts [--runs 21] [--node <node binary>]... [--compare <package root>] [--no-bundled]
//                                        [--no-write]
// omaf runs as the published package runs: compiled by tsc (tsconfig.build.json) into bench/.work/cli-start/pkg/dist
// beside copies of package.json and schemas/, started as `node dist/cli/main.js`. --compare names another package
// root whose dist/ is built (an older checkout, say), measured in the same runs. Each --node binary is measured in
// turn (default: the one running this script); on a Node.js with a compile cache (22.1+) every omaf command runs with
// it (warm: the warm-up runs fill it) and without it (NODE_DISABLE_COMPILE_CACHE=1). Where the time goes comes from
// one more run of each command under test/cli/load-log.mjs (the files it loads, by package), from 5 runs under
// --cpu-prof, and from the same package bundled by esbuild (see buildBundled; --no-bundled skips it). Writes a
// `## cli-start` section into bench/RESULTS.md unless --no-write.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { numberFlag } from "./flags.js";
import { RESULTS_FILE, writeResultsSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const work = path.join(here, ".work", "cli-start");
const LOAD_LOG = path.join(root, "test", "cli", "load-log.mjs");

/** The issue's targets: 150 ms and 250 ms of wall time where `node -e 0` took 114 ms (Node.js 20). */
const TARGETS = { version: { ms: 150, ratio: 150 / 114 }, validate: { ms: 250, ratio: 250 / 114 } };

const runs = numberFlag("--runs", 21);
const nodes = flagValues("--node");
if (nodes.length === 0) nodes.push(process.execPath);
const compare = flagValues("--compare")[0];

function flagValues(name: string): string[] {
  const values: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === name && process.argv[i + 1] !== undefined) values.push(process.argv[i + 1]);
  });
  return values;
}

/** Builds the package as npm publishes it: tsc's output in dist/, with package.json and schemas/ beside it. */
function buildPackage(): string {
  const pkg = path.join(work, "pkg");
  rmSync(pkg, { recursive: true, force: true });
  mkdirSync(pkg, { recursive: true });
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  const outDir = path.join(pkg, "dist");
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", outDir, "--declaration", "false", "--sourceMap", "false"], {
    stdio: "inherit",
  });
  cpSync(path.join(root, "package.json"), path.join(pkg, "package.json"));
  cpSync(path.join(root, "schemas"), path.join(pkg, "schemas"), { recursive: true });
  return pkg;
}

/** Packages left out of the bundle: the serving and writing stacks (loaded by serve, pack and unpack only). */
const BUNDLE_EXTERNAL = ["@grpc/*", "grpc-health-check", "fastify", "@fastify/*", "pino", "prom-client", "archiver", "tar", "cli-progress", "onnxruntime-*"];

/**
 * The same package with dist/ bundled by esbuild (tsx's dependency): code splitting keeps each dynamic import a chunk
 * of its own, loaded only when reached, so every command loads the same code as before in a few files instead of
 * ~100. Not what npm installs: measured to show how much of a start is the per-file cost of Node's module loaders.
 * package.json is copied into dist/ too, as the chunks sit at dist/cli/ whatever module they hold. Undefined when
 * esbuild cannot be imported.
 */
async function buildBundled(pkg: string): Promise<string | undefined> {
  const esbuild = await import("esbuild").catch(() => undefined);
  if (!esbuild) return undefined;
  const out = path.join(work, "bundled");
  rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [path.join(pkg, "dist", "cli", "main.js")],
    outdir: path.join(out, "dist", "cli"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    external: BUNDLE_EXTERNAL,
    // The CommonJS packages inside call require().
    banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
    logLevel: "warning",
  });
  for (const dir of [out, path.join(out, "dist")]) cpSync(path.join(pkg, "package.json"), path.join(dir, "package.json"));
  cpSync(path.join(pkg, "schemas"), path.join(out, "schemas"), { recursive: true });
  return path.join(out, "dist", "cli", "main.js");
}

/** The CLI entry of a package root, which must be built. */
function cliOf(pkg: string): string {
  const main = path.join(pkg, "dist", "cli", "main.js");
  if (!existsSync(main)) throw new Error(`${main} does not exist: build that package first`);
  return main;
}

mkdirSync(work, { recursive: true });
const pkg = buildPackage();
const main = cliOf(pkg);
const compareMain = compare ? cliOf(path.resolve(compare)) : undefined;
const bundledMain = process.argv.includes("--no-bundled") ? undefined : await buildBundled(pkg);

// The small artifact: examples/node-matrix packed by the CLI under test.
const folder = path.join(root, "examples", "node-matrix");
const zip = path.join(work, "node-matrix.zip");
execFileSync(process.execPath, [main, "pack", folder, "-o", zip, "--force", "--no-progress"], { stdio: "ignore" });

interface Variant {
  name: string;
  /** Key into TARGETS, for the two commands that have one. */
  target?: keyof typeof TARGETS;
  /** The CLI it runs, or none for the baseline. */
  cli?: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

const COMMANDS: { name: string; target?: keyof typeof TARGETS; args: string[] }[] = [
  { name: "omaf --version", target: "version", args: ["--version"] },
  { name: "omaf validate <small zip>", target: "validate", args: ["validate", zip] },
  { name: "omaf validate <folder>", args: ["validate", folder] },
  { name: "omaf --help", args: ["--help"] },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const ms = (x: number) => `${x.toFixed(0)} ms`;
const argv = (v: Variant, extra: string[] = []) => (v.cli ? [...extra, v.cli, ...v.args] : v.args);

/** One whole process, from spawn to exit, in ms; fails unless it exits 0. */
function timeOnce(node: string, v: Variant): number {
  const t0 = performance.now();
  const r = spawnSync(node, argv(v), { env: { ...process.env, ...v.env }, stdio: ["ignore", "pipe", "pipe"] });
  const elapsed = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${v.name} exited with ${r.status}: ${r.stderr}`);
  return elapsed;
}

/** Package name, or "omaf", of a loaded file. */
function packageOf(url: string, cli: string): string {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return m[1];
  return url.startsWith(pathToFileURL(path.dirname(path.dirname(path.dirname(cli)))).href) ? "omaf" : url;
}

/** The files the command loads, counted by package. */
function loadedFiles(node: string, v: Variant): Map<string, number> {
  const dir = mkdtempSync(path.join(tmpdir(), "omaf-cli-start-"));
  const log = path.join(dir, "load.log");
  try {
    spawnSync(node, argv(v, ["--import", LOAD_LOG]), { env: { ...process.env, ...v.env, OMAF_TEST_RESOLVE_LOG: log }, stdio: "ignore" });
    const files = new Set(
      readFileSync(log, "utf8")
        .split("\n")
        .filter((u) => u.startsWith("file:") && !u.includes("/test/cli/") && !u.includes("/test/helpers/")),
    );
    const counts = new Map<string, number>();
    for (const u of files) {
      const g = packageOf(u, v.cli!);
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/**
 * Profile time of one command by where it goes, in ms (median of 5 profiled runs; the profiler slows a run, so the
 * parts matter more than the sum): each sample counts for the innermost package or omaf file on its stack — so
 * Node's CommonJS loader at work on yaml's files counts for yaml — or, with no such frame, for Node itself (its ES
 * module loader, bootstrap and exit), the garbage collector or V8.
 */
function profile(node: string, v: Variant): { total: number; groups: Map<string, number> } {
  const totals: number[] = [];
  const groups = new Map<string, number[]>();
  for (let i = 0; i < 5; i++) {
    const dir = mkdtempSync(path.join(tmpdir(), "omaf-cli-prof-"));
    try {
      spawnSync(node, argv(v, ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100"]), { env: { ...process.env, ...v.env }, stdio: "ignore" });
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) continue;
      const p = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const parent = new Map<number, number>();
      for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
      const run = new Map<string, number>();
      let total = 0;
      p.samples.forEach((id, k) => {
        const us = p.timeDeltas[k] ?? 0;
        total += us;
        const g = sampleGroup(id, byId, parent, v.cli!);
        run.set(g, (run.get(g) ?? 0) + us);
      });
      totals.push(total / 1000);
      for (const [g, us] of run) groups.set(g, [...(groups.get(g) ?? []), us / 1000]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const n = totals.length;
  // A group absent from a run counts as 0 there.
  return { total: median(totals), groups: new Map([...groups].map(([g, xs]) => [g, median([...xs, ...Array(n - xs.length).fill(0)])])) };
}

function sampleGroup(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>, cli: string): string {
  const leaf = byId.get(id)!;
  const fn = leaf.callFrame.functionName;
  if (fn === "(garbage collector)") return "garbage collector";
  if (fn === "(idle)") return "idle (waiting for I/O)";
  if (fn === "(program)") return "V8 (compiling, runtime)";
  for (let n: ProfileNode | undefined = leaf; n; n = parent.has(n.id) ? byId.get(parent.get(n.id)!) : undefined) {
    const url = n.callFrame.url;
    if (url.startsWith("file:") || url.startsWith("/")) {
      const g = packageOf(url.startsWith("/") ? pathToFileURL(url).href : url, cli);
      return g === "omaf" ? "omaf's own modules" : g;
    }
  }
  return "Node.js (ES module loader, bootstrap, exit)";
}

/** Whether this Node.js has module.enableCompileCache (22.1 and later). */
function hasCompileCache(node: string): boolean {
  return execFileSync(node, ["-p", "typeof require('node:module').enableCompileCache"]).toString().trim() === "function";
}

interface NodeResult {
  version: string;
  rows: { variant: Variant; median: number }[];
  loads: Map<string, Map<string, number>>;
  profiles: Map<string, { total: number; groups: Map<string, number> }>;
}

function verdict(v: Variant, median: number, base: number): string {
  if (!v.target || v.cli !== main) return "";
  const t = TARGETS[v.target];
  const ratio = median / base;
  return `≤ ${t.ratio.toFixed(2)}×: ${ratio <= t.ratio ? "met" : "**missed**"}; ≤ ${t.ms} ms: ${median <= t.ms ? "met" : "**missed**"}`;
}

/** The bundled package against the published one, for `omaf validate` on the first Node.js measured. */
function bundledNote(): string {
  const r = results[0];
  const row = (cli: string | undefined) => r.rows.find((x) => x.variant.target === "validate" && x.variant.cli === cli && !x.variant.env);
  const [published, bundled] = [row(main), row(bundledMain)];
  if (!published || !bundled) return "a bundled build (without --no-bundled) shows how much";
  const base = r.rows[0].median;
  return (
    `the bundled package (rows "bundled": esbuild with code splitting, the serving stack left external) loads the ` +
    `same code in ${describeLoads(r.loads.get(bundled.variant.name) ?? new Map()).split(":")[0]} files and runs \`validate\` in ` +
    `${ms(bundled.median)} (${(bundled.median / base).toFixed(2)}×) against ${ms(published.median)} (${(published.median / base).toFixed(2)}×) on Node ${r.version}`
  );
}

function describeLoads(counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return `${total}: ${[...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([g, n]) => `${g} ${n}`)
    .join(", ")}`;
}

function describeProfile(p: { total: number; groups: Map<string, number> }): string {
  const parts = [...p.groups]
    .filter(([, x]) => x >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([g, x]) => `${g} ${x.toFixed(1)}`);
  return `${p.total.toFixed(0)} ms profiled: ${parts.join(", ")}`;
}

const loadBefore = loadAverage();
const results: NodeResult[] = [];
for (const node of nodes) {
  const version = execFileSync(node, ["--version"]).toString().trim();
  const cache = hasCompileCache(node);
  const variants: Variant[] = [{ name: "node -e 0", args: ["-e", "0"] }];
  for (const c of COMMANDS) {
    const others: [string, string][] = [];
    if (compareMain) others.push([compareMain, ", --compare"]);
    if (bundledMain && c.target) others.push([bundledMain, ", bundled"]);
    for (const [cli, label] of [[main, ""], ...others] as [string, string][]) {
      if (cache) {
        variants.push({ ...c, cli, name: `${c.name} (compile cache${label})` });
        variants.push({ ...c, cli, name: `${c.name} (no compile cache${label})`, env: { NODE_DISABLE_COMPILE_CACHE: "1" } });
      } else variants.push({ ...c, cli, name: `${c.name}${label ? ` (${label.slice(2)})` : ""}` });
    }
  }
  for (let i = 0; i < 3; i++) for (const v of variants) timeOnce(node, v);
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) variants.forEach((v, k) => times[k].push(timeOnce(node, v)));
  const rows = variants.map((variant, k) => ({ variant, median: median(times[k]) }));
  const loads = new Map<string, Map<string, number>>();
  const profiles = new Map<string, { total: number; groups: Map<string, number> }>();
  for (const v of variants.filter((x) => x.cli && !x.env)) {
    loads.set(v.name, loadedFiles(node, v));
    if (v.cli === main) profiles.set(v.name, profile(node, v));
  }
  results.push({ version, rows, loads, profiles });

  const base = rows[0].median;
  console.log(`\nNode ${version}: median of ${runs} runs, load average ${loadAverage()}`);
  for (const { variant, median } of rows) {
    console.log(
      `  ${variant.name.padEnd(48)} ${ms(median).padStart(7)}  ${(median / base).toFixed(2)}×  ${verdict(variant, median, base).replaceAll("**", "")}`,
    );
  }
  for (const [name, counts] of loads) console.log(`  ${name} loads ${describeLoads(counts)}`);
  for (const [name, p] of profiles) console.log(`  ${name}: ${describeProfile(p)}`);
}

if (!process.argv.includes("--no-write")) {
  const cpu = (readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? cpus()[0]?.model ?? "unknown";
  const major = (node: string) => execFileSync(node, ["-p", "process.versions.node.split('.')[0]"]).toString().trim();
  const command = ["node --import tsx bench/cli-start.ts", `--runs ${runs}`, ...nodes.map((n) => `--node <Node.js ${major(n)}>`)];
  if (compare) command.push("--compare <package built from the commit before the change>");
  if (!bundledMain) command.push("--no-bundled");
  const lines = [
    "## cli-start",
    "",
    `Run \`${command.join(" ")}\` on ${new Date().toISOString().slice(0, 10)}; machine: ${cpus().length} CPUs (${cpu}), ` +
      `Node ${results.map((r) => r.version).join(" and ")}. Machine load during the run: 1-minute load average ${loadBefore} before, ` +
      `${loadAverage()} after (other work on the machine makes single numbers noisy; the rows of one table come from the same runs).`,
    "",
    "Whole-process wall time, spawn to exit, of the compiled package (`node dist/cli/main.js`, as npm installs it), " +
      `median of ${runs} runs after 3 warm-up runs, every row interleaved with \`node -e 0\` (the baseline) in the same ` +
      "runs. The small artifact is examples/node-matrix packed (5 files, 3 KB). The targets come from a Node.js 20 machine " +
      `where \`node -e 0\` took 114 ms: \`--version\` within 150 ms (${TARGETS.version.ratio.toFixed(2)}× the baseline), ` +
      `\`validate\` within 250 ms (${TARGETS.validate.ratio.toFixed(2)}×). Node.js 22 starts in less than half of Node.js 20's time, ` +
      "so the same work is a larger multiple of its baseline there.",
  ];
  for (const r of results) {
    const base = r.rows[0].median;
    lines.push("", `### Node ${r.version}`, "", "| command | median | × `node -e 0` | target | files loaded, by package |", "|---|---:|---:|---|---|");
    for (const { variant, median } of r.rows) {
      const loads = r.loads.get(variant.name);
      lines.push(
        `| \`${variant.name}\` | ${ms(median)} | ${(median / base).toFixed(2)}× | ${verdict(variant, median, base)} | ${loads ? describeLoads(loads) : ""} |`,
      );
    }
    lines.push("", "CPU profile of each command (median of 5 runs, by where the code runs):", "");
    for (const [name, p] of r.profiles) lines.push(`- \`${name}\`: ${describeProfile(p)}`);
  }
  lines.push(
    "",
    "Where the rest goes. `omaf --version` alone reads package.json and loads no package (commander only when more " +
      "follows the flag). `omaf validate` of a ZIP loads commander and its own definition, then what its action uses: " +
      "yaml (72 CommonJS files, the largest part: close to a third of the time past the baseline on Node.js 20; the " +
      "same code bundled into one file loads in about a quarter of its time), yauzl, semver's `valid`, ajv's runtime " +
      "helper and some 20 of omaf's own ES modules (archive reader, manifest parser and validator, precompiled " +
      "validators, errors); the work itself takes about 10 ms on a cold JIT. Neither command loads archiver, tar, " +
      "ignore (folders only), cli-progress, fastify, gRPC, pino, prom-client or onnxruntime. What is left is mostly the " +
      `per-file cost of Node's module loaders rather than code that runs: ${bundledNote()}. Node.js 22's compile ` +
      "cache (turned on by dist/cli/main.js) saves a few ms more per start; Node.js 20 has none.",
    "",
  );
  writeResultsSection("cli-start", lines.join("\n"));
  console.log(`wrote ${RESULTS_FILE}`);
}
