import { test } from "node:test";
import assert from "node:assert/strict";
import { validateManifest, isValid } from "../../src/manifest/validate.js";
import { fileIndex } from "../../src/manifest/file-index.js";
import { parseManifestText } from "../../src/manifest/parse.js";
import type { ErrorCode } from "../../src/errors.js";

/** The seed example from the OMAF documentation. */
const seed = () => ({
  binaries: { type: "python", dependencies: "conda", conda_path: "mlflow/model/mlflow_env.yml" },
  model: { name: "wine-quality", version: "1.0.0-12333122", workDir: "mlflow/model", entrypoint: "entrypoint" },
  odahuflowVersion: "1.0",
  toolchain: { name: "mlflow", version: "1.0.0" },
});
const seedFiles = fileIndex(["odahuflow.model.yaml", "mlflow/model/mlflow_env.yml", "mlflow/model/entrypoint.py", "mlflow/model/model.pkl"]);

const codes = (issues: { code: string }[]) => issues.map((i) => i.code).sort();

test("the seed example is valid, with no warnings", () => {
  assert.deepEqual(validateManifest(seed(), seedFiles), []);
});

test("the seed example parses from YAML as written in the docs", () => {
  const yaml = `binaries:
  type: python
  dependencies: conda
  conda_path: mlflow/model/mlflow_env.yml
model:
  name: wine-quality
  version: 1.0.0-12333122
  workDir: mlflow/model
  entrypoint: entrypoint
odahuflowVersion: '1.0'
toolchain:
  name: mlflow
  version: 1.0.0
`;
  assert.deepEqual(parseManifestText(yaml), seed());
  assert.deepEqual(validateManifest(parseManifestText(yaml), seedFiles), []);
});

test("JSON content is read as JSON", () => {
  assert.deepEqual(parseManifestText(JSON.stringify(seed())), seed());
});

test("text that is neither JSON nor YAML is OMAF_ERR_MANIFEST_PARSE", () => {
  assert.throws(() => parseManifestText("model: [unclosed\n  - x: : :"), { code: "OMAF_ERR_MANIFEST_PARSE" });
});

type Mutation = [label: string, mutate: (m: any) => void, code: ErrorCode, path: string];
const broken: Mutation[] = [
  ["binaries.type unknown", (m) => (m.binaries.type = "rust"), "OMAF_ERR_BINARIES_TYPE", "binaries.type"],
  ["binaries.type missing", (m) => delete m.binaries.type, "OMAF_ERR_BINARIES_TYPE", "binaries.type"],
  ["binaries.dependencies missing", (m) => delete m.binaries.dependencies, "OMAF_ERR_BINARIES_DEPENDENCIES", "binaries.dependencies"],
  ["binaries.dependencies malformed", (m) => (m.binaries.dependencies = "con da"), "OMAF_ERR_BINARIES_DEPENDENCIES", "binaries.dependencies"],
  ["conda_path not in the artifact", (m) => (m.binaries.conda_path = "env.yml"), "OMAF_ERR_CONDA_PATH", "binaries.conda_path"],
  ["conda_path escapes", (m) => (m.binaries.conda_path = "../env.yml"), "OMAF_ERR_CONDA_PATH", "binaries.conda_path"],
  ["model.name with a space", (m) => (m.model.name = "wine quality"), "OMAF_ERR_MODEL_NAME", "model.name"],
  ["model.name with an underscore", (m) => (m.model.name = "wine_quality"), "OMAF_ERR_MODEL_NAME", "model.name"],
  ["model.name missing", (m) => delete m.model.name, "OMAF_ERR_MODEL_NAME", "model.name"],
  ["model.version not a version", (m) => (m.model.version = "latest"), "OMAF_ERR_MODEL_VERSION", "model.version"],
  ["model.version leading zero", (m) => (m.model.version = "01.0.0-1"), "OMAF_ERR_MODEL_VERSION", "model.version"],
  ["model.version bad suffix", (m) => (m.model.version = "1.0.0-a_b"), "OMAF_ERR_MODEL_VERSION", "model.version"],
  ["model.version a number", (m) => (m.model.version = 1), "OMAF_ERR_MODEL_VERSION", "model.version"],
  ["workDir missing in artifact", (m) => (m.model.workDir = "src"), "OMAF_ERR_WORKDIR", "model.workDir"],
  ["workDir escapes the root", (m) => (m.model.workDir = "mlflow/../../etc"), "OMAF_ERR_WORKDIR", "model.workDir"],
  ["workDir absolute", (m) => (m.model.workDir = "/mlflow/model"), "OMAF_ERR_WORKDIR", "model.workDir"],
  ["entrypoint does not resolve", (m) => (m.model.entrypoint = "predictor"), "OMAF_ERR_ENTRYPOINT", "model.entrypoint"],
  ["entrypoint missing", (m) => delete m.model.entrypoint, "OMAF_ERR_ENTRYPOINT", "model.entrypoint"],
  ["odahuflowVersion as a YAML number", (m) => (m.odahuflowVersion = 1), "OMAF_ERR_ODAHUFLOW_VERSION", "odahuflowVersion"],
  ["odahuflowVersion unsupported", (m) => (m.odahuflowVersion = "9.9"), "OMAF_ERR_ODAHUFLOW_VERSION", "odahuflowVersion"],
  ["toolchain.name missing", (m) => delete m.toolchain.name, "OMAF_ERR_TOOLCHAIN_NAME", "toolchain.name"],
  ["toolchain.name malformed", (m) => (m.toolchain.name = "ml flow"), "OMAF_ERR_TOOLCHAIN_NAME", "toolchain.name"],
  ["toolchain.version malformed", (m) => (m.toolchain.version = "1 0"), "OMAF_ERR_TOOLCHAIN_VERSION", "toolchain.version"],
  ["toolchain.version missing", (m) => delete m.toolchain.version, "OMAF_ERR_TOOLCHAIN_VERSION", "toolchain.version"],
  ["model section missing", (m) => delete m.model, "OMAF_ERR_MANIFEST_SCHEMA", "model"],
  ["sample.input not in the artifact", (m) => (m.sample = { input: "samples/in.csv" }), "OMAF_ERR_SAMPLE_PATH", "sample.input"],
  ["sample.input escapes", (m) => (m.sample = { input: "../in.csv" }), "OMAF_ERR_SAMPLE_PATH", "sample.input"],
  ["sample.input a folder", (m) => (m.sample = { input: "mlflow/model" }), "OMAF_ERR_SAMPLE_PATH", "sample.input"],
  ["sample.input empty", (m) => (m.sample = { input: "" }), "OMAF_ERR_SAMPLE_PATH", "sample.input"],
  ["sample without input", (m) => (m.sample = { output: "mlflow/model/model.pkl" }), "OMAF_ERR_SAMPLE_PATH", "sample.input"],
  ["sample.output not in the artifact", (m) => (m.sample = { input: "mlflow/model/model.pkl", output: "out.json" }), "OMAF_ERR_SAMPLE_PATH", "sample.output"],
  ["sample.output absolute", (m) => (m.sample = { input: "mlflow/model/model.pkl", output: "/etc/passwd" }), "OMAF_ERR_SAMPLE_PATH", "sample.output"],
];

for (const [label, mutate, code, path] of broken) {
  test(`${label} → exactly one ${code} issue at ${path}`, () => {
    const m = seed();
    mutate(m);
    const issues = validateManifest(m, seedFiles);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].code, code);
    assert.equal(issues[0].path, path);
    assert.equal(issues[0].severity, "error");
    assert.ok(issues[0].message.length > 10);
    assert.equal(isValid(issues), false);
  });
}

test("several broken fields give several issues at once", () => {
  const m: any = seed();
  m.model.name = "bad name";
  m.model.version = "x";
  m.odahuflowVersion = 1.0;
  delete m.toolchain.version;
  m.binaries.conda_path = "missing.yml";
  assert.deepEqual(codes(validateManifest(m, seedFiles)), [
    "OMAF_ERR_CONDA_PATH",
    "OMAF_ERR_MODEL_NAME",
    "OMAF_ERR_MODEL_VERSION",
    "OMAF_ERR_ODAHUFLOW_VERSION",
    "OMAF_ERR_TOOLCHAIN_VERSION",
  ]);
});

test("a version without suffix is a warning, not an error", () => {
  const m = seed();
  m.model.version = "1.0.0";
  const issues = validateManifest(m, seedFiles);
  assert.deepEqual(codes(issues), ["OMAF_WARN_VERSION_NO_SUFFIX"]);
  assert.equal(issues[0].severity, "warning");
  assert.equal(isValid(issues), true);
});

test("short Apache versions with a suffix are accepted", () => {
  for (const version of ["1-0", "1.0-abc.1", "2.3.4-rc-1"]) {
    const m = seed();
    m.model.version = version;
    assert.deepEqual(validateManifest(m, seedFiles), [], version);
  }
});

test("entrypoints resolve per environment", () => {
  const files = fileIndex(["m/pkg/predict.py", "m/pkg/__init__.py", "m/app.ts", "m/model.onnx", "m/model.jar", "m/sub/__init__.py"]);
  const ok = (type: string, entrypoint: string) =>
    validateManifest({ ...seed(), binaries: { type, dependencies: "none" }, model: { ...seed().model, workDir: "m", entrypoint } }, files);
  assert.deepEqual(ok("python", "pkg.predict"), []);
  assert.deepEqual(ok("python", "sub"), []);
  assert.deepEqual(ok("node", "app"), []);
  assert.deepEqual(ok("node", "app.ts"), []);
  assert.deepEqual(ok("onnx", "model.onnx"), []);
  assert.deepEqual(ok("java", "model.jar"), []);
  assert.deepEqual(codes(ok("python", "pkg.missing")), ["OMAF_ERR_ENTRYPOINT"]);
  assert.deepEqual(codes(ok("onnx", "model.jar")), ["OMAF_ERR_ENTRYPOINT"]);
  assert.deepEqual(codes(ok("node", "../../etc/passwd")), ["OMAF_ERR_ENTRYPOINT"]);
});

test("sample files that are in the artifact are valid", () => {
  const m: any = seed();
  m.sample = { input: "mlflow/model/model.pkl", output: "./mlflow/model/entrypoint.py" };
  assert.deepEqual(validateManifest(m, seedFiles), []);
});

test("a manifest that is not a mapping is one schema issue", () => {
  for (const v of [null, [], "text", 3]) assert.deepEqual(codes(validateManifest(v)), ["OMAF_ERR_MANIFEST_SCHEMA"]);
});

test("without a file index only the manifest itself is checked", () => {
  const m = seed();
  m.model.workDir = "not/there";
  assert.deepEqual(validateManifest(m), []);
});
