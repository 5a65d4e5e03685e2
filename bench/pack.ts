// Benchmark of the archive layer against Info-ZIP on a ~1 GiB mixed model folder.
//   node --import tsx bench/pack.ts [--size-mb 1024] [--runs 1] [--no-write]
// Prints, from one run: omaf pack vs `zip -r -6 -q` wall time, omaf unpack vs `unzip -q`, omaf's peak RSS (each omaf
// step runs in its own child process, which reports process.resourceUsage().maxRSS), and the time to open the
// artifact, read its central directory and one small entry (the validate path). Writes a `## pack` section into
// bench/RESULTS.md unless --no-write.
import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, readdirSync, statSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.join(here, ".work");

// ---------------------------------------------------------------------------------------------------------------
// Dataset: compressible text (code, configs, CSV), random bytes (incompressible) and float weights (compress a bit),
// thousands of small files and a few large ones. Built once, cached under bench/.work/.

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "model predict tensor input output batch layer weight bias score label feature value matrix vector config " +
  "return const import export function class async await for while if else true false null string number " +
  "train loss epoch accuracy precision recall dataset sample shape dtype float int version name path"
).split(" ");

function textChunk(rand: () => number, bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const kind = rand();
    let line: string;
    if (kind < 0.5) {
      const k = 3 + Math.floor(rand() * 9);
      line = Array.from({ length: k }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ");
    } else {
      const k = 4 + Math.floor(rand() * 6);
      line = Array.from({ length: k }, () => (rand() * 1000).toFixed(Math.floor(rand() * 5))).join(",");
    }
    line = "  ".repeat(Math.floor(rand() * 4)) + line + "\n";
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join("")).subarray(0, bytes);
}

function floatChunk(rand: () => number, bytes: number): Buffer {
  const f = new Float32Array(Math.ceil(bytes / 4));
  for (let i = 0; i < f.length; i++) f[i] = (rand() + rand() + rand() - 1.5) * 0.05; // weights-like values
  return Buffer.from(f.buffer, 0, bytes);
}

async function writeLarge(file: string, bytes: number, make: (n: number) => Buffer): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 8 * 1024 * 1024;
  for (let done = 0; done < bytes; done += chunk) {
    const buf = make(Math.min(chunk, bytes - done));
    if (!out.write(buf)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end(() => resolve()).once("error", reject));
}

async function buildDataset(sizeMB: number): Promise<string> {
  const dir = path.join(work, `model-${sizeMB}mb`);
  /** The files the manifest names, so the packed artifact is valid and `validate()` can be timed on it. */
  const writeNamedFiles = (root: string) => {
    mkdirSync(path.join(root, "src"), { recursive: true });
    writeFileSync(path.join(root, "src", "entry.py"), "def init():\n    return 'matrix'\n");
    writeFileSync(path.join(root, "env.yml"), "dependencies:\n  - python=3.11\n");
  };
  const marker = `${dir}.done`;
  if (existsSync(marker)) {
    writeNamedFiles(dir); // datasets cached before these files existed
    return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  const MB = 1024 * 1024;
  const total = sizeMB * MB;
  const rand = prng(42);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "odahuflow.model.yaml"),
    "binaries:\n  type: python\n  dependencies: conda\n  conda_path: env.yml\nmodel:\n  name: bench\n  version: 1.0.0-1\n" +
      "  workDir: src\n  entrypoint: entry\nodahuflowVersion: '1.0'\ntoolchain:\n  name: bench\n  version: 1.0.0\n",
  );
  writeNamedFiles(dir);
  // Small files: ~12 % of the bytes, 4,000 files of 1–64 KiB (3/4 text, 1/4 random).
  const smallBudget = total * 0.12;
  let small = 0;
  for (let i = 0; small < smallBudget && i < 100_000; i++) {
    const sub = path.join(dir, "src", `pkg${i % 40}`, `mod${i % 7}`);
    mkdirSync(sub, { recursive: true });
    const size = Math.floor(1024 + rand() * 63 * 1024);
    const isText = i % 4 !== 3;
    writeFileSync(path.join(sub, `${isText ? "file" : "blob"}${i}.${isText ? "py" : "bin"}`), isText ? textChunk(rand, size) : randomBytes(size));
    small += size;
  }
  // Large files: text CSV 33 %, random 35 %, float weights 20 %.
  mkdirSync(path.join(dir, "data"), { recursive: true });
  mkdirSync(path.join(dir, "weights"), { recursive: true });
  const large: [string, number, (n: number) => Buffer][] = [
    ["data/train-a.csv", total * 0.17, (n) => textChunk(rand, n)],
    ["data/train-b.csv", total * 0.16, (n) => textChunk(rand, n)],
    ["weights/embeddings.bin", total * 0.2, (n) => randomBytes(n)],
    ["weights/head.bin", total * 0.15, (n) => randomBytes(n)],
    ["weights/model.onnx", total * 0.2, (n) => floatChunk(rand, n)],
  ];
  for (const [name, bytes, make] of large) await writeLarge(path.join(dir, name), Math.floor(bytes), make);
  writeFileSync(marker, new Date().toISOString());
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements.

interface Timed {
  ms: number;
  /** CPU time of the process, user + system, all threads (from bash's `time`). */
  cpuMs: number;
  child?: Record<string, number | string>;
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<Timed> {
  // Flush dirty pages first, so that no step pays for writing back the previous step's output.
  execFileSync("sync");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // bash's `time` reports the command's user and system CPU (no /usr/bin/time here); it goes to stderr.
    const child = spawn("bash", ["-c", 'TIMEFORMAT="cpu %U %S"; time "$@"', "bash", cmd, ...args], {
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}: ${err}`));
      const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
      const line = out.trim().split("\n").pop() ?? "";
      resolve({ ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN, ...(line.startsWith("{") ? { child: JSON.parse(line) } : {}) });
    });
  });
}

/**
 * Compiles src/ and bench/pack-child.ts to plain JavaScript under bench/.work/dist, so the measured
 * child runs what the published CLI runs (compiled JS), without the TypeScript loader's start-up and memory.
 */
function compileChild(): string {
  const root = path.dirname(here);
  const dist = path.join(work, "dist");
  rmSync(dist, { recursive: true, force: true });
  const sources = [
    "bench/pack-child.ts",
    ...(readdirSync(path.join(root, "src"), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => `src/${f.split(path.sep).join("/")}`),
  ];
  for (const rel of sources) {
    const js = ts.transpileModule(readFileSync(path.join(root, rel), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const outFile = path.join(dist, rel.replace(/\.ts$/, ".js"));
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, js);
  }
  mkdirSync(path.join(dist, "schemas"), { recursive: true });
  for (const f of readdirSync(path.join(root, "schemas"))) writeFileSync(path.join(dist, "schemas", f), readFileSync(path.join(root, "schemas", f)));
  writeFileSync(path.join(dist, "package.json"), JSON.stringify({ type: "module" }));
  return path.join(dist, "bench/pack-child.js");
}

const childScript = compileChild();
const omaf = (...args: string[]) => run(process.execPath, [childScript, ...args]);

function warmCache(dir: string): void {
  // Read everything once so that neither tool pays for cold disk reads.
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else createHash("md5").update(readFileSync(p));
    }
  };
  walk(dir);
}

function dirBytes(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

const sizeMB = numberFlag("--size-mb", 1024);
const runs = numberFlag("--runs", 1);
const dataset = await buildDataset(sizeMB);
const { files: fileCount, bytes: dataBytes } = dirBytes(dataset);
console.log(`dataset ${dataset}: ${fileCount} files, ${(dataBytes / 1024 ** 2).toFixed(0)} MiB`);
warmCache(dataset);

const out = path.join(work, "out");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const zipOut = path.join(out, "zip.zip");
const omafOut = path.join(out, "omaf.zip");

const results: Record<
  "zipPack" | "omafPack" | "unzip" | "omafUnpack" | "packRss" | "unpackRss" | "zipPackCpu" | "omafPackCpu" | "unzipCpu" | "omafUnpackCpu",
  number[]
> = {
  zipPack: [],
  omafPack: [],
  unzip: [],
  omafUnpack: [],
  packRss: [],
  unpackRss: [],
  zipPackCpu: [],
  omafPackCpu: [],
  unzipCpu: [],
  omafUnpackCpu: [],
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const loadBefore = loadAverage();
let openResult: Timed | undefined;
const inProcessPack: number[] = [];
const inProcessUnpack: number[] = [];
for (let r = 0; r < runs; r++) {
  rmSync(zipOut, { force: true });
  const z = await run("zip", ["-r", "-6", "-q", zipOut, "."], { cwd: dataset });
  results.zipPack.push(z.ms);
  results.zipPackCpu.push(z.cpuMs);
  const o = await omaf("pack", dataset, omafOut);
  results.omafPack.push(o.ms);
  results.omafPackCpu.push(o.cpuMs);
  results.packRss.push(Number(o.child?.maxRssMB));
  inProcessPack.push(Number(o.child?.ms));
  console.log(
    `pack   run ${r + 1}: zip ${s(z.ms)} (cpu ${s(z.cpuMs)}), omaf ${s(o.ms)} (cpu ${s(o.cpuMs)}, in-process ${s(Number(o.child?.ms))}), omaf RSS ${Number(o.child?.maxRssMB).toFixed(0)} MB, load ${loadAverage()}`,
  );

  const unzipDir = path.join(out, "unzip");
  const omafDir = path.join(out, "unpacked");
  rmSync(unzipDir, { recursive: true, force: true });
  rmSync(omafDir, { recursive: true, force: true });
  const u = await run("unzip", ["-q", omafOut, "-d", unzipDir]);
  results.unzip.push(u.ms);
  results.unzipCpu.push(u.cpuMs);
  const ou = await omaf("unpack", omafOut, omafDir);
  results.omafUnpack.push(ou.ms);
  results.omafUnpackCpu.push(ou.cpuMs);
  results.unpackRss.push(Number(ou.child?.maxRssMB));
  inProcessUnpack.push(Number(ou.child?.ms));
  console.log(
    `unpack run ${r + 1}: unzip ${s(u.ms)} (cpu ${s(u.cpuMs)}), omaf ${s(ou.ms)} (cpu ${s(ou.cpuMs)}, in-process ${s(Number(ou.child?.ms))}), omaf RSS ${Number(ou.child?.maxRssMB).toFixed(0)} MB, load ${loadAverage()}`,
  );
  execFileSync("diff", ["-r", unzipDir, omafDir]);
  rmSync(unzipDir, { recursive: true, force: true });
  rmSync(omafDir, { recursive: true, force: true });
}
openResult = await omaf("validate", omafOut);
console.log(`validate ${JSON.stringify(openResult.child)}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const zipBytes = statSync(zipOut).size;
const omafBytes = statSync(omafOut).size;
const packRatio = median(results.omafPack) / median(results.zipPack);
const unpackRatio = median(results.omafUnpack) / median(results.unzip);
const rss = Math.max(...results.packRss, ...results.unpackRss);
const openMs = Number(openResult.child?.firstMs);
const verdict = (ok: boolean) => (ok ? "meets target" : "MISSES target");
console.log(
  `pack ratio ${packRatio.toFixed(2)} (${verdict(packRatio <= 1)}), unpack ratio ${unpackRatio.toFixed(2)} (${verdict(unpackRatio <= 1)}), peak RSS ${rss.toFixed(0)} MB, validate ${openMs.toFixed(1)} ms`,
);

if (!process.argv.includes("--no-write")) {
  const cpu = (readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? cpus()[0]?.model ?? "unknown";
  const nproc = execFileSync("nproc").toString().trim();
  const section = [
    "## pack",
    "",
    `Run \`node --import tsx bench/pack.ts --size-mb ${sizeMB}${runs > 1 ? ` --runs ${runs}` : ""}\` on ${new Date().toISOString().slice(0, 10)}; ` +
      `machine: ${nproc} CPUs (${cpu}), Node ${process.version}, Info-ZIP zip/unzip from /usr/bin. ` +
      `Machine load during the run: 1-minute load average ${loadBefore} before, ` +
      `${loadAverage()} after; wall times carry noise, CPU times (user + system, all threads) are steadier.`,
    "",
    `Dataset: ${fileCount} files, ${(dataBytes / 1024 ** 2).toFixed(0)} MiB — ~12 % small files (1–64 KiB; 3/4 text, 1/4 random), ` +
      "text CSV 33 %, random bytes 35 %, float32 weights 20 %. Page cache warmed and dirty pages synced before each " +
      "step. Wall times are whole processes: omaf runs in a child process as compiled JavaScript (what the published " +
      `CLI runs), Node start-up included; "in-process" is the time inside that process. Median of ${runs} run(s); ` +
      `each run: pack zip/omaf ${results.zipPack.map(s).join(", ")} / ${results.omafPack.map(s).join(", ")}; ` +
      `unpack unzip/omaf ${results.unzip.map(s).join(", ")} / ${results.omafUnpack.map(s).join(", ")}.`,
    "",
    "| step | baseline | omaf | ratio (target) | CPU time baseline / omaf | notes |",
    "|---|---|---|---|---|---|",
    `| pack | \`zip -r -6 -q\` ${s(median(results.zipPack))} | ${s(median(results.omafPack))} (in-process ${s(median(inProcessPack))}) | **${packRatio.toFixed(2)}** (≤ 1.0, ${verdict(packRatio <= 1)}) | ${s(median(results.zipPackCpu))} / ${s(median(results.omafPackCpu))} | zip ${(zipBytes / 1024 ** 2).toFixed(0)} MiB vs omaf ${(omafBytes / 1024 ** 2).toFixed(0)} MiB |`,
    `| unpack | \`unzip -q\` ${s(median(results.unzip))} | ${s(median(results.omafUnpack))} (in-process ${s(median(inProcessUnpack))}) | **${unpackRatio.toFixed(2)}** (≤ 1.0, ${verdict(unpackRatio <= 1)}) | ${s(median(results.unzipCpu))} / ${s(median(results.omafUnpackCpu))} | omaf verifies SHA-256 of every file; same artifact for both |`,
    `| peak RSS | | ${rss.toFixed(0)} MB | (< 200 MB, ${verdict(rss < 200)}) | | max of pack (${Math.max(...results.packRss).toFixed(0)} MB) and unpack (${Math.max(...results.unpackRss).toFixed(0)} MB) |`,
    `| validate (central directory, manifest, provenance, schema, cross-checks) | | ${openMs.toFixed(1)} ms first, ${Number(openResult.child?.bestMs).toFixed(1)} ms best of 5 | (< 100 ms, ${verdict(openMs < 100)}) | | \`validate()\` as \`omaf validate\` calls it; first = fresh process (cold JIT) |`,
    "",
    "How omaf gets there: files are hashed on their way into the deflater (one read); small files are read ahead in " +
      "parallel while the previous entry deflates; files whose samples deflate by less than 3 % (random or already " +
      "compressed data) are stored instead of deflated — Info-ZIP deflates them and then keeps the stored copy; unpack " +
      "inflates up to 4 entries at once (zlib runs in the thread pool) and hashes in the same pass, while entries up " +
      "to 1 MiB skip streams altogether (one read from a cached block, one inflate call, one write); the validate path " +
      "reads the central directory in 1 MiB blocks. omaf's unpack costs about as much CPU as unzip (SHA-256 instead of " +
      "CRC-32, plus Node's stream machinery); it wins on wall time by inflating on a second core, so when other work " +
      "takes that core its wall time approaches unzip's or exceeds it.",
    "",
  ].join("\n");
  writeResultsSection("pack", section);
  console.log(`wrote ${RESULTS_FILE}`);
}
rmSync(out, { recursive: true, force: true });
