// checkPythonDependencies: the artifact's conda env file against a real interpreter, by itself and as the python
// model's load checks it before starting workers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isOmafError } from "../../src/errors.js";
import { checkPythonDependencies, declaredPackages, importNameOf } from "../../src/runtime/python/dependencies.js";
import { resolvePythonSettings } from "../../src/runtime/python/options.js";
import { createPythonModel } from "../../src/runtime/python/python-model.js";
import { IRIS_DIR, irisManifest, modelDir, PYTHON } from "./fixtures.js";

test("the iris example's environment is satisfied by the test interpreter", async () => {
  const report = await checkPythonDependencies({ dir: IRIS_DIR, manifest: irisManifest(), python: PYTHON });
  assert.equal(report.python, PYTHON);
  assert.match(report.pythonVersion, /^3\.\d+\.\d+/);
  assert.equal(report.requiredPythonVersion, "=3.11");
  assert.deepEqual(report.required, ["scikit-learn", "numpy", "pandas"]);
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.skipped, ["python=3.11", "pip"]);
});

test("a package the interpreter lacks is reported missing, conda and pip alike", async () => {
  const { dir, manifest, cleanup } = await modelDir(
    "",
    {
      "model/env.yml": [
        "name: test",
        "channels: [conda-forge]",
        "dependencies:",
        "  - python=3.6",
        "  - conda-forge::numpy=0.0.1",
        "  - definitely-not-a-package",
        "  - libgcc-ng",
        "  - pip:",
        "    - PyYAML>=5",
        "    - another_missing_pkg_xyz==1.0",
        "    - --index-url https://example.invalid/simple",
        "",
      ].join("\n"),
    },
    { conda_path: "model/env.yml" },
  );
  try {
    const report = await checkPythonDependencies({ dir, manifest, python: PYTHON });
    assert.deepEqual(report.required, ["numpy", "definitely-not-a-package", "pyyaml", "another-missing-pkg-xyz"]);
    assert.deepEqual(report.missing, ["definitely-not-a-package", "another-missing-pkg-xyz"]);
    assert.deepEqual(
      report.versionMismatches.map((m) => [m.name, m.wanted]),
      [["numpy", "0.0.1"]],
    );
    assert.deepEqual(report.skipped, ["python=3.6", "libgcc-ng", "--index-url https://example.invalid/simple"]);
  } finally {
    await cleanup();
  }
});

test("no conda_path means nothing is required; a missing file or interpreter is a clear error", async () => {
  const { dir, manifest, cleanup } = await modelDir("");
  try {
    const report = await checkPythonDependencies({ dir, manifest, python: PYTHON });
    assert.deepEqual([report.required, report.missing], [[], []]);
    await assert.rejects(
      checkPythonDependencies({ dir, manifest: { ...manifest, binaries: { ...manifest.binaries, conda_path: "model/none.yml" } }, python: PYTHON }),
      (err) => isOmafError(err, "OMAF_ERR_CONDA_PATH"),
    );
    await assert.rejects(
      checkPythonDependencies({ dir, manifest: { ...manifest, binaries: { ...manifest.binaries, conda_path: "../outside.yml" } }, python: PYTHON }),
      (err) => isOmafError(err, "OMAF_ERR_CONDA_PATH"),
    );
    await assert.rejects(checkPythonDependencies({ dir, manifest, python: "/nonexistent/python3" }), (err) => isOmafError(err, "OMAF_ERR_PYTHON_NOT_FOUND"));
  } finally {
    await cleanup();
  }
});

test("package names map to import names", () => {
  assert.equal(importNameOf("scikit-learn"), "sklearn");
  assert.equal(importNameOf("PyYAML"), "yaml");
  assert.equal(importNameOf("Pillow"), "PIL");
  assert.equal(importNameOf("opencv-python-headless"), "cv2");
  assert.equal(importNameOf("python-dateutil"), "dateutil");
  assert.equal(importNameOf("typing-extensions"), "typing_extensions");
  assert.equal(importNameOf("requests"), "requests");
});

test("declaredPackages reads conda specs, pip requirements and the python pin", () => {
  const d = declaredPackages({
    dependencies: [
      "python>=3.8",
      "defaults::scikit-learn=0.19.1=py36_0",
      "numpy 1.16.*",
      "_libgcc_mutex",
      { pip: ["mlflow[extras]==1.0 ; python_version>'3'", "git+https://example.invalid/x.git#egg=my_pkg", "-r requirements.txt"] },
    ],
  });
  assert.equal(d.pythonVersion, ">=3.8");
  assert.deepEqual(
    d.packages.map((p) => [p.name, p.source, p.module, p.pinned ?? null]),
    [
      ["scikit-learn", "conda", "sklearn", "0.19.1"],
      ["numpy", "conda", "numpy", "1.16.*"],
      ["mlflow", "pip", "mlflow", "1.0"],
      ["my-pkg", "pip", "my_pkg", null],
    ],
  );
  assert.deepEqual(d.skipped, ["python>=3.8", "_libgcc_mutex", "-r requirements.txt"]);
  assert.throws(
    () => declaredPackages({ dependencies: "numpy" }),
    (err) => isOmafError(err, "OMAF_ERR_BINARIES_DEPENDENCIES"),
  );
});

test("loading refuses, before any worker starts, an interpreter that lacks a declared package", async () => {
  const entry = "def init():\n    return 'matrix'\n\ndef predict_on_matrix(m, c=None):\n    return m, c\n";
  const env = "name: t\ndependencies:\n  - numpy\n  - definitely-not-a-package-xyz\n";
  const { dir, manifest, cleanup } = await modelDir(entry, { "model/env.yml": env }, { conda_path: "model/env.yml" });
  const warnings: string[] = [];
  const logger = { info: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
  try {
    const model = createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger });
    await assert.rejects(model.load(), (err) => {
      assert.ok(isOmafError(err, "OMAF_ERR_PYTHON_DEPENDENCY"), String(err));
      const message = (err as Error).message;
      for (const part of ["definitely-not-a-package-xyz", PYTHON, "model/env.yml", "-m pip install definitely-not-a-package-xyz"]) {
        assert.ok(message.includes(part), `${part} in: ${message}`);
      }
      return true;
    });
    assert.deepEqual(model.workerPids(), [], "no worker was started");
    await model.close();

    // Turned off (the model may not need the package): it loads and answers.
    const unchecked = createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger, checkDependencies: false });
    try {
      await unchecked.load();
      assert.deepEqual((await unchecked.predictMatrix({ data: [[1, 2]] })).prediction, [[1, 2]]);
    } finally {
      await unchecked.close();
    }
  } finally {
    await cleanup();
  }
});

test("a pinned version the interpreter does not have is a warning, and the model loads", async () => {
  const entry = "def init():\n    return 'matrix'\n\ndef predict_on_matrix(m, c=None):\n    return m, c\n";
  const { dir, manifest, cleanup } = await modelDir(entry, { "model/env.yml": "dependencies:\n  - numpy=0.0.1\n" }, { conda_path: "model/env.yml" });
  const warnings: string[] = [];
  const logger = { info: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
  const model = createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger });
  try {
    await model.load();
    assert.ok(
      warnings.some((w) => w.includes("numpy") && w.includes("0.0.1")),
      warnings.join("\n"),
    );
  } finally {
    await model.close();
    await cleanup();
  }
});

test("OMAF_PYTHON_CHECK_DEPS turns the check off with 0 or false, and refuses other values", () => {
  assert.equal(resolvePythonSettings({}, {}).checkDependencies, true);
  assert.equal(resolvePythonSettings({}, { OMAF_PYTHON_CHECK_DEPS: "0" }).checkDependencies, false);
  assert.equal(resolvePythonSettings({}, { OMAF_PYTHON_CHECK_DEPS: "false" }).checkDependencies, false);
  assert.equal(resolvePythonSettings({}, { OMAF_PYTHON_CHECK_DEPS: "1" }).checkDependencies, true);
  assert.throws(
    () => resolvePythonSettings({}, { OMAF_PYTHON_CHECK_DEPS: "maybe" }),
    (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
  );
});
