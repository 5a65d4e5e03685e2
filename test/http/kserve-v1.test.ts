// KServe v1 REST against a real `omaf serve` process: every endpoint, its errors, matrix, objects and ONNX models.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeBehaveModel, writeFailingInitModel, writeSumModel, type ServeProcess } from "../helpers/serve.js";
import { assertProvenance, http } from "./helpers.js";
import { onnxFile, runOnnx } from "./in-process.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

describe("KServe v1 REST", () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let sum: ServeProcess;
  let base: string;
  before(async () => {
    root = await tempDir("omaf-kserve-");
    sum = await startServe(await writeSumModel(join(root.dir, "sum")), { args: ["--interfaces", "kserve-v1"] });
    base = sum.url("KServe v1");
  });
  after(async () => {
    await sum?.kill();
    await root?.cleanup();
  });

  it("answers liveness, the model list and model readiness", async () => {
    assert.deepEqual(
      sum.listeners.map((l) => l.label),
      ["KServe v1"],
    );
    const live = await http(`${base}/`);
    assert.equal(live.status, 200);
    assert.deepEqual(live.json, { status: "alive" });
    assertProvenance(live, "sum-check", "1.0.0-1");
    assert.deepEqual((await http(`${base}/v1/models`)).json, { models: ["sum-check"] });
    const ready = await http(`${base}/v1/models/sum-check`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { name: "sum-check", ready: true });
    const unknown = await http(`${base}/v1/models/other`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { error: "Model with name other does not exist.", code: "OMAF_ERR_MODEL_NOT_FOUND" });
  });

  it("predicts on instances as rows, as objects of column values, and on columnar inputs", async () => {
    const rows = await http(`${base}/v1/models/sum-check:predict`, {
      body: {
        instances: [
          [1, 2],
          [3, 4.5],
        ],
      },
      headers: { "x-request-id": "kserve-req-1" },
    });
    assert.equal(rows.status, 200, rows.text);
    assert.deepEqual(rows.json, { predictions: [[3], [7.5]] });
    assert.equal(rows.headers.get("x-request-id"), "kserve-req-1");
    assertProvenance(rows, "sum-check", "1.0.0-1");
    const objects = await http(`${base}/v1/models/sum-check:predict`, {
      body: {
        instances: [
          { a: 1, b: 2 },
          { a: 5, b: 5 },
        ],
      },
    });
    assert.deepEqual(objects.json, { predictions: [[3], [10]] });
    // Columnar `inputs` (rows, or an object of columns) are answered as `outputs`, as TF Serving answers them.
    const inputs = await http(`${base}/v1/models/sum-check:predict`, { body: { inputs: [[10, 20]] } });
    assert.deepEqual(inputs.json, { outputs: [[30]] });
    const columnar = await http(`${base}/v1/models/sum-check:predict`, { body: { inputs: { a: [1, 2], b: [3, 4] } } });
    assert.deepEqual(columnar.json, { outputs: [[4], [6]] });
    // No Content-Type at all is accepted too.
    const bare = await http(`${base}/v1/models/sum-check:predict`, { body: Buffer.from(JSON.stringify({ instances: [[2, 2]] })) });
    assert.equal(bare.status, 200, bare.text);
    assert.deepEqual(bare.json, { predictions: [[4]] });
  });

  it("answers 400 for bad bodies, 404 for another model, 501 for explain and 500 when the model raises", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["sum-check:predict", { instances: [[1, 2, 3]] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { instances: [] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { rows: [[1, 2]] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { instances: [[1, 2], { a: 1, b: 2 }] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { instances: [[1, 2]], inputs: [[1, 2]] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { inputs: 5 }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", { inputs: { a: [1, 2], b: [3] } }, 400, "OMAF_ERR_BAD_INPUT"],
      ["sum-check:predict", "{not json", 400, "OMAF_ERR_BAD_INPUT"],
      ["other:predict", { instances: [[1, 2]] }, 404, "OMAF_ERR_MODEL_NOT_FOUND"],
      ["sum-check:train", { instances: [[1, 2]] }, 404, "OMAF_ERR_NOT_FOUND"],
      ["sum-check:explain", { instances: [[1, 2]] }, 501, "OMAF_ERR_NOT_IMPLEMENTED"],
      ["sum-check:predict", { instances: [[-1, 2]] }, 500, "OMAF_ERR_PREDICT"],
    ];
    for (const [target, body, status, code] of cases) {
      const res = await http(`${base}/v1/models/${target}`, { body });
      assert.equal(res.status, status, `${target} ${JSON.stringify(body)}: ${res.text}`);
      const json = res.json as { error: string; code: string };
      assert.equal(json.code, code, res.text);
      assert.equal(typeof json.error, "string");
      assertProvenance(res, "sum-check", "1.0.0-1");
    }
    assert.match(((await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[-1, 2]] } })).json as { error: string }).error, /negative values/);
    // Still serving after the errors.
    assert.deepEqual((await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[1, 1]] } })).json, { predictions: [[2]] });
  });

  it("passes each instance of an objects model to predict_on_objects, one prediction per instance", async () => {
    const proc = await startServe(await writeBehaveModel(join(root.dir, "behave")), { args: ["--interfaces", "kserve-v1", "--lazy"] });
    try {
      const url = `${proc.url("KServe v1")}/v1/models/behave:predict`;
      // --lazy: the first predict loads the model.
      const res = await http(url, { body: { instances: [{ text: "a" }, { text: "b" }] } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { predictions: [{ echo: { text: "a" } }, { echo: { text: "b" } }] });
      const failing = await http(url, { body: { instances: [{ text: "ok" }, { throw: "boom" }] } });
      assert.equal(failing.status, 500);
      assert.match((failing.json as { error: string }).error, /^instance 1: .*boom/);
      const columnar = await http(url, { body: { inputs: { text: ["a"] } } });
      assert.equal(columnar.status, 400);
      assert.match((columnar.json as { error: string }).error, /takes objects/);
    } finally {
      await proc.kill();
    }
  });

  it("answers an ONNX model in TF Serving's row format over a real socket: one object of named output rows per instance", async () => {
    const rows = [
      [5.1, 3.5, 1.4, 0.2],
      [5.9, 3.0, 4.2, 1.5],
    ];
    const expected = await runOnnx(onnxFile(IRIS, "iris.onnx"), { input: { type: "float32", dims: [2, 4], data: rows.flat() } });
    const proc = await startServe(IRIS, { args: ["--interfaces", "kserve-v1"] });
    try {
      const res = await http(`${proc.url("KServe v1")}/v1/models/iris-onnx:predict`, { body: { instances: rows } });
      assert.equal(res.status, 200, res.text);
      assertProvenance(res, "iris-onnx", "1.0.0-1");
      const { probabilities, label } = expected as { probabilities: number[][]; label: number[][] };
      // FP32 values cross JSON as the doubles they widen to, so they compare exactly with onnxruntime's own answer.
      assert.deepEqual(res.json, { predictions: rows.map((_, i) => ({ probabilities: probabilities[i], label: label[i] })) });
    } finally {
      await proc.kill();
    }
  });

  it("answers 503 for readiness and predictions while the model failed to load", async () => {
    const proc = await startServe(await writeFailingInitModel(join(root.dir, "broken")), { env: { INTERFACE: "kserve" } });
    try {
      const url = proc.url("KServe v1");
      assert.equal((await http(`${url}/`)).status, 200, "liveness stays up");
      const ready = await http(`${url}/v1/models/broken-init`);
      assert.equal(ready.status, 503);
      assert.equal((ready.json as { ready: boolean }).ready, false);
      assert.match((ready.json as { error: string }).error, /not ready/);
      const predict = await http(`${url}/v1/models/broken-init:predict`, { body: { instances: [{ a: 1 }] } });
      assert.equal(predict.status, 503);
      assert.equal((predict.json as { code: string }).code, "OMAF_ERR_MODEL_NOT_READY");
      assert.match((predict.json as { error: string }).error, /init failed on purpose/);
      assert.equal((await http(`${url}/readyz`)).status, 503);
      assert.equal((await http(`${url}/healthz`)).status, 200);
    } finally {
      await proc.kill();
    }
  });
});
