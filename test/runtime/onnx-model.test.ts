// The onnx environment with a real onnxruntime session: the iris example, tensor conversions, and error codes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createModel } from "../../src/runtime/load.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { buildIrisOnnx, encodeOnnxModel, intAttr, IRIS_SAMPLES, ONNX_TYPE, tensorValue, type GraphObject } from "../../scripts/make-iris-onnx.js";
import { example, manifestFor, rejectsWith, served, TempModels, type Served } from "./helpers.js";

const temp = new TempModels();
after(() => temp.cleanup());

/** Loads a one-graph ONNX model written to a temp artifact, behind a dataplane (requests checked as when served). */
async function onnxModel(graph: GraphObject): Promise<Served> {
  const dir = await temp.create({ "model/m.onnx": encodeOnnxModel(graph) });
  return served(createModel({ dir, manifest: manifestFor("onnx", "m.onnx", "model") }));
}

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: "FP32",
  shape,
  data: Float32Array.from(values),
});

describe("iris example", () => {
  let model: Served;
  before(async () => {
    const { dir, manifest } = await example("iris-onnx");
    model = await served(createModel({ dir, manifest, provenance: { artifactDigest: "sha256:" + "0".repeat(64) } }), manifest);
  });
  after(() => model.close());

  test("the checked-in iris.onnx is what scripts/make-iris-onnx.ts builds", async () => {
    const { dir } = await example("iris-onnx");
    const onDisk = await readFile(join(dir, "model/iris.onnx"));
    const built = Buffer.from(buildIrisOnnx());
    assert.ok(built.length > 100);
    assert.ok(onDisk.equals(built), "examples/iris-onnx/model/iris.onnx differs: run scripts/make-iris-onnx.ts");
  });

  test("metadata: names, datatypes and shapes with -1 for the symbolic batch dimension", () => {
    const meta = model.metadata();
    assert.equal(meta.name, "iris-onnx");
    assert.equal(meta.version, "1.0.0-1");
    assert.equal(meta.environment, "onnx");
    assert.equal(meta.mode, "matrix");
    assert.equal(meta.artifactDigest, "sha256:" + "0".repeat(64));
    assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
    assert.deepEqual(meta.outputs, [
      { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      { name: "label", datatype: "INT64", shape: [-1, 1] },
    ]);
  });

  test("predictMatrix classifies setosa, versicolor and virginica", async () => {
    const out = await model.predictMatrix({ data: IRIS_SAMPLES.map((s) => s.features) });
    assert.deepEqual(out.columns, ["probabilities", "label"]);
    assert.equal(out.prediction.length, IRIS_SAMPLES.length);
    out.prediction.forEach((row, i) => {
      const [probabilities, label] = row as [number[], number];
      assert.equal(label, IRIS_SAMPLES[i].label);
      assert.equal(probabilities.length, 3);
      assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.equal(probabilities.indexOf(Math.max(...probabilities)), IRIS_SAMPLES[i].label);
    });
    // Column names given by the caller do not change the answer.
    const named = await model.predictMatrix({ data: [[5.1, 3.5, 1.4, 0.2]], columns: ["a", "b", "c", "d"] });
    assert.equal((named.prediction[0] as unknown[])[1], 0);
  });

  test("predictTensors with a named tensor, all outputs and a chosen output", async () => {
    const input = f32("input", [2, 4], [...IRIS_SAMPLES[1].features, ...IRIS_SAMPLES[2].features]);
    const all = await model.predictTensors([input]);
    assert.deepEqual(
      all.map((t) => [t.name, t.datatype, t.shape]),
      [
        ["probabilities", "FP32", [2, 3]],
        ["label", "INT64", [2, 1]],
      ],
    );
    assert.ok(all[0].data instanceof Float32Array);
    assert.deepEqual(Array.from(all[1].data as BigInt64Array), [1n, 2n]);
    const onlyLabel = await model.predictTensors([input], ["label"]);
    assert.deepEqual(
      onlyLabel.map((t) => t.name),
      ["label"],
    );
  });

  test("wrong tensor name, shape, datatype, size, missing input or unknown output → OMAF_ERR_BAD_INPUT", async () => {
    const ok = f32("input", [1, 4], IRIS_SAMPLES[0].features);
    await rejectsWith(model.predictTensors([f32("inputs", [1, 4], [1, 2, 3, 4])]), "OMAF_ERR_BAD_INPUT", /no input inputs; inputs: input/);
    await rejectsWith(model.predictTensors([f32("input", [1, 3], [1, 2, 3])]), "OMAF_ERR_BAD_INPUT", /must have shape \[-1,4\], got \[1,3\]/);
    await rejectsWith(model.predictTensors([f32("input", [4], [1, 2, 3, 4])]), "OMAF_ERR_BAD_INPUT", /shape/);
    await rejectsWith(model.predictTensors([f32("input", [2, 4], [1, 2, 3, 4])]), "OMAF_ERR_BAD_INPUT", /holds 8 elements but data has 4/);
    await rejectsWith(
      model.predictTensors([{ name: "input", datatype: "FP64", shape: [1, 4], data: new Float64Array(4) }]),
      "OMAF_ERR_BAD_INPUT",
      /must be FP32, got FP64/,
    );
    await rejectsWith(
      model.predictTensors([{ name: "input", datatype: "FP32", shape: [1, 4], data: new Float64Array(4) as never }]),
      "OMAF_ERR_BAD_INPUT",
      /Float32Array/,
    );
    await rejectsWith(model.predictTensors([{ ...ok, shape: [1, -4] }]), "OMAF_ERR_BAD_INPUT", /shape\[1\] must be a non-negative integer/);
    await rejectsWith(model.predictTensors([ok, ok]), "OMAF_ERR_BAD_INPUT", /twice/);
    await rejectsWith(model.predictTensors([]), "OMAF_ERR_BAD_INPUT", /input input FP32 \[-1,4\] is missing/);
    await rejectsWith(model.predictTensors([ok], ["labels"]), "OMAF_ERR_BAD_INPUT", /no output labels; outputs: probabilities, label/);
  });

  test("a value that does not fit the input's datatype is refused, not stored as Infinity (FP32 overflow)", async () => {
    await rejectsWith(
      model.predictMatrix({ data: [[1e39, 3.5, 1.4, 0.2]] }),
      "OMAF_ERR_BAD_INPUT",
      /row 0, column 0: expected a number within FP32 range.*got 1e\+39/,
    );
    await rejectsWith(
      model.predictTensors([{ name: "input", datatype: "FP32", shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) }], ["nope"]),
      "OMAF_ERR_BAD_INPUT",
      /no output nope/,
    );
  });

  test("bad matrices → OMAF_ERR_BAD_INPUT", async () => {
    const cases: unknown[] = [
      { data: [] },
      { data: [[5.1, 3.5, 1.4]] },
      {
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [1, 2, 3],
        ],
      },
      { data: [[5.1, 3.5, 1.4, "0.2"]] },
      { data: [[5.1, 3.5, 1.4, null]] },
      { data: [5.1, 3.5, 1.4, 0.2] },
      { data: [[5.1, 3.5, 1.4, 0.2], "row"] },
      null,
    ];
    for (const input of cases) await rejectsWith(model.predictMatrix(input as never), "OMAF_ERR_BAD_INPUT");
    const err = await rejectsWith(model.predictMatrix({ data: [[5.1, 3.5, 1.4, "x"]] }), "OMAF_ERR_BAD_INPUT");
    assert.match(err.message, /row 0, column 3 is a string; input input FP32 \[-1,4\] takes numbers/);
  });

  test("objects are not served by ONNX models → OMAF_ERR_NOT_IMPLEMENTED", async () => {
    await rejectsWith(model.predictObjects({ x: 1 }), "OMAF_ERR_NOT_IMPLEMENTED");
  });

  test("concurrent predictions on one session give each caller its own answer", async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => model.predictMatrix({ data: [IRIS_SAMPLES[i % 3].features] })));
    answers.forEach((a, i) => assert.equal((a.prediction[0] as unknown[])[1], IRIS_SAMPLES[i % 3].label));
  });
});

describe("onnx tensor types and shapes", () => {
  test("two inputs: named tensors work; a matrix row is split across them by their widths", async () => {
    const model = await onnxModel({
      name: "add",
      node: [{ op_type: "Add", input: ["a", "b"], output: ["sum"] }],
      input: [tensorValue("a", ONNX_TYPE.FLOAT, ["N", 2]), tensorValue("b", ONNX_TYPE.FLOAT, ["N", 2])],
      output: [tensorValue("sum", ONNX_TYPE.FLOAT, ["N", 2])],
    });
    const [sum] = await model.predictTensors([f32("b", [1, 2], [10, 20]), f32("a", [1, 2], [1, 2])]);
    assert.deepEqual(Array.from(sum.data as Float32Array), [11, 22]);
    await rejectsWith(model.predictTensors([f32("a", [1, 2], [1, 2])]), "OMAF_ERR_BAD_INPUT", /input b FP32 \[-1,2\] is missing/);
    await rejectsWith(model.predictMatrix({ data: [[1, 2]] }), "OMAF_ERR_BAD_INPUT", /row 0 has 2 values; the model's inputs take 4 per row \(a: 2, b: 2\)/);
    const out = await model.predictMatrix({ data: [[1, 2, 10, 20]] });
    assert.deepEqual(out, { prediction: [[[11, 22]]], columns: ["sum"] });
    await model.close();
  });

  test("BYTES ⇄ string tensors (UTF-8), and a 1-D input takes one value per matrix row", async () => {
    const model = await onnxModel({
      name: "echo",
      node: [{ op_type: "Identity", input: ["s"], output: ["out"] }],
      input: [tensorValue("s", ONNX_TYPE.STRING, ["N"])],
      output: [tensorValue("out", ONNX_TYPE.STRING, ["N"])],
    });
    assert.deepEqual(model.metadata().inputs, [{ name: "s", datatype: "BYTES", shape: [-1] }]);
    const enc = new TextEncoder();
    const [out] = await model.predictTensors([{ name: "s", datatype: "BYTES", shape: [2], data: [enc.encode("héllo"), enc.encode("")] }]);
    assert.equal(out.datatype, "BYTES");
    assert.deepEqual(
      (out.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)),
      ["héllo", ""],
    );
    await rejectsWith(model.predictTensors([{ name: "s", datatype: "BYTES", shape: [1], data: [Uint8Array.of(0xff, 0xfe)] }]), "OMAF_ERR_BAD_INPUT", /UTF-8/);
    await rejectsWith(model.predictMatrix({ data: [["a", "b"]] }), "OMAF_ERR_BAD_INPUT", /take 1 per row/);
    assert.deepEqual((await model.predictMatrix({ data: [["a"], ["b"]] })).prediction, [["a"], ["b"]]);
  });

  test("BOOL tensors and boolean matrix cells", async () => {
    const model = await onnxModel({
      name: "not",
      node: [{ op_type: "Not", input: ["x"], output: ["y"] }],
      input: [tensorValue("x", ONNX_TYPE.BOOL, ["N", 2])],
      output: [tensorValue("y", ONNX_TYPE.BOOL, ["N", 2])],
    });
    const [y] = await model.predictTensors([{ name: "x", datatype: "BOOL", shape: [1, 2], data: Uint8Array.of(1, 0) }]);
    assert.equal(y.datatype, "BOOL");
    assert.deepEqual(Array.from(y.data as Uint8Array), [0, 1]);
    const out = await model.predictMatrix({
      data: [
        [true, false],
        [0, 1],
      ],
    });
    assert.deepEqual(out, { prediction: [[[false, true]], [[true, false]]], columns: ["y"] });
    await rejectsWith(model.predictMatrix({ data: [[true, 2]] }), "OMAF_ERR_BAD_INPUT", /row 0, column 1 is a number; input x BOOL \[-1,2\] takes booleans/);
  });

  test("FP16 travels as raw half bits; matrix cells convert to and from numbers", async () => {
    const model = await onnxModel({
      name: "half",
      node: [{ op_type: "Identity", input: ["h"], output: ["out"] }],
      input: [tensorValue("h", ONNX_TYPE.FLOAT16, ["N", 2])],
      output: [tensorValue("out", ONNX_TYPE.FLOAT16, ["N", 2])],
    });
    // 0x3c00 = 1.0, 0xc000 = -2.0
    const [out] = await model.predictTensors([{ name: "h", datatype: "FP16", shape: [1, 2], data: Uint16Array.of(0x3c00, 0xc000) }]);
    assert.equal(out.datatype, "FP16");
    assert.deepEqual(Array.from(out.data as Uint16Array), [0x3c00, 0xc000]);
    const m = await model.predictMatrix({ data: [[1.5, -0.25]] });
    assert.deepEqual(m.prediction, [[[1.5, -0.25]]]);
  });

  test("INT64 matrices take integers only; fixed dimensions are enforced", async () => {
    const model = await onnxModel({
      name: "int",
      node: [{ op_type: "Identity", input: ["x"], output: ["y"] }],
      input: [tensorValue("x", ONNX_TYPE.INT64, [2, 3])],
      output: [tensorValue("y", ONNX_TYPE.INT64, [2, 3])],
    });
    assert.deepEqual(model.metadata().inputs, [{ name: "x", datatype: "INT64", shape: [2, 3] }]);
    const out = await model.predictMatrix({
      data: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    assert.deepEqual(out.prediction, [[[1, 2, 3]], [[4, 5, 6]]]);
    await rejectsWith(
      model.predictMatrix({
        data: [
          [1, 2, 3.5],
          [4, 5, 6],
        ],
      }),
      "OMAF_ERR_BAD_INPUT",
      /integer/,
    );
    await rejectsWith(model.predictMatrix({ data: [[1, 2, 3]] }), "OMAF_ERR_BAD_INPUT", /must have shape \[2,3\], got \[1,3\]/);
    await rejectsWith(
      model.predictTensors([{ name: "x", datatype: "INT64", shape: [1, 3], data: new BigInt64Array(3) }]),
      "OMAF_ERR_BAD_INPUT",
      /must have shape \[2,3\], got \[1,3\]/,
    );
  });

  test("an output without one row per input row: tensors work, matrix answers OMAF_ERR_PREDICT", async () => {
    const model = await onnxModel({
      name: "total",
      node: [{ op_type: "ReduceSum", input: ["x"], output: ["total"], attribute: [intAttr("keepdims", 0)] }],
      input: [tensorValue("x", ONNX_TYPE.FLOAT, ["N", 2])],
      output: [tensorValue("total", ONNX_TYPE.FLOAT, [])],
    });
    const [total] = await model.predictTensors([f32("x", [2, 2], [1, 2, 3, 4])]);
    assert.deepEqual(total.shape, []);
    assert.deepEqual(Array.from(total.data as Float32Array), [10]);
    await rejectsWith(
      model.predictMatrix({
        data: [
          [1, 2],
          [3, 4],
        ],
      }),
      "OMAF_ERR_PREDICT",
      /one row per input row/,
    );
  });
});

describe("onnx load errors", () => {
  test("a file that is not an ONNX model → OMAF_ERR_ENTRYPOINT_LOAD", async () => {
    const dir = await temp.create({ "model/m.onnx": "this is not protobuf at all" });
    await rejectsWith(createModel({ dir, manifest: manifestFor("onnx", "m.onnx", "model") }).load(), "OMAF_ERR_ENTRYPOINT_LOAD", /m\.onnx/);
  });

  test("a missing .onnx file → OMAF_ERR_ENTRYPOINT", async () => {
    const dir = await temp.create({ "model/other.onnx": "x" });
    await rejectsWith(createModel({ dir, manifest: manifestFor("onnx", "m.onnx", "model") }).load(), "OMAF_ERR_ENTRYPOINT", /m\.onnx/);
  });

  test("onnxruntime not installed → OMAF_ERR_ONNXRUNTIME_MISSING", async () => {
    const { dir, manifest } = await example("iris-onnx");
    const model = createModel({ dir, manifest, onnx: { runtimeModule: "omaf-no-such-onnxruntime" } });
    await rejectsWith(model.load(), "OMAF_ERR_ONNXRUNTIME_MISSING", /omaf-no-such-onnxruntime/);
  });

  test("onnxruntime-web (the fallback when npm dropped onnxruntime-node) answers as the native runtime does", async () => {
    const { dir, manifest } = await example("iris-onnx");
    const native = await served(createModel({ dir, manifest }), manifest);
    const web = await served(createModel({ dir, manifest, onnx: { runtimeModule: "onnxruntime-web" } }), manifest);
    try {
      assert.equal(native.metadata().runtime, "onnxruntime-node");
      assert.equal(web.metadata().runtime, "onnxruntime-web");
      assert.deepEqual(web.metadata().inputs, native.metadata().inputs);
      const input = { data: IRIS_SAMPLES.map((s) => s.features) };
      const [a, b] = [await native.predictMatrix(input), await web.predictMatrix(input)];
      assert.deepEqual(b.columns, a.columns);
      b.prediction.forEach((row, i) => {
        const [pw, lw] = row as [number[], number];
        const [pn, ln] = a.prediction[i] as [number[], number];
        assert.equal(lw, ln);
        pw.forEach((p, k) => assert.ok(Math.abs(p - pn[k]) < 1e-5, `row ${i} probability ${k}: ${p} vs ${pn[k]}`));
      });
    } finally {
      await Promise.all([native.close(), web.close()]);
    }
  });

  test("before load and after close → OMAF_ERR_MODEL_NOT_READY", async () => {
    const { dir, manifest } = await example("iris-onnx");
    const model = createModel({ dir, manifest });
    await rejectsWith(() => model.metadata(), "OMAF_ERR_MODEL_NOT_READY");
    await model.load();
    await model.close();
    await rejectsWith(model.predictMatrix({ data: [[1, 2, 3, 4]] }), "OMAF_ERR_MODEL_NOT_READY");
  });
});
