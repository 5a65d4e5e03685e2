// Benchmark of the archive layer against Info-ZIP on a ~1 GiB mixed model folder.
//   node --import tsx bench/pack.ts [--size-mb 1024] [--runs 1] [--no-write]
// Prints, from one run: omaf pack vs `zip -r -6 -q` wall time, omaf unpack vs `unzip -q`, omaf's peak RSS (each omaf
// step runs in its own child process, which reports process.resourceUsage().maxRSS), and the time to open the
// artifact, read its central directory and one small entry (the validate path). Writes a `## pack` section into
// bench/RESULTS.md unless --no-write.
import { spawn, execFileSync } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, readdirSync, statSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import ts from "typescript";
import { RESULTS_FILE, writeResultsSection } from "./results.js";
import { numberFlag } from "./flags.js";
import { listFolder } from "../src/archive/folder.js";
import { openArchive } from "../src/archive/read.js";

/** How omaf gets its numbers (what the tables measure), paragraph by paragraph. */
const HOW = [
  "How omaf packs: files over 1 MiB are deflated in 1 MiB blocks, three at a time on zlib's thread pool, each " +
    "block with the previous block's last 32 KiB as its dictionary and ending in a sync flush (the last in Z_FINISH); " +
    "joined, the pieces are one ordinary deflate stream (pigz's method), within ~0.01 % of a single pass and " +
    "byte-identical from run to run (block size fixed). SHA-256 and CRC-32 (zlib's) run on the main thread in file " +
    "order while the pool deflates. Small files are read, hashed and deflated ahead of the writer, several at once; " +
    "files whose samples deflate by less than 3 % are stored (Info-ZIP deflates them, then keeps the stored copy). " +
    "The ZIP records come from omaf's own writer (src/archive/zip-records.ts): archiver, used before, deflated each " +
    "entry as one stream on one thread and computed CRC-32 in JavaScript, which left the second core idle on a " +
    "folder of a few large compressible files (0.64× zip's time on the mixed folder where it now takes 0.35×, same " +
    "session, 2026-12-01). The deflate row above is the floor: one thread's deflate work, halved by two cores.",
  "Where unpacking's time went, measured with per-thread CPU times (/proc) and CPU profiles of the main thread on " +
    "the mixed folder: the main thread was the limit at ~0.6 s of CPU — SHA-256 of the large entries (~0.2 s), a " +
    "five-stage stream pipeline per 256 KiB chunk (range stream, inflate, size guard, meter, write stream), garbage " +
    "collection of a fresh buffer per chunk (~0.3 s of CPU with V8's helper threads) and creating the 2,000 small " +
    "files — while the pool inflated. Now large entries go without streams: compressed data is read into reused " +
    "1 MiB buffers and fed to the inflater, stored data is read and handed on, and each chunk is metered on the main " +
    "thread and written at its offset (several writes in flight); past 64 MiB of large entries their SHA-256 runs on " +
    "a worker thread (each chunk copied into a shared buffer, a memcpy). The main thread keeps the metering, the " +
    "limits, the small files and the checks against the provenance record (before the rename, as before); its CPU " +
    "time is in brackets in the tables, the rest is the pool (inflate, reads, writes), the hashing thread and V8. " +
    "What is left: a deflate stream inflates on one thread, so the CSV's inflate (~0.4 s) is the longest single " +
    "piece; creating small files costs ~20 µs each, but up to ~170 µs each on this machine's ext4 right after the " +
    "previous copy was deleted (unzip pays it too); Node's start and module loading are ~0.1 s of every run.",
  "Peak RSS is mostly dead chunks waiting for V8's next collection (it collects once external memory has grown by " +
    "~64 MB), plus the windows: three blocks in flight per packed file and 32 MiB of small files read ahead; three " +
    "chunks per unpacked entry, four entries at once, and the hashing thread (~20 MB). The validate path reads the " +
    "central directory in 1 MiB blocks and the local headers in runs of up to 4 MiB through one reused buffer.",
];

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

/** Deterministic incompressible bytes: the AES-256-CTR key stream of a fixed key (fast, and the same on every run). */
function keyStream(seed: string): (n: number) => Buffer {
  const cipher = createCipheriv("aes-256-ctr", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

/** CSV rows: an id, a date, eight numeric features of varying precision and a label. */
function csvChunk(rand: () => number, bytes: number, state: { row: number; rest: string }): Buffer {
  const parts: string[] = [state.row === 0 ? "id,date,f0,f1,f2,f3,f4,f5,f6,f7,label\n" : state.rest];
  let n = parts[0].length;
  while (n < bytes) {
    const r = state.row++;
    const day = 1 + (r % 28);
    const fields = [String(r), `2024-${String(1 + (Math.floor(r / 28) % 12)).padStart(2, "0")}-${String(day).padStart(2, "0")}`];
    for (let k = 0; k < 8; k++) fields.push((rand() * 10 ** (k % 4)).toFixed(1 + (k % 5)));
    fields.push(WORDS[Math.floor(rand() * 12)]);
    const line = fields.join(",") + "\n";
    parts.push(line);
    n += line.length;
  }
  // The row cut at the chunk's end continues the next chunk.
  const text = parts.join("");
  state.rest = text.slice(bytes);
  return Buffer.from(text.slice(0, bytes));
}

/**
 * The mixed folder where a few large compressible files dominate: a 100 MB CSV, 80 MB of random bytes, 60 MB of
 * float32 weights and 2,000 small text files (0.5–4 KiB), all from fixed seeds, so every run packs the same bytes.
 */
async function buildMixedDataset(): Promise<string> {
  const dir = path.join(work, "mixed-232mb");
  const marker = `${dir}.done`;
  if (existsSync(marker)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "data"), { recursive: true });
  mkdirSync(path.join(dir, "weights"), { recursive: true });
  writeFileSync(
    path.join(dir, "odahuflow.model.yaml"),
    "binaries:\n  type: python\n  dependencies: conda\n  conda_path: env.yml\nmodel:\n  name: mixed\n  version: 1.0.0-1\n" +
      "  workDir: src\n  entrypoint: entry\nodahuflowVersion: '1.0'\ntoolchain:\n  name: bench\n  version: 1.0.0\n",
  );
  const rand = prng(7);
  for (let i = 0; i < 2000; i++) {
    const sub = path.join(dir, "src", `pkg${i % 25}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `mod${i}.py`), textChunk(rand, 512 + Math.floor(rand() * 3584)));
  }
  const csv = { row: 0, rest: "" };
  await writeLarge(path.join(dir, "data", "train.csv"), 100e6, (n) => csvChunk(rand, n, csv));
  await writeLarge(path.join(dir, "weights", "noise.bin"), 80e6, keyStream("omaf-bench-random"));
  await writeLarge(path.join(dir, "weights", "model.f32"), 60e6, (n) => floatChunk(rand, n));
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
const setsFlag = process.argv.indexOf("--sets");
const wanted = (setsFlag >= 0 ? process.argv[setsFlag + 1] : "standard,mixed").split(",");

interface DataSet {
  key: string;
  dir: string;
  title: string;
  describe: string;
  files: number;
  bytes: number;
}

const MiB = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
const sets: DataSet[] = [];
if (wanted.includes("standard")) {
  const dir = await buildDataset(sizeMB);
  const { files, bytes } = dirBytes(dir);
  sets.push({
    key: "standard",
    dir,
    title: `${MiB(bytes)} model folder`,
    describe: `${files} files, ${MiB(bytes)} — ~12 % small files (1–64 KiB; 3/4 text, 1/4 random), text CSV 33 %, random bytes 35 %, float32 weights 20 %`,
    files,
    bytes,
  });
}
if (wanted.includes("mixed")) {
  const dir = await buildMixedDataset();
  const { files, bytes } = dirBytes(dir);
  sets.push({
    key: "mixed",
    dir,
    title: `${MiB(bytes)} folder of a few large files`,
    describe: `${files} files, ${MiB(bytes)} — a 100 MB CSV, 80 MB of random bytes, 60 MB of float32 weights and 2,000 small text files (0.5–4 KiB)`,
    files,
    bytes,
  });
}
for (const set of sets) console.log(`dataset ${set.key} ${set.dir}: ${set.describe}`);

const out = path.join(work, "out");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const SERIES = [
  "zipPack",
  "omafPack",
  "unzip",
  "omafUnpack",
  "packRss",
  "unpackRss",
  "zipPackCpu",
  "omafPackCpu",
  "unzipCpu",
  "omafUnpackCpu",
  "inProcessPack",
  "inProcessUnpack",
  "packMainCpu",
  "unpackMainCpu",
] as const;
type Series = (typeof SERIES)[number];
interface SetResult {
  series: Record<Series, number[]>;
  zipBytes: number;
  omafBytes: number;
}
const resultOf = new Map<string, SetResult>();
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const loadBefore = loadAverage();

/** One run on one set: zip and omaf pack the folder, unzip and omaf unpack omaf's artifact. */
async function runOnce(set: DataSet, r: number): Promise<void> {
  const res = resultOf.get(set.key) ?? {
    series: Object.fromEntries(SERIES.map((k) => [k, []])) as unknown as Record<Series, number[]>,
    zipBytes: 0,
    omafBytes: 0,
  };
  resultOf.set(set.key, res);
  const add = (k: Series, v: number) => res.series[k].push(v);
  const zipOut = path.join(out, `${set.key}-zip.zip`);
  const omafOut = path.join(out, `${set.key}-omaf.zip`);
  warmCache(set.dir);
  rmSync(zipOut, { force: true });
  const z = await run("zip", ["-r", "-6", "-q", zipOut, "."], { cwd: set.dir });
  add("zipPack", z.ms);
  add("zipPackCpu", z.cpuMs);
  const o = await omaf("pack", set.dir, omafOut);
  add("omafPack", o.ms);
  add("omafPackCpu", o.cpuMs);
  add("packRss", Number(o.child?.maxRssMB));
  add("inProcessPack", Number(o.child?.ms));
  add("packMainCpu", Number(o.child?.mainThreadCpuMs));
  res.zipBytes = statSync(zipOut).size;
  res.omafBytes = statSync(omafOut).size;
  console.log(
    `${set.key} pack   run ${r + 1}: zip ${s(z.ms)} (cpu ${s(z.cpuMs)}), omaf ${s(o.ms)} (cpu ${s(o.cpuMs)}, main thread ${s(Number(o.child?.mainThreadCpuMs))}, in-process ${s(Number(o.child?.ms))}), omaf RSS ${Number(o.child?.maxRssMB).toFixed(0)} MB, load ${loadAverage()}`,
  );

  const unzipDir = path.join(out, "unzip");
  const omafDir = path.join(out, "unpacked");
  rmSync(unzipDir, { recursive: true, force: true });
  rmSync(omafDir, { recursive: true, force: true });
  const u = await run("unzip", ["-q", omafOut, "-d", unzipDir]);
  add("unzip", u.ms);
  add("unzipCpu", u.cpuMs);
  const ou = await omaf("unpack", omafOut, omafDir);
  add("omafUnpack", ou.ms);
  add("omafUnpackCpu", ou.cpuMs);
  add("unpackRss", Number(ou.child?.maxRssMB));
  add("inProcessUnpack", Number(ou.child?.ms));
  add("unpackMainCpu", Number(ou.child?.mainThreadCpuMs));
  console.log(
    `${set.key} unpack run ${r + 1}: unzip ${s(u.ms)} (cpu ${s(u.cpuMs)}), omaf ${s(ou.ms)} (cpu ${s(ou.cpuMs)}, main thread ${s(Number(ou.child?.mainThreadCpuMs))}, in-process ${s(Number(ou.child?.ms))}), omaf RSS ${Number(ou.child?.maxRssMB).toFixed(0)} MB, load ${loadAverage()}`,
  );
  execFileSync("diff", ["-r", unzipDir, omafDir]);
  rmSync(unzipDir, { recursive: true, force: true });
  rmSync(omafDir, { recursive: true, force: true });
}

/**
 * What each kind of work costs on one thread, for the files of `set` (from the page cache): deflate and inflate of
 * the files omaf deflates (as whole buffers, zlib level 6), SHA-256 and CRC-32 of every byte. The wall times above
 * are these costs spread over the cores, plus reading, writing and file creation.
 */
async function pieces(set: DataSet): Promise<Record<"deflateMs" | "inflateMs" | "shaMs" | "crcMs" | "deflatedBytes", number>> {
  const reader = await openArchive(path.join(out, `${set.key}-omaf.zip`));
  const deflated = new Set(reader.entries.filter((e) => e.compressedSize < e.size).map((e) => e.name));
  await reader.close();
  const r = { deflateMs: 0, inflateMs: 0, shaMs: 0, crcMs: 0, deflatedBytes: 0 };
  const time = (f: () => unknown) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  for (const f of await listFolder(set.dir)) {
    const b = readFileSync(f.absPath);
    r.shaMs += time(() => createHash("sha256").update(b).digest());
    r.crcMs += time(() => zlib.crc32(b));
    if (!deflated.has(f.path)) continue;
    let packed = Buffer.alloc(0);
    r.deflateMs += time(() => (packed = zlib.deflateRawSync(b, { level: 6 })));
    r.inflateMs += time(() => zlib.inflateRawSync(packed));
    r.deflatedBytes += b.length;
  }
  return r;
}

// Runs alternate between the sets, so a change in the machine's load falls on both.
for (let r = 0; r < runs; r++) for (const set of sets) await runOnce(set, r);
const standard = sets.find((x) => x.key === "standard");
const openResult = standard ? await omaf("validate", path.join(out, "standard-omaf.zip")) : undefined;
if (openResult) console.log(`validate ${JSON.stringify(openResult.child)}`);
const mixed = sets.find((x) => x.key === "mixed");
const mixedPieces = mixed ? await pieces(mixed) : undefined;
if (mixedPieces) console.log(`one-thread costs, mixed folder: ${JSON.stringify(mixedPieces)}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const PACK_TARGET = 0.6;
const UNPACK_TARGET = 0.8;
const RSS_TARGET = 200;
const verdict = (ratio: number, target: number) =>
  ratio <= target ? "meets target" : `MISSES target by ${(ratio - target).toFixed(2)} (${(((ratio - target) / target) * 100).toFixed(0)} % over)`;

interface Summary {
  set: DataSet;
  res: SetResult;
  packRatio: number;
  unpackRatio: number;
  rss: number;
}
const summaries: Summary[] = sets.map((set) => {
  const res = resultOf.get(set.key)!;
  const m = (k: Series) => median(res.series[k]);
  return {
    set,
    res,
    packRatio: m("omafPack") / m("zipPack"),
    unpackRatio: m("omafUnpack") / m("unzip"),
    rss: Math.max(...res.series.packRss, ...res.series.unpackRss),
  };
});
for (const x of summaries) {
  console.log(
    `${x.set.key}: pack ratio ${x.packRatio.toFixed(2)} (${verdict(x.packRatio, PACK_TARGET)}), unpack ratio ${x.unpackRatio.toFixed(2)} (${verdict(x.unpackRatio, UNPACK_TARGET)}), peak RSS ${x.rss.toFixed(0)} MB`,
  );
}

function table(x: Summary): string[] {
  const r = x.res.series;
  const m = (k: Series) => median(r[k]);
  const ratios = (a: number[], b: number[]) => a.map((v, i) => (v / b[i]).toFixed(2)).join(", ");
  return [
    `### ${x.set.title}`,
    "",
    `${x.set.describe}. Each run: pack zip/omaf ${r.zipPack.map(s).join(", ")} / ${r.omafPack.map(s).join(", ")} ` +
      `(ratios ${ratios(r.omafPack, r.zipPack)}); unpack unzip/omaf ${r.unzip.map(s).join(", ")} / ${r.omafUnpack.map(s).join(", ")} ` +
      `(ratios ${ratios(r.omafUnpack, r.unzip)}).`,
    "",
    "| step | baseline | omaf | ratio (target) | CPU time baseline / omaf (omaf's main thread) | notes |",
    "|---|---|---|---|---|---|",
    `| pack | \`zip -r -6 -q\` ${s(m("zipPack"))} | ${s(m("omafPack"))} (in-process ${s(m("inProcessPack"))}) | **${x.packRatio.toFixed(2)}** (≤ ${PACK_TARGET}, ${verdict(x.packRatio, PACK_TARGET)}) | ${s(m("zipPackCpu"))} / ${s(m("omafPackCpu"))} (${s(m("packMainCpu"))}) | zip ${MiB(x.res.zipBytes)} vs omaf ${MiB(x.res.omafBytes)} |`,
    `| unpack | \`unzip -q\` ${s(m("unzip"))} | ${s(m("omafUnpack"))} (in-process ${s(m("inProcessUnpack"))}) | **${x.unpackRatio.toFixed(2)}** (≤ ${UNPACK_TARGET}, ${verdict(x.unpackRatio, UNPACK_TARGET)}) | ${s(m("unzipCpu"))} / ${s(m("omafUnpackCpu"))} (${s(m("unpackMainCpu"))}) | omaf verifies SHA-256 of every file; same artifact for both |`,
    `| peak RSS | | ${x.rss.toFixed(0)} MB | (< ${RSS_TARGET} MB, ${x.rss < RSS_TARGET ? "meets target" : "MISSES target"}) | | max of pack (${Math.max(...r.packRss).toFixed(0)} MB) and unpack (${Math.max(...r.unpackRss).toFixed(0)} MB) |`,
    "",
  ];
}

function piecesTable(p: NonNullable<typeof mixedPieces>, set: DataSet): string[] {
  return [
    `Where the time goes, ${set.title}: one thread's cost of each kind of work on its files, measured in the same run ` +
      `(whole buffers from the page cache, no I/O):`,
    "",
    "| work | one thread | |",
    "|---|---|---|",
    `| deflate, level 6 | ${s(p.deflateMs)} | the ${MiB(p.deflatedBytes)} omaf deflates (the CSV, the weights, the small text files); \`zip -6\` spends about this plus deflating the random file it then stores |`,
    `| inflate | ${s(p.inflateMs)} | the same files |`,
    `| SHA-256 | ${s(p.shaMs)} | every byte, what omaf verifies |`,
    `| CRC-32 (zlib) | ${s(p.crcMs)} | every byte, what unzip checks (omaf computes it when packing, checks it only without a provenance record) |`,
    "",
  ];
}

if (!process.argv.includes("--no-write")) {
  const cpu = (readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? cpus()[0]?.model ?? "unknown";
  const nproc = execFileSync("nproc").toString().trim();
  const openMs = Number(openResult?.child?.firstMs);
  const section = [
    "## pack",
    "",
    `Run \`node --import tsx bench/pack.ts${sizeMB !== 1024 ? ` --size-mb ${sizeMB}` : ""}${runs > 1 ? ` --runs ${runs}` : ""}${setsFlag >= 0 ? ` --sets ${wanted.join(",")}` : ""}\` on ${new Date().toISOString().slice(0, 10)}; ` +
      `machine: ${nproc} CPUs (${cpu}), Node ${process.version}, Info-ZIP zip/unzip from /usr/bin. ` +
      `Machine load during the run: 1-minute load average ${loadBefore} before, ` +
      `${loadAverage()} after; wall times carry noise, CPU times (user + system, all threads) are steadier.`,
    "",
    "Targets: pack ≤ 0.6× and unpack (with SHA-256 verification) ≤ 0.8× Info-ZIP's wall time on any mixed folder, " +
      "peak RSS < 200 MB. Page cache warmed and dirty pages synced before each step. Wall times are whole processes: " +
      "omaf runs in a child process as compiled JavaScript (what the published CLI runs), Node start-up included; " +
      `"in-process" is the time inside that process. Medians of ${runs} run(s), the runs alternating between the folders.`,
    "",
    ...summaries.flatMap(table),
    ...(openResult
      ? [
          "| step | omaf | target | notes |",
          "|---|---|---|---|",
          `| validate (central directory, manifest, provenance, schema, cross-checks) | ${openMs.toFixed(1)} ms first, ${Number(openResult.child?.bestMs).toFixed(1)} ms best of 5 | < 100 ms, ${openMs < 100 ? "meets target" : "MISSES target"} | \`validate()\` of the ${standard!.title}'s artifact as \`omaf validate\` calls it; first = fresh process (cold JIT) |`,
          "",
        ]
      : []),
    ...(mixedPieces && mixed ? piecesTable(mixedPieces, mixed) : []),
    ...HOW.map((p) => `${p}\n`),
  ].join("\n");
  writeResultsSection("pack", section);
  console.log(`wrote ${RESULTS_FILE}`);
}
rmSync(out, { recursive: true, force: true });
