// `omaf test` and `omaf predict` on python (GPPI) models: Odahu's head_input.pkl / head_output.pkl unpickled by the
// model's interpreter, tracebacks of broken entrypoints, predictions from a packed ZIP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { IRIS_DIR, PYTHON } from "./fixtures.js";

interface Step {
  step: string;
  status: string;
  detail?: string;
  error?: { code: string; message: string; traceback?: string };
}

const runTest = (dir: string) => {
  const r = omaf(["test", "--json", "--python", PYTHON, dir]);
  return { code: r.code, steps: (JSON.parse(r.stdout) as { steps: Step[] }).steps, stdout: r.stdout };
};
const statuses = (steps: Step[]) => steps.map((s) => `${s.step}:${s.status}`);

async function irisCopy(root: string): Promise<string> {
  const dir = path.join(root, "iris");
  await cp(IRIS_DIR, dir, { recursive: true });
  return dir;
}

test("test: the sklearn example predicts its head_input.pkl and matches head_output.pkl", () => {
  const { code, steps } = runTest(IRIS_DIR);
  assert.equal(code, 0, JSON.stringify(steps));
  assert.deepEqual(
    statuses(steps),
    ["open", "deps", "load", "info", "sample", "predict", "compare"].map((s) => `${s}:pass`),
  );
  assert.match(steps[1].detail!, /^3 declared, all importable by /);
  assert.equal(steps[4].detail, "head_input.pkl (3 rows)");
  assert.equal(steps[6].detail, "equals head_output.pkl");
});

test("test: a head_output.pkl the model does not answer fails compare with OMAF_ERR_SAMPLE_MISMATCH", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await irisCopy(dir);
  const out = path.join(model, "odahuflow_model", "head_output.pkl");
  execFileSync(PYTHON, [
    "-c",
    `import pickle, pandas as pd; pickle.dump(pd.DataFrame([["setosa"], ["setosa"], ["setosa"]], columns=["species"]), open(${JSON.stringify(out)}, "wb"))`,
  ]);
  const { code, steps } = runTest(model);
  assert.equal(code, 1);
  const compare = steps.at(-1)!;
  assert.deepEqual([compare.step, compare.status, compare.error?.code], ["compare", "fail", "OMAF_ERR_SAMPLE_MISMATCH"]);
  assert.match(compare.error!.message, /prediction\[1\]\[0\]: "versicolor" ≠ "setosa"/);

  await writeFile(out, "not a pickle");
  const unreadable = runTest(model);
  assert.equal(unreadable.code, 1);
  assert.equal(unreadable.steps.at(-1)!.error?.code, "OMAF_ERR_SAMPLE");
  assert.match(unreadable.steps.at(-1)!.error!.traceback!, /Traceback/);
});

test("test: a broken entrypoint fails load with the stable code and the model's own traceback", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await irisCopy(dir);
  const entry = path.join(model, "odahuflow_model", "entrypoint.py");
  const source = await readFile(entry, "utf8");

  await writeFile(entry, source.replace('    return "matrix"', '    raise RuntimeError("the weights are gone")'));
  const init = runTest(model);
  assert.equal(init.code, 1);
  assert.deepEqual(statuses(init.steps), ["open:pass", "deps:pass", "load:fail"]);
  assert.equal(init.steps[2].error?.code, "OMAF_ERR_MODEL_INIT");
  assert.match(init.steps[2].error!.message, /RuntimeError: the weights are gone/);
  assert.match(init.steps[2].error!.message, /entrypoint\.py", line \d+, in init/);
  const human = omaf(["test", "--python", PYTHON, model]);
  assert.match(human.stdout, /FAIL load[^\n]*\n\s+OMAF_ERR_MODEL_INIT: [^\n]*\n(\s+.*\n)*\s+raise RuntimeError\("the weights are gone"\)/);

  await writeFile(entry, `import not_a_module_omaf\n${source}`);
  const imports = runTest(model);
  assert.equal(imports.steps[2].error?.code, "OMAF_ERR_ENTRYPOINT_LOAD");
  assert.match(imports.steps[2].error!.message, /ModuleNotFoundError: No module named 'not_a_module_omaf'/);

  await writeFile(entry, source.replace('    return "matrix"', '    return "rows"'));
  const mode = runTest(model);
  assert.equal(mode.steps[2].error?.code, "OMAF_ERR_ENTRYPOINT_FUNCTION");
  assert.match(mode.steps[2].error!.message, /init\(\) .* returned 'rows'/);

  await writeFile(
    entry,
    source.replace('    return "matrix"', '    return "matrix"\n\n\ndef _broken():\n    pass').replace("def predict_on_matrix", "def _predict_on_matrix"),
  );
  const missing = runTest(model);
  assert.equal(missing.steps[2].error?.code, "OMAF_ERR_ENTRYPOINT_FUNCTION");
  assert.match(missing.steps[2].error!.message, /predict_on_matrix\(\) is missing/);

  await writeFile(entry, source.replace("    return inputs, outputs", "    return 42"));
  const info = runTest(model);
  assert.equal(info.steps[2].error?.code, "OMAF_ERR_ENTRYPOINT_FUNCTION");
  assert.match(info.steps[2].error!.message, /info\(\) .* bad schema/);
});

test("test: a declared package the interpreter lacks fails the deps step before loading; --skip-deps goes on", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await irisCopy(dir);
  const conda = path.join(model, "odahuflow_model", "conda.yaml");
  await writeFile(conda, `${await readFile(conda, "utf8")}  - definitely-not-a-package-omaf\n`);
  const { code, steps } = runTest(model);
  assert.equal(code, 1);
  assert.deepEqual(statuses(steps), ["open:pass", "deps:fail"]);
  assert.equal(steps[1].error?.code, "OMAF_ERR_PYTHON_DEPENDENCY");
  assert.match(steps[1].error!.message, /cannot import definitely-not-a-package-omaf/);
  const skipped = omaf(["test", "--json", "--skip-deps", "--python", PYTHON, model]);
  assert.equal(skipped.code, 0, skipped.stdout);
  assert.equal(JSON.parse(skipped.stdout).steps[1].status, "skip");
});

test("test: a prediction that raises fails the predict step with the model's traceback", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await irisCopy(dir);
  const entry = path.join(model, "odahuflow_model", "entrypoint.py");
  const source = await readFile(entry, "utf8");
  await writeFile(entry, source.replace("    labels = _model.predict(values)", '    raise ValueError("no predictions today")'));
  const { code, steps } = runTest(model);
  assert.equal(code, 1);
  const predict = steps.at(-1)!;
  assert.deepEqual([predict.step, predict.status, predict.error?.code], ["predict", "fail", "OMAF_ERR_PREDICT"]);
  assert.match(predict.error!.message, /row 1: .*ValueError: no predictions today/);
  assert.match(predict.error!.traceback!, /raise ValueError\("no predictions today"\)/);
});

test("predict: CSV through the python example, from a packed ZIP, answers species with the artifact's digest", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const zip = path.join(dir, "iris.zip");
  const packed = omaf(["pack", "--json", IRIS_DIR, "-o", zip]);
  assert.equal(packed.code, 0, packed.stderr);
  const digest = JSON.parse(packed.stdout).artifactDigest;
  const input = path.join(dir, "rows.csv");
  // Columns in another order than the model's features: the entrypoint matches them by name.
  await writeFile(input, "petal_width,petal_length,sepal_width,sepal_length\n0.2,1.4,3.5,5.1\n2.3,5.2,3.0,6.7\n1.5,4.2,3.0,5.9\n");
  const out = path.join(dir, "out.jsonl");
  const r = omaf(["predict", "--python", PYTHON, zip, "-i", input, "-o", out, "--output-format", "jsonl"], {
    env: { OMAF_CACHE_DIR: path.join(dir, "cache") },
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = (await readFile(out, "utf8"))
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { omaf: { model: "iris-sklearn", version: "1.0.0-1", artifactDigest: digest } });
  assert.deepEqual(lines.slice(1), [["setosa"], ["virginica"], ["versicolor"]]);
});
