// KServe v1 predict on tensor (ONNX) models, through fastify's inject(): TF Serving's row format (`instances`, one
// per batch row, answered one prediction per instance) and columnar format (`inputs`, answered as `outputs`), with
// the answers onnxruntime-node gives for the same .onnx file run directly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/fixtures.js";
import { inProcessApp, onnxFile, runOnnx, writePairOnnx, writeScoresOnnx, type InProcessApp } from "./in-process.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));
const IRIS_FILE = onnxFile(IRIS, "iris.onnx");
const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const SCORES_ROWS = [
  [1, 2, 3, 4],
  [-0.5, 0.25, 8, 1],
];

/** Numbers within a relative 1e-6 (FP32 through two sessions), everything else (object keys included) exactly. */
function assertClose(actual: unknown, expected: unknown, path = "$"): void {
  if (typeof expected === "number" && typeof actual === "number") {
    assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${path}: ${actual} ≠ ${expected}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: ${JSON.stringify(actual)} is not a list`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose(actual[i], e, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object" && !Array.isArray(actual), `${path}: ${JSON.stringify(actual)} is not an object`);
    assert.deepEqual(Object.keys(actual as object), Object.keys(expected), `${path}: keys`);
    for (const [k, e] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

const float32 = (rows: number[][]) => ({ type: "float32" as const, dims: [rows.length, rows[0].length], data: rows.flat() });

describe("KServe v1 predict on tensor models", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let iris: InProcessApp;
  let scores: InProcessApp;
  let pair: InProcessApp;
  let scoresDir: string;
  let pairDir: string;
  before(async () => {
    tmp = await tempDir("omaf-kserve-tensors-");
    const cache = join(tmp.dir, "cache");
    scoresDir = await writeScoresOnnx(join(tmp.dir, "scores"));
    pairDir = await writePairOnnx(join(tmp.dir, "pair"));
    [iris, scores, pair] = await Promise.all([
      inProcessApp(IRIS, ["kserve-v1"], cache),
      inProcessApp(scoresDir, ["kserve-v1"], cache),
      inProcessApp(pairDir, ["kserve-v1"], cache),
    ]);
  });
  after(async () => {
    await Promise.all([iris?.close(), scores?.close(), pair?.close()]);
    await tmp?.cleanup();
  });

  it("answers one output's row per instance, without a name (the [batch,4] → [batch,3] model)", async () => {
    const { y } = await runOnnx(onnxFile(scoresDir), { x: float32(SCORES_ROWS) });
    const res = await scores.post("/v1/models/scores:predict", { instances: SCORES_ROWS });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.json), ["predictions"]);
    assertClose(res.json.predictions, y);
    // One instance: one prediction, a row of 3 numbers (not nested once more).
    const one = await scores.post("/v1/models/scores:predict", { instances: [SCORES_ROWS[0]] });
    assertClose(one.json, { predictions: [(y as number[][])[0]] });
    // An instance may also name the one input.
    const named = await scores.post("/v1/models/scores:predict", { instances: SCORES_ROWS.map((x) => ({ x })) });
    assertClose(named.json, { predictions: y });
  });

  it("answers an object of named rows per instance for several outputs, each row keeping its own shape", async () => {
    const expected = await runOnnx(IRIS_FILE, { input: float32(IRIS_ROWS) });
    const res = await iris.post("/v1/models/iris-onnx:predict", { instances: IRIS_ROWS });
    assert.equal(res.status, 200, res.text);
    const probabilities = expected.probabilities as number[][];
    const label = expected.label as number[][];
    assertClose(res.json, { predictions: IRIS_ROWS.map((_, i) => ({ probabilities: probabilities[i], label: label[i] })) });
    // label is INT64 [N, 1]: each instance's label is a list of one integer.
    assert.equal(res.json.predictions[1].label.length, 1);
    assert.ok(Number.isInteger(res.json.predictions[1].label[0]));
  });

  it("takes an object per instance for several inputs and keeps INT64 beyond 2^53 exact", async () => {
    const big = "9007199254740993"; // 2^53 + 1: no JSON number holds it
    const a = [
      [1, 2],
      [0.5, -3],
    ];
    const b = [
      [3, 4],
      [10, 0.25],
    ];
    const expected = await runOnnx(onnxFile(pairDir), {
      a: float32(a),
      b: float32(b),
      ids: { type: "int64", dims: [2], data: [7n, BigInt(big)] },
    });
    const res = await pair.post("/v1/models/pair:predict", {
      instances: [
        { a: a[0], b: b[0], ids: 7 },
        { ids: big, b: b[1], a: a[1] },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const sum = expected.sum as number[][];
    assert.deepEqual(expected.ids_out, [7, big]);
    assertClose(res.json, {
      predictions: [
        { sum: sum[0], ids_out: 7 },
        { sum: sum[1], ids_out: big },
      ],
    });
  });

  it("answers columnar inputs as outputs: the value for one output, an object of values for several", async () => {
    const { y } = await runOnnx(onnxFile(scoresDir), { x: float32(SCORES_ROWS) });
    const bare = await scores.post("/v1/models/scores:predict", { inputs: SCORES_ROWS });
    assert.equal(bare.status, 200, bare.text);
    assertClose(bare.json, { outputs: y });
    assertClose((await scores.post("/v1/models/scores:predict", { inputs: { x: SCORES_ROWS } })).json, { outputs: y });

    const expected = await runOnnx(IRIS_FILE, { input: float32(IRIS_ROWS) });
    const res = await iris.post("/v1/models/iris-onnx:predict", { inputs: IRIS_ROWS });
    assert.equal(res.status, 200, res.text);
    assertClose(res.json, { outputs: { probabilities: expected.probabilities, label: expected.label } });

    const a = [[1, 2]];
    const b = [[-1, 5]];
    const pairExpected = await runOnnx(onnxFile(pairDir), { a: float32(a), b: float32(b), ids: { type: "int64", dims: [1], data: [3n] } });
    const named = await pair.post("/v1/models/pair:predict", { inputs: { a, b, ids: [3] } });
    assert.equal(named.status, 200, named.text);
    assertClose(named.json, { outputs: { sum: pairExpected.sum, ids_out: pairExpected.ids_out } });
  });

  it("refuses instances that do not fit the model's inputs with OMAF_ERR_BAD_INPUT, naming the problem", async () => {
    const cases: Array<[InProcessApp, string, unknown, RegExp]> = [
      [
        scores,
        "scores",
        {
          instances: [
            [1, 2, 3, 4],
            [1, 2, 3],
          ],
        },
        /instance 1 .*\[3\].*instance 0 .*\[4\]/,
      ],
      [
        scores,
        "scores",
        {
          instances: [
            [1, 2, 3, 4],
            [
              [1, 2],
              [3, 4],
            ],
          ],
        },
        /instance 1 .*\[2,2\].*\[4\]/,
      ],
      [scores, "scores", { instances: [[1, [2], 3, 4]] }, /instance 0 .*element 1: .*got \[2\]/],
      [
        scores,
        "scores",
        {
          instances: [
            [1, 2, 3, 4],
            [1, 2, "x", 4],
          ],
        },
        /instance 1 .*element 2: .*got "x"/,
      ],
      [
        pair,
        "pair",
        { instances: [{ a: [[1], [2]], b: [3, 4], ids: 1 }] },
        /input 'a' is one row of FP32 \[-1,2\], a value of shape \[2\]; instance 0 has shape \[2,1\]/,
      ],
      [scores, "scores", { instances: [[1, 2, 3]] }, /shape/],
      [scores, "scores", { instances: [5, 6] }, /shape/],
      [scores, "scores", { instances: [[1e39, 0, 0, 0]] }, /FP32/],
      [scores, "scores", { instances: [["1", 2, 3, 4]] }, /FP32/],
      [scores, "scores", { instances: [{ y: [1, 2, 3, 4] }] }, /no input 'y'|has no input/],
      [
        scores,
        "scores",
        {
          inputs: [
            [1, 2, 3, 4],
            [1, 2],
          ],
        },
        /./,
      ],
      [scores, "scores", { inputs: { x: [[1, 2, 3, 4]], z: [[1]] } }, /no input 'z'|has no input/],
      [pair, "pair", { instances: [{ a: [1, 2], b: [3, 4] }] }, /ids/],
      [pair, "pair", { instances: [[1, 2]] }, /object/],
      [
        pair,
        "pair",
        {
          instances: [
            { a: [1, 2], b: [3, 4], ids: 1 },
            { a: [1, 2], b: [3, 4], ids: [1] },
          ],
        },
        /instance 1 .*ids/,
      ],
      [pair, "pair", { inputs: [[1, 2]] }, /object/],
    ];
    for (const [app, model, body, message] of cases) {
      const res = await app.post(`/v1/models/${model}:predict`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.json.code, "OMAF_ERR_BAD_INPUT", res.text);
      assert.match(res.json.error, message, `${JSON.stringify(body)}`);
    }
  });
});
