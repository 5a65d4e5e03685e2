// The examples/python-sklearn artifact served through the bridge: metadata, predictions, column handling.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isOmafError } from "../../src/errors.js";
import { createPythonModel, type PythonModel } from "../../src/runtime/python/python-model.js";
import { alive, collectingLogger, IRIS_DIR, irisManifest, PYTHON } from "./fixtures.js";

let model: PythonModel;
const logger = collectingLogger();

before(async () => {
  model = createPythonModel({ dir: IRIS_DIR, manifest: irisManifest(), python: PYTHON, workers: 2, logger });
  await model.load();
});
after(() => model.close());

test("metadata comes from the manifest and info()", () => {
  const meta = model.metadata();
  assert.equal(meta.name, "iris-sklearn");
  assert.equal(meta.version, "1.0.0-1");
  assert.equal(meta.environment, "python");
  assert.equal(meta.mode, "matrix");
  assert.deepEqual(
    meta.inputSchema?.map((f) => f.name),
    ["sepal_length", "sepal_width", "petal_length", "petal_width"],
  );
  assert.deepEqual(
    meta.outputSchema?.map((f) => [f.name, f.type]),
    [["species", "string"]],
  );
  assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP64", shape: [-1, 4] }]);
  assert.deepEqual(meta.outputs, [{ name: "prediction", datatype: "BYTES", shape: [-1, 1] }]);
});

test("predicts the known iris classes", async () => {
  const out = await model.predictMatrix({
    data: [
      [5.1, 3.5, 1.4, 0.2], // iris row 0: setosa
      [7.0, 3.2, 4.7, 1.4], // row 50: versicolor
      [6.3, 3.3, 6.0, 2.5], // row 100: virginica
    ],
  });
  assert.deepEqual(out, { prediction: [["setosa"], ["versicolor"], ["virginica"]], columns: ["species"] });
});

test("columns go to the model as given; this entrypoint matches them by name (as Odahu's mlflow one did)", async () => {
  const reordered = await model.predictMatrix({
    data: [
      [2.5, 6.0, 3.3, 6.3],
      [0.2, 1.4, 3.5, 5.1],
    ],
    columns: ["petal_width", "petal_length", "sepal_width", "sepal_length"],
  });
  assert.deepEqual(reordered.prediction, [["virginica"], ["setosa"]]);
  // The setosa row's values without names are read in schema order, which gives a different flower.
  const unnamed = await model.predictMatrix({ data: [[0.2, 1.4, 3.5, 5.1]] });
  assert.deepEqual(unnamed.prediction, [["virginica"]]);
});

test("a model error is OMAF_ERR_PREDICT with the Python message; the model keeps serving", async () => {
  await assert.rejects(
    model.predictMatrix({ data: [[1, 2, 3, 4]], columns: ["a", "b", "c", "d"] }),
    (err) => isOmafError(err, "OMAF_ERR_PREDICT") && /missing columns: sepal_length/.test(err.message),
  );
  const out = await model.predictMatrix({ data: [[5.1, 3.5, 1.4, 0.2]] });
  assert.deepEqual(out.prediction, [["setosa"]]);
});

test("rows of the wrong width or a ragged matrix are OMAF_ERR_BAD_INPUT before reaching Python", async () => {
  await assert.rejects(model.predictMatrix({ data: [[1, 2, 3]] }), (err) => isOmafError(err, "OMAF_ERR_BAD_INPUT"));
  await assert.rejects(model.predictMatrix({ data: [[1, 2, 3, 4], [1]] }), (err) => isOmafError(err, "OMAF_ERR_BAD_INPUT"));
  await assert.rejects(model.predictMatrix({ data: [] }), (err) => isOmafError(err, "OMAF_ERR_BAD_INPUT"));
});

test("a matrix model refuses objects-mode requests", async () => {
  await assert.rejects(model.predictObjects({ a: 1 }), (err) => isOmafError(err, "OMAF_ERR_NOT_IMPLEMENTED"));
});

test("concurrent requests are spread over both workers and all answered", async () => {
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [7.0, 3.2, 4.7, 1.4],
    [6.3, 3.3, 6.0, 2.5],
  ];
  const expected = ["setosa", "versicolor", "virginica"];
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => model.predictMatrix({ data: [rows[i % 3]!] })));
  answers.forEach((a, i) => assert.deepEqual(a.prediction, [[expected[i % 3]]]));
  assert.equal(model.workerPids().filter((p) => p !== undefined).length, 2);
});

test("close() stops every worker process", async () => {
  const other = createPythonModel({ dir: IRIS_DIR, manifest: irisManifest(), python: PYTHON, workers: 2, logger });
  await other.load();
  const pids = other.workerPids() as number[];
  assert.equal(pids.length, 2);
  assert.ok(pids.every((p) => alive(p)));
  await other.close();
  assert.ok(
    pids.every((p) => !alive(p)),
    "worker processes are gone after close()",
  );
  await assert.rejects(other.predictMatrix({ data: [[5.1, 3.5, 1.4, 0.2]] }), (err) => isOmafError(err, "OMAF_ERR_MODEL_NOT_READY"));
});
