// `omaf validate --python`: the artifact's conda dependencies against a real interpreter, from a folder and a ZIP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { IRIS_DIR, PYTHON } from "./fixtures.js";

test("the sklearn example's dependencies are importable by the Debian interpreter", () => {
  const r = omaf(["validate", "--python", "--interpreter", PYTHON, "--json", IRIS_DIR]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.python.missing, []);
  assert.deepEqual(report.python.required.sort(), ["numpy", "pandas", "scikit-learn"]);
});

test("a declared package the interpreter lacks is an error, read straight from a packed ZIP", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = path.join(dir, "model");
  await cp(IRIS_DIR, model, { recursive: true });
  const conda = path.join(model, "odahuflow_model/conda.yaml");
  await writeFile(conda, `${await readFile(conda, "utf8")}  - definitely-not-a-package-omaf\n`);
  const zip = path.join(dir, "iris.zip");
  assert.equal(omaf(["pack", model, "-o", zip]).code, 0);

  const r = omaf(["validate", "--python", "--interpreter", PYTHON, "--json", zip]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.python.missing, ["definitely-not-a-package-omaf"]);
  assert.deepEqual(
    report.issues.filter((i: { severity: string }) => i.severity === "error").map((i: { code: string }) => i.code),
    ["OMAF_ERR_PYTHON_DEPENDENCY"],
  );
  // Without --python the same artifact is valid: the check is opt-in.
  assert.equal(omaf(["validate", zip]).code, 0);
});
