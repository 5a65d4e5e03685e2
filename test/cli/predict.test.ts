// `omaf predict` end to end: the real CLI in a child process on files on disk, with the ONNX and node examples and a
// node model that shows how rows were batched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { spawnSync } from "node:child_process";
import { cliArgs, omaf, omafSpawn } from "../helpers/cli.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const IRIS_ONNX = example("iris-onnx");
const NODE_MATRIX = example("node-matrix");
const IRIS_CSV = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n";
const PROVENANCE_LINE = /^# omaf model=(\S+) version=(\S+) artifactDigest=(sha256:[0-9a-f]{64})$/;

/** A node matrix model that answers, per row, the size of the call it came in and its first value; "bad" fails a call. */
async function batchModel(root: string): Promise<string> {
  const dir = path.join(root, "batches");
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify({
      binaries: { type: "node", dependencies: "none" },
      model: { name: "batches", version: "1.0.0-1", workDir: "src", entrypoint: "model.mjs" },
      odahuflowVersion: "1.0",
      toolchain: { name: "test", version: "1.0.0" },
    }),
    "src/model.mjs": [
      "export function init() { return 'matrix'; }",
      "export function predict_on_matrix(m, columns) {",
      "  if (m.some((r) => r.includes('bad'))) throw new Error('a row says bad');",
      "  return [m.map((r) => [m.length, r[0]]), ['batch', 'first']];",
      "}",
    ].join("\n"),
  });
  return dir;
}

/** Lines of a predict CSV output: the provenance line, the header, the records. */
function csvOutput(text: string): { provenance: RegExpMatchArray; header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split("\n");
  const provenance = lines[0].match(PROVENANCE_LINE);
  assert.ok(provenance, `first line names the model: ${lines[0]}`);
  return { provenance, header: lines[1].split(","), rows: lines.slice(2).map((l) => l.split(",")) };
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

test("predict: CSV in, CSV out — provenance line, output columns, one record per row (ONNX iris)", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeFile(path.join(dir, "iris.csv"), IRIS_CSV);
  const out = path.join(dir, "out.csv");
  const r = omaf(["predict", IRIS_ONNX, "-i", path.join(dir, "iris.csv"), "-o", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual([summary.rows, summary.predicted, summary.failed, summary.inputFormat, summary.outputFormat], [3, 3, 0, "csv", "csv"]);
  const { provenance, header, rows } = csvOutput(await readFile(out, "utf8"));
  assert.deepEqual([provenance[1], provenance[2], provenance[3]], ["iris-onnx", "1.0.0-1", summary.artifactDigest]);
  assert.deepEqual(header, ["probabilities_0", "probabilities_1", "probabilities_2", "label"]);
  assert.deepEqual(
    rows.map((row) => row[3]),
    ["0", "2", "1"],
  );
  for (const row of rows) assert.ok(Math.abs(row.slice(0, 3).reduce((a, v) => a + Number(v), 0) - 1) < 1e-5);
  assert.deepEqual(leftovers(dir), []);
});

test("predict: stdin (-) to stdout; the format comes from the content; quiet stderr when it is not a terminal", async () => {
  const r = omaf(["predict", NODE_MATRIX, "-i", "-"], { input: "a,b,c\n1,2,3\n4,5,6\n" });
  assert.equal(r.code, 0, r.stderr);
  const { provenance, header, rows } = csvOutput(r.stdout);
  assert.equal(provenance[1], "sum-matrix");
  assert.deepEqual(header, ["sum", "score"]);
  // score = 0.5a - b + 2c + 1 (the example's weights)
  assert.deepEqual(rows, [
    ["6", "5.5"],
    ["15", "10"],
  ]);
  assert.match(r.stderr, /^omaf: 2 of 2 rows predicted in [\d.]+ s/);
  assert.doesNotMatch(r.stderr, /\u2588|\u2591|\r/, "no progress bar off a terminal");
});

test("predict: JSON lines — objects matched by column name (any key order), answered as objects keyed by output column", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const input = path.join(dir, "rows.jsonl");
  await writeFile(input, '{"c":3,"a":1,"b":2}\n\n{"a":4,"b":5,"c":6}\n');
  const r = omaf(["predict", NODE_MATRIX, "-i", input]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(lines[0].omaf), ["model", "version", "artifactDigest"]);
  assert.equal(lines[0].omaf.model, "sum-matrix");
  assert.deepEqual(lines.slice(1), [
    { sum: 6, score: 5.5 },
    { sum: 15, score: 10 },
  ]);

  const arrays = path.join(dir, "arrays.jsonl");
  await writeFile(arrays, "[1,2,3]\n[4,5,6]");
  const a = omaf(["predict", NODE_MATRIX, "-i", arrays, "--output-format", "csv"]);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(csvOutput(a.stdout).rows, [
    ["6", "5.5"],
    ["15", "10"],
  ]);
});

test("predict: an Odahu invoke body {columns, data} answers Odahu's results.json with the provenance", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const input = path.join(dir, "request.json");
  await writeFile(
    input,
    JSON.stringify(
      {
        columns: ["c", "b", "a"],
        data: [
          [3, 2, 1],
          [6, 5, 4],
        ],
      },
      null,
      2,
    ),
  );
  const out = path.join(dir, "results.json");
  const r = omaf(["predict", NODE_MATRIX, "-i", input, "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(await readFile(out, "utf8"));
  assert.deepEqual(Object.keys(doc), ["model", "version", "artifactDigest", "prediction", "columns"]);
  assert.equal(doc.model, "sum-matrix");
  assert.match(doc.artifactDigest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(doc.prediction, [
    [6, 5.5],
    [15, 10],
  ]);
  assert.deepEqual(doc.columns, ["sum", "score"]);
});

test("predict: an OIP v2 inference request answers an OIP v2 response with model, version and digest", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const input = path.join(dir, "infer.json");
  const request = { id: "r1", inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }] };
  await writeFile(input, JSON.stringify(request));
  const r = omaf(["predict", IRIS_ONNX, "-i", input]);
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout);
  assert.equal(answer.model_name, "iris-onnx");
  assert.equal(answer.model_version, "1.0.0-1");
  assert.equal(answer.id, "r1");
  assert.match(answer.parameters.artifact_digest, /^sha256:[0-9a-f]{64}$/);
  const label = answer.outputs.find((o: { name: string }) => o.name === "label");
  assert.deepEqual([label.datatype, label.shape, label.data], ["INT64", [2, 1], [0, 2]]);
  const bad = omaf(["predict", IRIS_ONNX, "-i", input, "--output-format", "csv"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /OMAF_ERR_USAGE/);
});

test("predict: --batch-size sets the rows per model call", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await batchModel(dir);
  const input = "x\n1\n2\n3\n4\n5\n";
  const small = omaf(["predict", model, "-i", "-", "--batch-size", "2"], { input });
  assert.equal(small.code, 0, small.stderr);
  assert.deepEqual(csvOutput(small.stdout).rows, [
    ["2", "1"],
    ["2", "2"],
    ["2", "3"],
    ["2", "4"],
    ["1", "5"],
  ]);
  const whole = omaf(["predict", model, "-i", "-"], { input });
  assert.deepEqual(
    csvOutput(whole.stdout).rows.map((r) => r[0]),
    ["5", "5", "5", "5", "5"],
  );
  assert.equal(omaf(["predict", model, "-i", "-", "--batch-size", "0"], { input }).code, 2);
});

test("predict: a bad row stops the run with its line and leaves no output; --on-error skip and null go on and count", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await batchModel(dir);
  const input = path.join(dir, "rows.csv");
  // line 3 has a field too many (the reader refuses it); line 5 makes the model fail (found by retrying row by row)
  await writeFile(input, "x,y\n1,a\n2,b,extra\n3,c\nbad,d\n6,e\n");
  const out = path.join(dir, "out.csv");

  const stop = omaf(["predict", model, "-i", input, "-o", out]);
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /error OMAF_ERR_INPUT_FORMAT: line 3: 3 fields, the header has 2/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(leftovers(dir), []);

  const skip = omaf(["predict", model, "-i", input, "-o", out, "--on-error", "skip", "--json"]);
  assert.equal(skip.code, 0, skip.stderr);
  const summary = JSON.parse(skip.stdout);
  assert.deepEqual([summary.rows, summary.predicted, summary.failed], [5, 3, 2]);
  assert.deepEqual(
    summary.failures.map((f: { where: string; code: string }) => [f.where, f.code]),
    [
      ["line 3", "OMAF_ERR_INPUT_FORMAT"],
      ["line 5", "OMAF_ERR_PREDICT"],
    ],
  );
  assert.match(summary.failures[1].message, /a row says bad/);
  assert.deepEqual(
    csvOutput(await readFile(out, "utf8")).rows.map((r) => r[1]),
    ["1", "3", "6"],
  );

  const nulls = omaf(["predict", model, "-i", input, "-o", out, "--force", "--on-error", "null", "--output-format", "jsonl"]);
  assert.equal(nulls.code, 0, nulls.stderr);
  const lines = (await readFile(out, "utf8"))
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => (l === null ? null : l[1])),
    [1, null, 3, null, 6],
  );
  assert.match(nulls.stderr, /line 3: OMAF_ERR_INPUT_FORMAT/);
  assert.match(nulls.stderr, /3 of 5 rows predicted, 2 answered null/);

  const stopModel = omaf(["predict", model, "-i", "-", "--batch-size", "10"], { input: "x\n1\n2\nbad\n" });
  assert.equal(stopModel.code, 1);
  assert.match(stopModel.stderr, /error OMAF_ERR_PREDICT: line 4: .*a row says bad/);
});

test("predict: an existing output is kept unless --force; unreadable inputs have their own codes", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const out = path.join(dir, "out.csv");
  await writeFile(out, "keep me\n");
  await writeFile(path.join(dir, "iris.csv"), IRIS_CSV);
  const exists = omaf(["predict", IRIS_ONNX, "-i", path.join(dir, "iris.csv"), "-o", out]);
  assert.equal(exists.code, 2);
  assert.match(exists.stderr, /OMAF_ERR_TARGET_EXISTS/);
  assert.equal(await readFile(out, "utf8"), "keep me\n");
  assert.equal(omaf(["predict", IRIS_ONNX, "-i", path.join(dir, "iris.csv"), "-o", out, "--force"]).code, 0);
  assert.match((await readFile(out, "utf8")).split("\n")[0], PROVENANCE_LINE);

  const missing = omaf(["predict", IRIS_ONNX, "-i", path.join(dir, "nope.csv")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /OMAF_ERR_NOT_FOUND/);
  const empty = omaf(["predict", IRIS_ONNX, "-i", "-", "--input-format", "csv"], { input: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /OMAF_ERR_INPUT_FORMAT: the CSV input is empty/);
  const quote = omaf(["predict", IRIS_ONNX, "-i", "-", "--input-format", "csv"], { input: 'a,b\n1,"2\n' });
  assert.equal(quote.code, 1);
  assert.match(quote.stderr, /OMAF_ERR_INPUT_FORMAT: line 2: a quoted field is not closed/);
  await writeFile(path.join(dir, "doc.json"), '{"rows": [1, 2]}');
  const doc = omaf(["predict", IRIS_ONNX, "-i", path.join(dir, "doc.json")]);
  assert.equal(doc.code, 1);
  assert.match(doc.stderr, /OMAF_ERR_INPUT_FORMAT/);
  const wrongType = omaf(["predict", IRIS_ONNX, "-i", "-", "--input-format", "csv"], { input: "a,b,c,d\n1,2,3,x\n" });
  assert.equal(wrongType.code, 1);
  assert.match(wrongType.stderr, /OMAF_ERR_BAD_INPUT: line 2: /);
});

test("predict: Ctrl-C leaves neither the output nor its temp file", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const out = path.join(dir, "out.csv");
  const child = omafSpawn(["predict", IRIS_ONNX, "-i", "-", "--input-format", "csv", "-o", out], { stdin: "pipe" });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Writes that race the child's exit fail with EPIPE: expected here.
  child.stdin!.on("error", () => {});
  child.stdin!.write("sepal_length,sepal_width,petal_length,petal_width\n");
  const row = "5.1,3.5,1.4,0.2\n".repeat(1000);
  // Rows keep coming and the input never ends: the run is interrupted mid-stream, with its temp file open.
  const feed = setInterval(() => child.stdin!.write(row), 20);
  t.after(() => clearInterval(feed));
  const deadline = Date.now() + 30_000;
  while (leftovers(dir).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(leftovers(dir).length, 1, "the output is written to a temp file beside it");
  await new Promise((r) => setTimeout(r, 1000));
  child.kill("SIGINT");
  const code = await exited;
  clearInterval(feed);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted; no output written/);
  assert.deepEqual(readdirSync(dir), []);
});

test("predict: memory stays bounded on a long stream (400,000 rows under a 48 MB heap)", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const rows = 400_000;
  const chunks: string[] = ["sepal_length,sepal_width,petal_length,petal_width\n"];
  for (let i = 0; i < rows; i++) chunks.push(`${4 + (i % 40) / 10},${2 + (i % 25) / 10},${1 + (i % 60) / 10},${0.1 + (i % 25) / 10}\n`);
  // Held whole, the parsed rows alone would take more than the heap allows.
  const r = omaf(["predict", IRIS_ONNX, "-i", "-", "-o", path.join(dir, "out.csv"), "--json"], {
    input: chunks.join(""),
    env: { NODE_OPTIONS: "--max-old-space-size=48" },
  });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.equal(JSON.parse(r.stdout).predicted, rows);
});

test("predict --help lists the formats and options", () => {
  const r = omaf(["predict", "--help"]);
  assert.equal(r.code, 0);
  for (const flag of ["--input", "--output", "--input-format", "--output-format", "--batch-size", "--on-error", "--force", "--json"]) {
    assert.match(r.stdout, new RegExp(flag));
  }
});

test("predict: an objects model gets each CSV record as an object of its columns, and its answers become CSV columns", () => {
  const r = omaf(["predict", example("node-objects"), "-i", "-", "--input-format", "csv"], { input: 'text\n"great, fast"\nslow and bad\n' });
  assert.equal(r.code, 0, r.stderr);
  const { header, rows } = csvOutput(r.stdout);
  assert.deepEqual(header, ["label", "score", "positive", "negative"]);
  assert.deepEqual(rows, [
    ["positive", "2", "2", "0"],
    ["negative", "-2", "0", "2"],
  ]);
  const lines = omaf(["predict", example("node-objects"), "-i", "-"], { input: '{"text": "love it"}\n{"oops": 1}\n', env: {} });
  assert.equal(lines.code, 1);
  assert.match(lines.stderr, /error OMAF_ERR_PREDICT: line 2: .*'text' string/);
});

test("predict: on a terminal, a progress bar shows rows and rows/s", {
  skip: !existsSync("/usr/bin/script") && "needs script(1) from util-linux for a pseudo-terminal",
}, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const input = path.join(dir, "rows.csv");
  await writeFile(input, `sepal_length,sepal_width,petal_length,petal_width\n${"5.1,3.5,1.4,0.2\n".repeat(20_000)}`);
  const command = [process.execPath, ...cliArgs(["predict", IRIS_ONNX, "-i", input, "-o", path.join(dir, "out.csv")])].map((a) => `'${a}'`).join(" ");
  const r = spawnSync("/usr/bin/script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /predicting \[[█░]+\] 100% \| 20000 rows \| \d+ rows\/s/);
  assert.match(r.stdout, /20000 of 20000 rows predicted/);
});

test("predict: a reader that leaves early (| head) ends the run quietly", async () => {
  const child = omafSpawn(["predict", IRIS_ONNX, "-i", "-", "--input-format", "csv"], { stdin: "pipe" });
  child.stdin!.on("error", () => {});
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.stdin!.end(`sepal_length,sepal_width,petal_length,petal_width\n${"5.1,3.5,1.4,0.2\n".repeat(200_000)}`);
  // Like head -1: read the first line, then close the pipe.
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  child.stdout!.destroy();
  assert.equal(await exited, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
});
