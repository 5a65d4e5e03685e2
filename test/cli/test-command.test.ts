// `omaf test` end to end on the ONNX and node examples and on broken copies of them (python models: test/python/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const STEPS = ["open", "deps", "load", "info", "sample", "predict", "compare"];

interface Step {
  step: string;
  status: string;
  ms: number;
  detail?: string;
  error?: { code: string; message: string; traceback?: string };
}

const run = (dir: string) => {
  const r = omaf(["test", "--json", dir]);
  return { code: r.code, report: JSON.parse(r.stdout) as { passed: boolean; model?: string; artifactDigest?: string; steps: Step[] }, stderr: r.stderr };
};
const statuses = (steps: Step[]) => steps.map((s) => `${s.step}:${s.status}`);

/** A copy of an example under `root`, its manifest changed by `edit`. */
async function copyExample(root: string, name: string, edit: (m: Record<string, any>) => void = () => {}): Promise<string> {
  const dir = path.join(root, name);
  await cp(example(name), dir, { recursive: true });
  const file = path.join(dir, "odahuflow.model.yaml");
  const manifest = parse(await readFile(file, "utf8"));
  edit(manifest);
  await writeFile(file, stringify(manifest));
  return dir;
}

test("test: the ONNX example passes every step, predicting on its inputs' shapes filled with sample values", () => {
  const { code, report } = run(example("iris-onnx"));
  assert.equal(code, 0);
  assert.equal(report.passed, true);
  assert.equal(report.model, "iris-onnx");
  assert.match(report.artifactDigest!, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(statuses(report.steps), ["open:pass", "deps:skip", "load:pass", "info:pass", "sample:pass", "predict:pass", "compare:skip"]);
  assert.match(report.steps[3].detail!, /input FP32 \[-1, 4\] → probabilities FP32 \[-1, 3\], label INT64 \[-1, 1\]/);
  assert.match(report.steps[5].detail!, /outputs probabilities \[1, 3\], label \[1, 1\]/);
  for (const s of report.steps) assert.equal(typeof s.ms, "number");
});

test("test: human output prints each step with its time", () => {
  const r = omaf(["test", example("node-matrix")]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.deepEqual(
    lines.slice(0, 7).map((l) => l.split(/\s+/).slice(0, 2).join(" ")),
    ["ok open", "skip deps", "ok load", "ok info", "ok sample", "ok predict", "skip compare"],
  );
  for (const l of lines.slice(0, 7)) assert.match(l, /\d+\.\d ms/);
  assert.match(r.stdout, /one row of the info\(\) examples/);
  assert.match(lines.at(-1)!, /: passed$/);
});

test("test: the manifest's sample (JSON lines in, expected JSON out) is predicted and compared", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await copyExample(dir, "node-objects", (m) => (m.sample = { input: "samples/in.jsonl", output: "samples/out.json" }));
  const { mkdir } = await import("node:fs/promises");
  await mkdir(path.join(model, "samples"));
  await writeFile(path.join(model, "samples", "in.jsonl"), '{"text": "great and fast"}\n{"text": "slow, broken, bad"}\n');
  const expected = [
    { label: "positive", score: 2, positive: 2, negative: 0 },
    { label: "negative", score: -3, positive: 0, negative: 3 },
  ];
  await writeFile(path.join(model, "samples", "out.json"), JSON.stringify({ prediction: expected }));
  const ok = run(model);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  assert.deepEqual(
    statuses(ok.report.steps),
    STEPS.map((s) => `${s}:${s === "deps" ? "skip" : "pass"}`),
  );
  assert.match(ok.report.steps[4].detail!, /sample.input samples\/in.jsonl/);

  expected[1].score = -2;
  await writeFile(path.join(model, "samples", "out.json"), JSON.stringify({ prediction: expected }));
  const differs = run(model);
  assert.equal(differs.code, 1);
  const compare = differs.report.steps.at(-1)!;
  assert.deepEqual([compare.step, compare.status, compare.error?.code], ["compare", "fail", "OMAF_ERR_SAMPLE_MISMATCH"]);
  assert.match(compare.error!.message, /prediction\[1\]\.score: -3 ≠ -2/);

  await writeFile(path.join(model, "samples", "in.jsonl"), '{"text": "fine"}\nnot json\n');
  const badSample = run(model);
  assert.equal(badSample.code, 1);
  assert.deepEqual(badSample.report.steps.at(-1)!.error?.code, "OMAF_ERR_SAMPLE");
  assert.match(badSample.report.steps.at(-1)!.error!.message, /line 2/);
});

test("test: a sample file that is missing or outside the artifact fails the open step (OMAF_ERR_SAMPLE_PATH)", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const missing = await copyExample(dir, "node-matrix", (m) => (m.sample = { input: "nope.csv" }));
  const r = run(missing);
  assert.equal(r.code, 1);
  assert.deepEqual(statuses(r.report.steps), ["open:fail"]);
  assert.equal(r.report.steps[0].error?.code, "OMAF_ERR_MANIFEST_INVALID");
  assert.match(r.report.steps[0].error!.message, /OMAF_ERR_SAMPLE_PATH sample\.input: sample\.input "nope\.csv" is not a file in the artifact/);
  await writeFile(
    path.join(missing, "odahuflow.model.yaml"),
    (await readFile(path.join(missing, "odahuflow.model.yaml"), "utf8")).replace("nope.csv", "../../etc/passwd"),
  );
  const outside = run(missing);
  assert.match(outside.report.steps[0].error!.message, /OMAF_ERR_SAMPLE_PATH sample\.input: .*leaves the artifact root/);
});

test("test: a CSV sample for a matrix model, compared with the expected rows and columns", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await copyExample(dir, "node-matrix", (m) => (m.sample = { input: "sample.csv", output: "expected.json" }));
  await writeFile(path.join(model, "sample.csv"), "c,b,a\n3,2,1\n");
  await writeFile(path.join(model, "expected.json"), JSON.stringify({ prediction: [[6, 5.5]], columns: ["sum", "score"] }));
  const ok = run(model);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  await writeFile(path.join(model, "expected.json"), JSON.stringify({ prediction: [[6, 5.5]], columns: ["total", "score"] }));
  const columns = run(model);
  assert.equal(columns.code, 1);
  assert.match(columns.report.steps.at(-1)!.error!.message, /columns \["sum","score"\]; expected \["total","score"\]/);
});

test("test: a model whose init() throws fails the load step with its code and the model's error; later steps do not run", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await copyExample(dir, "node-matrix");
  await writeFile(path.join(model, "src", "weights.json"), "{ not json");
  const r = run(model);
  assert.equal(r.code, 1);
  assert.deepEqual(statuses(r.report.steps), ["open:pass", "deps:skip", "load:fail"]);
  assert.equal(r.report.steps[2].error?.code, "OMAF_ERR_MODEL_INIT");
  assert.match(r.report.steps[2].error!.message, /JSON/);
  const human = omaf(["test", model]);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /FAIL load .*\n\s+OMAF_ERR_MODEL_INIT: /);
  assert.match(human.stdout, /: failed\n$/);
});

test("test: an invalid artifact fails the open step with the manifest's code", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await copyExample(dir, "iris-onnx", (m) => (m.model.workDir = "nowhere"));
  const r = run(model);
  assert.equal(r.code, 1);
  assert.deepEqual(statuses(r.report.steps), ["open:fail"]);
  assert.equal(r.report.steps[0].error?.code, "OMAF_ERR_MANIFEST_INVALID");
  assert.match(r.report.steps[0].error!.message, /OMAF_ERR_WORKDIR/);
});

test("test --help describes the steps", () => {
  const r = omaf(["test", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /head_input\.pkl/);
  assert.match(r.stdout, /--json/);
});

test("test: an OIP v2 request as the sample, compared with the OIP response omaf predict wrote for it", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await copyExample(dir, "iris-onnx");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(path.join(model, "samples"));
  const request = { inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }] };
  await writeFile(path.join(model, "samples", "infer.json"), JSON.stringify(request));
  const predicted = omaf(["predict", model, "-i", path.join(model, "samples", "infer.json"), "-o", path.join(model, "samples", "answer.json")]);
  assert.equal(predicted.code, 0, predicted.stderr);
  // The manifest names the sample once its files exist (validation refuses a sample path that is not a file).
  const file = path.join(model, "odahuflow.model.yaml");
  await writeFile(file, stringify({ ...parse(await readFile(file, "utf8")), sample: { input: "samples/infer.json", output: "samples/answer.json" } }));
  const ok = run(model);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  assert.equal(ok.report.steps.at(-1)!.detail, "equals sample.output samples/answer.json");

  const answer = JSON.parse(await readFile(path.join(model, "samples", "answer.json"), "utf8"));
  answer.outputs.find((o: { name: string }) => o.name === "label").data = [0, 1];
  await writeFile(path.join(model, "samples", "answer.json"), JSON.stringify(answer));
  const differs = run(model);
  assert.equal(differs.code, 1);
  assert.match(differs.report.steps.at(-1)!.error!.message, /prediction\[1\]\.data\[1\]: 2 ≠ 1/);
});
