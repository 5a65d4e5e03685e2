// Benchmark of `omaf predict` (offline prediction from CSV).
//   node --import tsx bench/predict.ts [--rows 1000000] [--python-rows 100000] [--runs 3] [--no-write]
// Measures, in one run, on the same generated iris rows (fixed formula, no randomness):
// - `omaf predict` of the ONNX iris example, CSV in and CSV out, as a whole CLI process (start, load, parse, predict,
//   write), at --batch-size 1000 (the default) and 10000: rows/s and the process's peak RSS (its --json summary);
// - the floor: the least a program can do for the same answer, in this process — read the CSV file, split each line
//   on commas into a Float32Array, run onnxruntime-node (omaf's session options) in calls of the same sizes, write
//   the label and probabilities as CSV — with no checks, no dataplane and no process start; and, beside it, the
//   model calls alone on rows already in memory;
// - `omaf predict` of the python example (scikit-learn through the GPPI workers) on --python-rows rows, against a
//   Python process that reads the same CSV with pandas in chunks and calls the same predict_on_matrix().
// Best of --runs by rows/s. Writes the `## predict` section of bench/RESULTS.md unless --no-write.
// Interpreter: OMAF_PYTHON or /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parse as csvParseSync } from "csv-parse/sync";
import * as ort from "onnxruntime-node";
import { CsvParser } from "../src/offline/csv.js";
import { numberFlag } from "./flags.js";
import { writeResultsSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..");
const PYTHON = process.env.OMAF_PYTHON || "/usr/bin/python3";
const ROWS = numberFlag("--rows", 1_000_000);
const PYTHON_ROWS = numberFlag("--python-rows", 100_000);
const RUNS = numberFlag("--runs", 3);
const write = !process.argv.includes("--no-write");
const BATCHES = [1000, 10_000];

const csvParseVersion = () => (JSON.parse(readFileSync(path.join(repo, "node_modules/csv-parse/package.json"), "utf8")) as { version: string }).version;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Row i of the benchmark input: four measurements in the iris ranges, one decimal each. */
function row(i: number): [number, number, number, number] {
  return [4.3 + ((i * 7) % 36) / 10, 2.0 + ((i * 3) % 24) / 10, 1.0 + ((i * 11) % 59) / 10, 0.1 + ((i * 13) % 24) / 10];
}

function writeCsv(file: string, rows: number): void {
  const parts: string[] = ["sepal_length,sepal_width,petal_length,petal_width\n"];
  let chunk = "";
  for (let i = 0; i < rows; i++) {
    const [a, b, c, d] = row(i);
    chunk += `${a.toFixed(1)},${b.toFixed(1)},${c.toFixed(1)},${d.toFixed(1)}\n`;
    if (chunk.length > 1 << 20) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  writeFileSync(file, parts.join(""));
}

interface Run {
  rowsPerSecond: number;
  seconds: number;
  peakRssMiB?: number;
  /** omaf: rows/s from the loaded model to the last row written (its --json summary), without start and load. */
  predictRowsPerSecond?: number;
}

const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));

/** One `omaf predict` process; wall time from spawn to exit (start and load included). */
function omafPredict(model: string, input: string, output: string, rows: number, extra: string[]): Run {
  const args = ["--import", "tsx", path.join(repo, "src/cli/main.ts"), "predict", model, "-i", input, "-o", output, "--force", "--json", ...extra];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: repo, encoding: "utf8", maxBuffer: 1 << 24 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`omaf predict failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const summary = JSON.parse(r.stdout) as { predicted: number; peakRssMiB: number; seconds: number };
  if (summary.predicted !== rows) throw new Error(`omaf predicted ${summary.predicted} of ${rows} rows`);
  return { rowsPerSecond: rows / seconds, seconds, peakRssMiB: summary.peakRssMiB, predictRowsPerSecond: rows / summary.seconds };
}

async function irisSession(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path.join(repo, "examples/iris-onnx/model/iris.onnx"), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
}

/** The floor: read, split, run and write in this process, nothing checked; the session is loaded before the clock. */
async function onnxFloor(input: string, output: string, rows: number, batch: number): Promise<Run> {
  const session = await irisSession();
  const t0 = performance.now();
  const out = createWriteStream(output);
  const values = new Float32Array(batch * 4);
  let n = 0;
  let done = 0;
  const flush = async () => {
    const result = await session.run({ input: new ort.Tensor("float32", values.subarray(0, n * 4), [n, 4]) });
    const p = result.probabilities.data as Float32Array;
    const l = result.label.data as BigInt64Array;
    let text = "";
    for (let i = 0; i < n; i++) text += `${p[i * 3]},${p[i * 3 + 1]},${p[i * 3 + 2]},${l[i]}\n`;
    if (!out.write(text)) await once(out, "drain");
    done += n;
    n = 0;
  };
  let header = true;
  for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (header) {
      header = false;
      continue;
    }
    const f = line.split(",");
    values[n * 4] = +f[0];
    values[n * 4 + 1] = +f[1];
    values[n * 4 + 2] = +f[2];
    values[n * 4 + 3] = +f[3];
    if (++n === batch) await flush();
  }
  if (n > 0) await flush();
  await new Promise<void>((resolve) => out.end(resolve));
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  if (done !== rows) throw new Error(`the floor answered ${done} of ${rows} rows`);
  return { rowsPerSecond: rows / seconds, seconds };
}

/** The model calls alone: the rows already in one Float32Array, calls of `batch` rows, nothing written. */
async function onnxModelOnly(rows: number, batch: number): Promise<Run> {
  const session = await irisSession();
  const values = new Float32Array(rows * 4);
  for (let i = 0; i < rows; i++) values.set(row(i), i * 4);
  const t0 = performance.now();
  let labels = 0;
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    const out = await session.run({ input: new ort.Tensor("float32", values.subarray(start * 4, (start + n) * 4), [n, 4]) });
    labels += (out.label.data as BigInt64Array).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  if (labels !== rows) throw new Error(`the model answered ${labels} of ${rows} rows`);
  return { rowsPerSecond: rows / seconds, seconds };
}

/** A Python process reading the CSV with pandas in chunks and calling the entrypoint itself; wall time to exit. */
function pythonFloor(input: string, rows: number, batch: number): Run {
  const workDir = path.join(repo, "examples/python-sklearn/odahuflow_model");
  const script = [
    "import os, sys, pandas as pd",
    `os.environ["MODEL_LOCATION"] = ${JSON.stringify(workDir)}`,
    `sys.path.insert(0, ${JSON.stringify(workDir)})`,
    "import entrypoint",
    "entrypoint.init()",
    "n = 0",
    `with open(${JSON.stringify(`${input}.py-out.csv`)}, "w") as out:`,
    `    for chunk in pd.read_csv(${JSON.stringify(input)}, chunksize=${batch}):`,
    "        prediction, columns = entrypoint.predict_on_matrix(chunk.values.tolist(), list(chunk.columns))",
    "        pd.DataFrame(prediction, columns=columns).to_csv(out, header=(n == 0), index=False)",
    "        n += len(prediction)",
    "print(n)",
  ].join("\n");
  const t0 = performance.now();
  const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`the python floor failed: ${r.stderr.slice(-2000)}`);
  if (Number(r.stdout.trim()) !== rows) throw new Error(`the python floor answered ${r.stdout.trim()} of ${rows} rows`);
  return { rowsPerSecond: rows / seconds, seconds };
}

/**
 * The CSV reader alone, rows/s: omaf's (src/offline/csv.ts, fed 64 KiB chunks as omaf predict reads them) against
 * csv-parse's synchronous parser on the whole text at once (its fastest form), same records out.
 */
function parsers(file: string): { omaf: number; csvParse: number } {
  const bytes = readFileSync(file);
  const omaf = () => {
    const p = new CsvParser();
    let n = 0;
    for (let i = 0; i < bytes.length; i += 65_536) n += p.push(bytes.toString("utf8", i, Math.min(bytes.length, i + 65_536))).length;
    return n + p.end().length;
  };
  const csvParse = () => (csvParseSync(bytes, { skip_empty_lines: true, relax_column_count: true, record_delimiter: ["\r\n", "\n"] }) as unknown[]).length;
  const rate = (f: () => number) => {
    const t0 = performance.now();
    const n = f();
    return n / ((performance.now() - t0) / 1000);
  };
  let best = { omaf: 0, csvParse: 0 };
  for (let i = 0; i < RUNS; i++) best = { omaf: Math.max(best.omaf, rate(omaf)), csvParse: Math.max(best.csvParse, rate(csvParse)) };
  return best;
}

const dir = mkdtempSync(path.join(tmpdir(), "omaf-bench-predict-"));
try {
  const csv = path.join(dir, "iris.csv");
  writeCsv(csv, ROWS);
  const pyCsv = path.join(dir, "iris-python.csv");
  writeCsv(pyCsv, PYTHON_ROWS);
  const out = path.join(dir, "out.csv");

  const onnxLines: string[] = [];
  const ratios: { wall: number; predict: number }[] = [];
  for (const batch of BATCHES) {
    const omafRuns: Run[] = [];
    const floorRuns: Run[] = [];
    const modelRuns: Run[] = [];
    // Alternating, so drift in the machine's load hits both alike.
    for (let i = 0; i < RUNS; i++) {
      omafRuns.push(omafPredict(path.join(repo, "examples/iris-onnx"), csv, out, ROWS, ["--batch-size", String(batch)]));
      floorRuns.push(await onnxFloor(csv, path.join(dir, "floor.csv"), ROWS, batch));
      modelRuns.push(await onnxModelOnly(ROWS, batch));
    }
    const o = best(omafRuns);
    const f = best(floorRuns);
    const m = best(modelRuns);
    ratios.push({ wall: o.rowsPerSecond / f.rowsPerSecond, predict: o.predictRowsPerSecond! / f.rowsPerSecond });
    console.log(
      `onnx batch ${batch}: omaf ${fmt(o.rowsPerSecond)} rows/s (${fmt(o.predictRowsPerSecond!)} loaded; ${o.peakRssMiB} MiB), floor ${fmt(f.rowsPerSecond)}, model only ${fmt(m.rowsPerSecond)}`,
    );
    onnxLines.push(
      `| omaf predict, iris-onnx, --batch-size ${fmt(batch)} | ${fmt(o.rowsPerSecond)} | ${fmt(o.predictRowsPerSecond!)} | ${fmt(o.seconds, 2)} s | ${fmt(o.peakRssMiB!, 0)} MiB |`,
      `| floor: read + split + onnxruntime-node + write, calls of ${fmt(batch)} rows | — | ${fmt(f.rowsPerSecond)} | ${fmt(f.seconds, 2)} s | — |`,
      `| model calls alone, rows already float32 in memory, ${fmt(batch)} per call | — | ${fmt(m.rowsPerSecond)} | ${fmt(m.seconds, 2)} s | — |`,
    );
  }

  const pyLines: string[] = [];
  const pyRatios: number[] = [];
  for (const batch of BATCHES) {
    const omafRuns: Run[] = [];
    const floorRuns: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      omafRuns.push(
        omafPredict(path.join(repo, "examples/python-sklearn"), pyCsv, out, PYTHON_ROWS, [
          "--batch-size",
          String(batch),
          "--python",
          PYTHON,
          "--output-format",
          "csv",
        ]),
      );
      floorRuns.push(pythonFloor(pyCsv, PYTHON_ROWS, batch));
    }
    const o = best(omafRuns);
    const f = best(floorRuns);
    pyRatios.push(o.rowsPerSecond / f.rowsPerSecond);
    console.log(`python batch ${batch}: omaf ${fmt(o.rowsPerSecond)} rows/s (${o.peakRssMiB} MiB), floor ${fmt(f.rowsPerSecond)} rows/s`);
    pyLines.push(
      `| omaf predict, iris-sklearn, --batch-size ${fmt(batch)} | ${fmt(o.rowsPerSecond)} | ${fmt(o.predictRowsPerSecond!)} | ${fmt(o.seconds, 2)} s | ${fmt(o.peakRssMiB!, 0)} MiB (node process) |`,
      `| python + pandas.read_csv(chunksize=${fmt(batch)}) + predict_on_matrix + to_csv (floor) | ${fmt(f.rowsPerSecond)} | — | ${fmt(f.seconds, 2)} s | — |`,
    );
  }

  const parse = parsers(csv);
  console.log(`CSV reader alone: omaf ${fmt(parse.omaf)} rows/s, csv-parse ${fmt(parse.csvParse)} rows/s`);

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const date = new Date().toISOString().slice(0, 10);
  const section = [
    "## predict",
    "",
    `Run \`node --import tsx bench/predict.ts --rows ${ROWS} --python-rows ${PYTHON_ROWS} --runs ${RUNS}\` on ${date}; machine: ${cpus().length} CPUs (${cpu}), Node ${process.version}, ${PYTHON}. Best of ${RUNS} alternating runs by rows/s; omaf's time is the whole CLI process (start, model load, CSV parse, predict, CSV write to a temp file and rename), run from source through tsx; peak RSS from the process's own \`--json\` summary.`,
    "",
    `ONNX iris example, ${fmt(ROWS)} CSV rows (${fmt((ROWS * 16) / 1e6, 0)} MB):`,
    "",
    "| case | rows/s, whole process | rows/s, model loaded | time | peak RSS |",
    "|---|---|---|---|---|",
    ...onnxLines,
    "",
    `Ratios omaf/floor (model loaded, both): ${BATCHES.map((b, i) => `${fmt(ratios[i].predict, 2)} at ${fmt(b)} rows per call (${fmt(ratios[i].wall, 2)} counting omaf's process start and model load)`).join(", ")}. Beyond the floor, omaf parses quoted CSV, types every value, checks each row against the model's input (FP32, width 4) in the dataplane, keeps rows in order with chunks in flight, and can report a bad row by its line.`,
    "",
    `CSV reader alone on the same ${fmt(ROWS)} rows (best of ${RUNS}): omaf's own (src/offline/csv.ts, 64 KiB chunks) ${fmt(parse.omaf)} rows/s; ` +
      `csv-parse ${csvParseVersion()} (synchronous, whole text at once) ${fmt(parse.csvParse)} rows/s — ${fmt(parse.omaf / parse.csvParse, 1)}× in favour of ` +
      "omaf's, which is why omaf predict reads CSV with its own reader.",
    "",
    `Python example (scikit-learn LogisticRegression through the GPPI workers, 2 workers), ${fmt(PYTHON_ROWS)} CSV rows:`,
    "",
    "| case | rows/s, whole process | rows/s, model loaded | time | peak RSS |",
    "|---|---|---|---|---|",
    ...pyLines,
    "",
    `Ratios omaf/python floor, whole processes: ${BATCHES.map((b, i) => `${fmt(pyRatios[i], 2)} at ${fmt(b)} rows per call`).join(", ")}. The entrypoint builds a pandas DataFrame from the row lists it is given on each call, in both cases; omaf starts two workers (each imports scikit-learn) before the first row.`,
    "",
  ].join("\n");
  console.log(section);
  if (write) writeResultsSection("predict", section);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
