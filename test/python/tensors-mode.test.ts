// Python tensors mode through real worker processes: inputs reach the model as numpy arrays of their datatype (views of
// the frame's bytes, BYTES as bytes objects), answers come back as named tensors in the declared datatypes, and the
// dataplane refuses a request that breaks the declared contract before the model runs.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import { createPythonModel } from "../../src/runtime/python/python-model.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { valuesFromData } from "../../src/tensor/values.js";
import { rejectsWith, served, type Served } from "../runtime/helpers.js";
import { collectingLogger, modelDir, PYTHON } from "./fixtures.js";

/** Reports what it was given, and counts its calls in calls.txt (so a test can tell the model never ran). */
const SOURCE = `
import os
import numpy as np

def init():
    return "tensors"

def predict_on_tensors(inputs):
    with open(os.path.join(os.environ["MODEL_LOCATION"], "calls.txt"), "a") as f:
        f.write("call\\n")
    x, words = inputs["x"], inputs["words"]
    described = [
        "%s %s %s view=%s" % (type(x).__name__, x.dtype, list(x.shape), x.base is not None),
        "%s %s %s of %s" % (type(words).__name__, words.dtype, list(words.shape), type(words[0]).__name__),
    ]
    return {
        "twice": x * 2,
        "described": np.array(described, dtype=object),
        "lengths": np.array([len(w) for w in words.reshape(-1)], dtype=np.int64),
    }
`;

const CONTRACT = {
  inputs: [
    { name: "x", datatype: "FP32", shape: [-1, 3] },
    { name: "words", datatype: "BYTES", shape: [-1] },
  ],
  outputs: [
    { name: "twice", datatype: "FP32", shape: [-1, 3] },
    { name: "described", datatype: "BYTES", shape: [2] },
    { name: "lengths", datatype: "INT32", shape: [-1] },
  ],
};

const enc = new TextEncoder();
const x = (rows: number[][], datatype: Tensor["datatype"] = "FP32"): Tensor => ({
  name: "x",
  datatype,
  shape: [rows.length, rows[0].length],
  data: datatype === "FP32" ? Float32Array.from(rows.flat()) : Float64Array.from(rows.flat()),
});
const words = (list: string[]): Tensor => ({ name: "words", datatype: "BYTES", shape: [list.length], data: list.map((w) => enc.encode(w)) });

describe("python tensors mode", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let model: Served;
  const calls = async () => (await readFile(join(dir, "model", "calls.txt"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;

  before(async () => {
    const made = await modelDir(SOURCE);
    ({ dir, cleanup } = made);
    const manifest = { ...made.manifest, model: { ...made.manifest.model, ...CONTRACT } } as OmafManifest;
    model = await served(createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger: collectingLogger() }), manifest);
  });
  after(async () => {
    await model?.close();
    await cleanup?.();
  });

  it("reports the declared contract as the model's tensors", () => {
    const meta = model.metadata();
    assert.equal(meta.mode, "tensors");
    assert.equal(meta.declaredContract, true);
    assert.deepEqual(meta.inputs, CONTRACT.inputs);
    assert.deepEqual(meta.outputs, CONTRACT.outputs);
  });

  it("hands numpy arrays of the tensors' datatypes (views, no copy) and reads the answer in the declared datatypes", async () => {
    const out = await model.predictTensors([
      x([
        [1, 2, 3],
        [4, 5, 6.5],
      ]),
      words(["ab", "cde"]),
    ]);
    assert.deepEqual(
      out.map((t) => [t.name, t.datatype, t.shape]),
      [
        ["twice", "FP32", [2, 3]],
        ["described", "BYTES", [2]],
        ["lengths", "INT32", [2]],
      ],
    );
    assert.deepEqual(Array.from(out[0].data as Float32Array), [2, 4, 6, 8, 10, 13]);
    assert.deepEqual(valuesFromData("BYTES", out[1].data), ["ndarray float32 [2, 3] view=True", "ndarray object [2] of bytes"]);
    // The model answered int64; the contract says INT32.
    assert.ok(out[2].data instanceof Int32Array);
    assert.deepEqual(Array.from(out[2].data as Int32Array), [2, 3]);
  });

  it("answers only the outputs asked for, in that order", async () => {
    const out = await model.predictTensors([x([[1, 1, 1]]), words(["a"])], ["lengths", "twice"]);
    assert.deepEqual(
      out.map((t) => t.name),
      ["lengths", "twice"],
    );
  });

  it("refuses a wrong datatype, rank or fixed dimension, a missing input and an unknown output before the model runs", async () => {
    const before = await calls();
    await rejectsWith(model.predictTensors([x([[1, 2, 3]], "FP64"), words(["a"])]), "OMAF_ERR_BAD_INPUT", /input x must be FP32, got FP64/);
    await rejectsWith(model.predictTensors([x([[1, 2]]), words(["a"])]), "OMAF_ERR_BAD_INPUT", /input x must have shape \[-1,3\], got \[1,2\]/);
    await rejectsWith(
      model.predictTensors([{ ...words(["a"]), shape: [1, 1] }, x([[1, 2, 3]])]),
      "OMAF_ERR_BAD_INPUT",
      /input words must have shape \[-1\], got \[1,1\]/,
    );
    await rejectsWith(model.predictTensors([x([[1, 2, 3]])]), "OMAF_ERR_BAD_INPUT", /input words BYTES \[-1\] is missing/);
    await rejectsWith(model.predictTensors([x([[1, 2, 3]]), words(["a"])], ["nope"]), "OMAF_ERR_BAD_INPUT", /no output nope/);
    assert.equal(await calls(), before, "the model ran for a request that breaks the contract");
  });

  it("matrix requests map onto the inputs' columns (x takes 3, words 1) and are refused when the values do not fit", async () => {
    await rejectsWith(model.predictMatrix({ data: [[1, 2, 3, "w", 5]] }), "OMAF_ERR_BAD_INPUT", /row 0 has 5 values; the model's inputs take 4 per row/);
    await rejectsWith(model.predictMatrix({ data: [[1, 2, "three", "w"]] }), "OMAF_ERR_BAD_INPUT");
    const out = await model.predictMatrix({
      data: [
        [1, 2, 3, "hello"],
        [4, 5, 6, "hi"],
      ],
    });
    assert.deepEqual(out.columns, ["twice", "described", "lengths"]);
    assert.deepEqual(
      out.prediction.map((row) => (row as unknown[])[2]),
      [5, 2],
    );
  });
});

describe("python tensors mode: what is refused at load", () => {
  it("a tensors-mode entrypoint without model.inputs (OMAF_ERR_CONTRACT)", async () => {
    const { dir, manifest, cleanup } = await modelDir(SOURCE);
    const model = createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger: collectingLogger() });
    try {
      await rejectsWith(model.load(), "OMAF_ERR_CONTRACT", /declares no model\.inputs/);
      assert.ok(
        model.workerPids().every((pid) => pid === undefined),
        "the workers were not stopped",
      );
    } finally {
      await model.close();
      await cleanup();
    }
  });

  it("an objects-mode entrypoint with a declared contract (OMAF_ERR_CONTRACT)", async () => {
    const made = await modelDir("def init():\n    return 'objects'\n\ndef predict_on_objects(x):\n    return x\n");
    const manifest = { ...made.manifest, model: { ...made.manifest.model, ...CONTRACT } } as OmafManifest;
    const model = createPythonModel({ dir: made.dir, manifest, python: PYTHON, workers: 1, logger: collectingLogger() });
    try {
      await rejectsWith(model.load(), "OMAF_ERR_CONTRACT", /serves objects/);
    } finally {
      await model.close();
      await made.cleanup();
    }
  });

  it("an answer that is not named tensors is the model's error (OMAF_ERR_PREDICT)", async () => {
    const made = await modelDir("def init():\n    return 'tensors'\n\ndef predict_on_tensors(inputs):\n    return [1, 2]\n");
    const manifest = { ...made.manifest, model: { ...made.manifest.model, inputs: CONTRACT.inputs } } as OmafManifest;
    const model = await served(createPythonModel({ dir: made.dir, manifest, python: PYTHON, workers: 1, logger: collectingLogger() }), manifest);
    try {
      await rejectsWith(model.predictTensors([x([[1, 2, 3]]), words(["a"])]), "OMAF_ERR_PREDICT", /must return a dict/);
    } finally {
      await model.close();
      await made.cleanup();
    }
  });
});
