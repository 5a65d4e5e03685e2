// Benchmark of the Java GJPI bridge next to the Python GPPI bridge (same framing, pool and worker code).
//   node --import tsx bench/java.ts [--seconds 3] [--calls 3000] [--no-write]
// Measures, in one run:
// - each bridge's own cost per call: wall time of predictMatrix() minus the time the model method itself took
//   (measured inside the worker), sequential calls on one worker, for a trivial echo model in each language
//   (numbers, which travel as raw float64, and strings, which travel as JSON) and for each language's iris example;
// - throughput and latency of the java-iris example through the bridge with one worker and one per CPU, from this
//   process by a bounded load loop (fixed concurrency, fixed duration).
// Writes the `## java` section of bench/RESULTS.md unless --no-write. Needs a JDK 17+ (OMAF_JAVA or java, javac and
// jar on PATH) and the python bench's interpreter (OMAF_PYTHON or /usr/bin/python3, with scikit-learn).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { OmafManifest } from "../src/manifest/manifest.types.js";
import type { MatrixInput } from "../src/runtime/model.js";
import type { TimedMatrixOutput } from "../src/runtime/process/process-model.js";
import { createJavaModel, type JavaModel } from "../src/runtime/java/java-model.js";
import { createPythonModel } from "../src/runtime/python/python-model.js";
import { numberFlag } from "./flags.js";
import { load, type Load, percentile } from "./call-load.ts";
import { RESULTS_FILE, writeResultsSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const JAVA = process.env.OMAF_JAVA || "java";
const PYTHON = process.env.OMAF_PYTHON || "/usr/bin/python3";

const SECONDS = numberFlag("--seconds", 3);
const CALLS = numberFlag("--calls", 3000);
const write = !process.argv.includes("--no-write");
// The JIT compiles the worker's and the model's hot paths after some thousand calls: warm both bridges alike.
const WARMUP = 2000;
const ROUNDS = 3;

const quiet = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

const manifestOf = (type: "java" | "python", entrypoint: string): OmafManifest => ({
  binaries: { type, dependencies: "none" },
  model: { name: "echo", version: "1.0.0-1", workDir: "model", entrypoint },
  odahuflowVersion: "1.0",
  toolchain: { name: "bench", version: "1.0.0" },
});

const JAVA_ECHO = `public class Echo {
  public String init() { return "matrix"; }
  public Object[] predictOnMatrix(double[][] m, String[] cols) { return new Object[] {m, cols}; }
  public Object[] predictOnMatrix(Object[][] m, String[] cols) { return new Object[] {m, cols}; }
}
`;

/** Throw-away echo artifacts: a JAR built with javac/jar, and a Python module. */
function echoArtifacts(root: string) {
  const java = path.join(root, "echo-java");
  mkdirSync(path.join(java, "model"), { recursive: true });
  mkdirSync(path.join(root, "classes"));
  writeFileSync(path.join(root, "Echo.java"), JAVA_ECHO);
  execFileSync("javac", ["--release", "17", "-d", path.join(root, "classes"), path.join(root, "Echo.java")]);
  writeFileSync(path.join(root, "MANIFEST.MF"), "Manifest-Version: 1.0\nOmaf-Model-Class: Echo\n");
  execFileSync("jar", [
    "--create",
    "--file",
    path.join(java, "model", "echo.jar"),
    "--manifest",
    path.join(root, "MANIFEST.MF"),
    "-C",
    path.join(root, "classes"),
    ".",
  ]);
  const python = path.join(root, "echo-python");
  mkdirSync(path.join(python, "model"), { recursive: true });
  writeFileSync(path.join(python, "model", "entrypoint.py"), "def init():\n    return 'matrix'\n\ndef predict_on_matrix(m, cols=None):\n    return m, cols\n");
  return { java: { dir: java, manifest: manifestOf("java", "echo.jar") }, python: { dir: python, manifest: manifestOf("python", "entrypoint") } };
}

interface TimedModel {
  predictMatrixTimed(input: MatrixInput): Promise<TimedMatrixOutput>;
}

interface Overhead {
  label: string;
  p50: number;
  p99: number;
  mean: number;
  modelMean: number;
}

/** One round of sequential calls on one worker: per-call wall time minus the model method's own time (µs). */
async function round(label: string, model: TimedModel, input: MatrixInput): Promise<Overhead> {
  const over: number[] = [];
  let modelTotal = 0;
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint();
    const { modelMicros } = await model.predictMatrixTimed(input);
    over.push(Number(process.hrtime.bigint() - t0) / 1000 - modelMicros);
    modelTotal += modelMicros;
  }
  over.sort((a, b) => a - b);
  return { label, p50: percentile(over, 50), p99: percentile(over, 99), mean: over.reduce((a, b) => a + b, 0) / over.length, modelMean: modelTotal / CALLS };
}

/**
 * The java and the python bridge on the same input, their rounds alternating so that other work on the shared CPUs
 * falls on both alike; for each, the round with the lowest median (such work only ever adds time).
 */
async function overheads(label: string, java: TimedModel, python: TimedModel, input: MatrixInput): Promise<[Overhead, Overhead]> {
  for (let i = 0; i < WARMUP; i++) {
    await java.predictMatrixTimed(input);
    await python.predictMatrixTimed(input);
  }
  let bestJava: Overhead | undefined;
  let bestPython: Overhead | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const j = await round(label, java, input);
    const p = await round(label, python, input);
    if (!bestJava || j.p50 < bestJava.p50) bestJava = j;
    if (!bestPython || p.p50 < bestPython.p50) bestPython = p;
  }
  return [bestJava!, bestPython!];
}

const root = mkdtempSync(path.join(tmpdir(), "omaf-bench-java-"));
try {
  const echo = echoArtifacts(root);
  const irisJavaDir = path.join(root, "java-iris");
  execFileSync("cp", ["-r", path.join(repo, "examples", "java-iris"), irisJavaDir]);
  execFileSync("sh", [path.join(irisJavaDir, "build.sh")], { stdio: "ignore" });
  const irisJavaManifest = parse(readFileSync(path.join(irisJavaDir, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
  const irisPythonDir = path.join(repo, "examples", "python-sklearn");
  const irisPythonManifest = parse(readFileSync(path.join(irisPythonDir, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
  const javaOpts = { java: JAVA, workers: 1, logger: quiet, cacheDir: path.join(root, "cache") };

  const javaEcho = createJavaModel({ ...echo.java, ...javaOpts });
  const pythonEcho = createPythonModel({ ...echo.python, python: PYTHON, workers: 1, logger: quiet });
  const javaIris = createJavaModel({ dir: irisJavaDir, manifest: irisJavaManifest, ...javaOpts });
  const pythonIris = createPythonModel({ dir: irisPythonDir, manifest: irisPythonManifest, python: PYTHON, workers: 1, logger: quiet });
  const t0 = performance.now();
  await javaEcho.load();
  const javaLoadMs = performance.now() - t0;
  await Promise.all([pythonEcho.load(), javaIris.load(), pythonIris.load()]);

  const wide = { data: Array.from({ length: 100 }, (_, r) => Array.from({ length: 4 }, (_, c) => r + c / 10)) };
  const small = { data: [IRIS_ROW] };
  const strings = { data: [["a", "b", "c", "d"]] };
  const rows: [Overhead, Overhead][] = [];
  for (const [what, input] of [
    ["echo model, 1×4 floats", small],
    ["echo model, 100×4 floats", wide],
    ["echo model, 1×4 strings (JSON path)", strings],
  ] as const) {
    rows.push(await overheads(what, javaEcho, pythonEcho, input));
  }
  rows.push(await overheads("iris example, 1×4 floats", javaIris, pythonIris, small));
  await Promise.all([javaEcho.close(), pythonEcho.close(), pythonIris.close()]);

  const loads: Load[] = [];
  const irisCall = (m: JavaModel) => () => m.predictMatrix(small);
  loads.push(await load("java-iris, 1 JVM worker", 1, SECONDS, irisCall(javaIris)));
  loads.push(await load("java-iris, 1 JVM worker", 8, SECONDS, irisCall(javaIris)));
  await javaIris.close();
  const workers = cpus().length;
  const irisN = createJavaModel({ dir: irisJavaDir, manifest: irisJavaManifest, ...javaOpts, workers });
  await irisN.load();
  loads.push(await load(`java-iris, ${workers} JVM workers`, 8, SECONDS, irisCall(irisN)));
  await irisN.close();

  // java -version writes to stderr.
  const javaVersion = spawnSync(JAVA, ["-version"], { encoding: "utf8" }).stderr.trim();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const [smallJava, smallPython] = rows[0]!;
  const section = [
    "## java",
    "",
    `Run \`node --import tsx bench/java.ts --seconds ${SECONDS} --calls ${CALLS}\` on ${new Date().toISOString().slice(0, 10)}; ` +
      `machine: ${cpus().length} CPUs (${cpu}), Node ${process.version}, ${JAVA} (${javaVersion.split("\n")[0]}), ${PYTHON}. ` +
      "Other work on the machine skews single numbers.",
    "",
    `Bridge overhead per call: wall time of \`predictMatrix()\` minus the time the model method took inside the worker, ${fmt(CALLS)} sequential calls on one worker after ${fmt(WARMUP)} warm-up calls; java and python rounds alternate, best of ${ROUNDS} rounds each by median. Both bridges share the framing, worker and pool code (src/runtime/process); only the worker side differs.`,
    "",
    "| input | java p50 | java p99 | java mean | python p50 | python p99 | python mean | java / python (p50) |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      ([j, p]) =>
        `| ${j.label} | ${fmt(j.p50, 1)} µs | ${fmt(j.p99, 1)} µs | ${fmt(j.mean, 1)} µs | ${fmt(p.p50, 1)} µs | ${fmt(p.p99, 1)} µs | ${fmt(p.mean, 1)} µs | ${(j.p50 / p.p50).toFixed(2)} |`,
    ),
    "",
    "Model method's own mean time: " + rows.map(([j, p]) => `${j.label}: java ${fmt(j.modelMean, 1)} µs, python ${fmt(p.modelMean, 1)} µs`).join("; ") + ".",
    "",
    `Target < 100 µs over the method's own time: ${smallJava.p50 < 100 ? "met" : "not met"} (java p50 ${fmt(smallJava.p50, 1)} µs, python p50 ${fmt(smallPython.p50, 1)} µs on the echo model). ` +
      `First load of a java model (worker compiled into an empty cache, then one JVM started): ${fmt(javaLoadMs)} ms.`,
    "",
    `java-iris example (one row per request) for ${SECONDS} s per line, bounded load loop from this process (the bridge is called in-process, without an HTTP layer):`,
    "",
    "| bridge | concurrency | requests/s | p50 | p99 |",
    "|---|---|---|---|---|",
    ...loads.map((l) => `| ${l.label} | ${l.concurrency} | ${fmt(l.perSecond)} | ${fmt(l.p50Ms, 3)} ms | ${fmt(l.p99Ms, 3)} ms |`),
    "",
    "Notes: the Java echo answers a double[][] for numbers, so its 100×4 answer goes back as raw float64; the Python echo " +
      "answers the list it got, which goes back as JSON (a numpy answer would take the binary path). Strings travel as " +
      "JSON both ways in both languages; the Java worker parses and writes that JSON with its own small reader and writer. " +
      "On a 2-CPU machine the Node thread and the workers share the CPUs, so the load-loop lines move with whatever else runs.",
    "",
  ].join("\n");
  process.stdout.write(`\n${section}\n`);
  if (write) {
    writeResultsSection("java", section);
    process.stdout.write(`\nwrote the ## java section of ${path.relative(repo, RESULTS_FILE)}\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
