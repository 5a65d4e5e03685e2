// Declared contracts and the node tensors mode: typed arrays reach the entrypoint in worker threads and in process;
// the dataplane checks requests against the declared contract before any model code runs, for a tensors-mode and a
// matrix-mode model alike; OIP metadata, OMI Status and the Odahu info document report the contract.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import { inferTensors } from "../../src/dataplane/tensor-inference.js";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import { modelMetadata } from "../../src/protocols/oip-v2/shared.js";
import { buildSwagger } from "../../src/protocols/odahu/swagger.js";
import { buildStatusResponse, STATUS_INITIALIZED } from "../../src/protocols/omi/status.js";
import { createModel } from "../../src/runtime/load.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { example, manifestFor, rejectsWith, TempModels } from "./helpers.js";

const ctx = { requestId: "test", protocol: "test" };
const int32 = (name: string, rows: number[][]): Tensor => ({
  name,
  datatype: "INT32",
  shape: [rows.length, rows[0].length],
  data: Int32Array.from(rows.flat()),
});
const row = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));

function plane(dir: string, manifest: OmafManifest, inProcess: boolean): DataPlane {
  const model = createModel({ dir, manifest, nodeOptions: { workers: 1, inProcess } });
  return new DataPlane(model, { manifest, artifactDigest: `sha256:${"0".repeat(64)}`, source: dir }, { requestTimeoutMs: 30_000, maxInFlight: 0 });
}

for (const inProcess of [false, true]) {
  describe(`node tensors mode (examples/node-tensors, ${inProcess ? "in process" : "worker threads"})`, () => {
    let dp: DataPlane;
    before(async () => {
      const { dir, manifest } = await example("node-tensors");
      dp = plane(dir, manifest, inProcess);
      await dp.load();
    });
    after(() => dp?.close());

    it("answers named INT32 tensors for named INT32 tensors", async () => {
      const out = await dp.predictTensors([int32("INPUT0", [row((i) => i)]), int32("INPUT1", [row(() => 1)])], undefined, ctx);
      assert.deepEqual(
        out.map((t) => [t.name, t.datatype, t.shape]),
        [
          ["OUTPUT0", "INT32", [1, 16]],
          ["OUTPUT1", "INT32", [1, 16]],
        ],
      );
      assert.ok(out[0].data instanceof Int32Array);
      assert.deepEqual(
        Array.from(out[0].data as Int32Array),
        row((i) => i + 1),
      );
      assert.deepEqual(
        Array.from(out[1].data as Int32Array),
        row((i) => i - 1),
      );
    });

    it("refuses what breaks the contract with OMAF_ERR_BAD_INPUT naming the input", async () => {
      const fp32: Tensor = { name: "INPUT0", datatype: "FP32", shape: [1, 16], data: new Float32Array(16) };
      await rejectsWith(
        dp.predictTensors([fp32, int32("INPUT1", [row(() => 1)])], undefined, ctx),
        "OMAF_ERR_BAD_INPUT",
        /input INPUT0 must be INT32, got FP32/,
      );
      const short = int32("INPUT1", [row(() => 1).slice(0, 8)]);
      await rejectsWith(
        dp.predictTensors([int32("INPUT0", [row((i) => i)]), short], undefined, ctx),
        "OMAF_ERR_BAD_INPUT",
        /input INPUT1 must have shape \[-1,16\], got \[1,8\]/,
      );
    });

    it("a model error is OMAF_ERR_PREDICT", async () => {
      await rejectsWith(
        dp.predictTensors([int32("INPUT0", [row(() => -1)]), int32("INPUT1", [row(() => 1)])], undefined, ctx),
        "OMAF_ERR_PREDICT",
        /must not be negative/,
      );
    });

    it("reports the declared contract in OIP metadata, OMI Status and the Odahu info document", async () => {
      const meta = await dp.loadedMetadata();
      const oip = modelMetadata(dp, meta);
      assert.deepEqual(
        oip.inputs.map((t) => [t.name, t.datatype, t.shape]),
        [
          ["INPUT0", "INT32", [-1, 16]],
          ["INPUT1", "INT32", [-1, 16]],
        ],
      );
      assert.deepEqual(
        oip.outputs.map((t) => t.name),
        ["OUTPUT0", "OUTPUT1"],
      );
      const status = buildStatusResponse(dp, STATUS_INITIALIZED, { maxMessageBytes: 1 << 20, requestTimeoutMs: 1000 });
      assert.deepEqual(
        status.inputs.map((i) => i.filename),
        ["INPUT0", "INPUT1"],
      );
      assert.match(status.inputs[0].description, /INT32 \[-1,16\]/);
      assert.match(status.outputs[0].description, /OUTPUT0 INT32 \[-1,16\]/);
      const swagger = buildSwagger({ modelName: "simple-node", modelVersion: "1.0.0-1", artifactDigest: "sha256:0", metadata: meta });
      const info = swagger.info as Record<string, unknown>;
      assert.deepEqual(info["x-omaf-inputs"], meta.inputs);
      assert.deepEqual(info["x-omaf-outputs"], meta.outputs);
    });
  });
}

describe("batching a tensors-mode entrypoint", () => {
  it("merges its requests only when its rows are declared independent", async () => {
    const { dir, manifest } = await example("node-tensors");
    for (const rows of [false, true]) {
      const model = createModel({ dir, manifest, nodeOptions: { workers: 1, inProcess: true } });
      const dp = new DataPlane(
        model,
        { manifest, artifactDigest: `sha256:${"0".repeat(64)}`, source: dir },
        {
          requestTimeoutMs: 30_000,
          maxInFlight: 0,
          batching: { maxBatchSize: 8, maxBatchTimeMs: 1, rows },
        },
      );
      try {
        await dp.load();
        assert.equal(dp.batch?.tensors !== undefined, rows, `batch_rows ${rows}`);
      } finally {
        await dp.close();
      }
    }
  });
});

describe("declared contracts on other models", () => {
  const temp = new TempModels();
  after(() => temp.cleanup());

  /** Counts its calls on globalThis (in process), so a test can tell that the model never ran. */
  const COUNTING = `export const init = () => "matrix";
export function predict_on_matrix(rows) { globalThis.__contractCalls = (globalThis.__contractCalls ?? 0) + 1; return [rows.map((r) => [r[0] + r[1]]), ["sum"]]; }
`;

  it("a matrix-mode model with a declared contract: tensor requests must match it exactly, before the model runs", async () => {
    const dir = await temp.create({ "src/m.mjs": COUNTING });
    const manifest = manifestFor("node", "m.mjs");
    Object.assign(manifest.model, {
      inputs: [{ name: "pair", datatype: "FP64", shape: [-1, 2] }],
      outputs: [{ name: "sum", datatype: "FP64", shape: [-1, 1] }],
    });
    const dp = plane(dir, manifest, true);
    try {
      await dp.load();
      const meta = await dp.loadedMetadata();
      assert.equal(meta.declaredContract, true);
      assert.deepEqual(modelMetadata(dp, meta).inputs, [{ name: "pair", datatype: "FP64", shape: [-1, 2] }]);
      const g = globalThis as { __contractCalls?: number };
      g.__contractCalls = 0;
      const run = (inputs: Tensor[]) => dp.infer(ctx, (i) => inferTensors(i, inputs, undefined));
      await rejectsWith(run([{ name: "x", datatype: "FP64", shape: [1, 2], data: new Float64Array(2) }]), "OMAF_ERR_BAD_INPUT", /no input x; inputs: pair/);
      await rejectsWith(run([{ name: "pair", datatype: "FP32", shape: [1, 2], data: new Float32Array(2) }]), "OMAF_ERR_BAD_INPUT", /pair must be FP64/);
      await rejectsWith(dp.predictMatrix({ data: [[1, 2, 3]] }, ctx), "OMAF_ERR_BAD_INPUT", /rows of 2 values/);
      assert.equal(g.__contractCalls, 0);
      const out = await run([{ name: "pair", datatype: "FP64", shape: [1, 2], data: Float64Array.from([1, 2]) }]);
      assert.deepEqual(Array.from(out[0].data as Float64Array), [3]);
      assert.equal(g.__contractCalls, 1);
    } finally {
      await dp.close();
    }
  });

  it("a matrix-mode model whose contract names its columns: rows are checked column by column before the model runs", async () => {
    const dir = await temp.create({ "src/m.mjs": COUNTING });
    const manifest = manifestFor("node", "m.mjs");
    Object.assign(manifest.model, {
      inputs: [
        { name: "age", datatype: "INT64", shape: [-1] },
        { name: "score", datatype: "FP64", shape: [-1] },
      ],
    });
    const dp = plane(dir, manifest, true);
    try {
      await dp.load();
      const g = globalThis as { __contractCalls?: number };
      g.__contractCalls = 0;
      await rejectsWith(dp.predictMatrix({ data: [[31, 0.5, 7]] }, ctx), "OMAF_ERR_BAD_INPUT", /take 2 per row \(age: 1, score: 1\)/);
      await rejectsWith(dp.predictMatrix({ data: [[31.5, 0.5]] }, ctx), "OMAF_ERR_BAD_INPUT", /age/);
      await rejectsWith(dp.predictMatrix({ data: [["old", 0.5]] }, ctx), "OMAF_ERR_BAD_INPUT");
      assert.equal(g.__contractCalls, 0);
      assert.deepEqual((await dp.predictMatrix({ data: [[31, 0.5]] }, ctx)).prediction, [[31.5]]);
    } finally {
      await dp.close();
    }
  });

  it("a tensors-mode node entrypoint without model.inputs is refused at load (OMAF_ERR_CONTRACT)", async () => {
    const dir = await temp.create({ "src/m.mjs": 'export const init = () => "tensors";\nexport const predict_on_tensors = (x) => x;\n' });
    const dp = plane(dir, manifestFor("node", "m.mjs"), false);
    try {
      await rejectsWith(dp.load(), "OMAF_ERR_CONTRACT", /declares no model\.inputs/);
    } finally {
      await dp.close();
    }
  });

  it("an ONNX model's declared contract is what its metadata reports and requests are checked against", async () => {
    const { dir, manifest } = await example("iris-onnx");
    const narrowed = structuredClone(manifest);
    Object.assign(narrowed.model, { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }] });
    const dp = new DataPlane(
      createModel({ dir, manifest: narrowed }),
      { manifest: narrowed, artifactDigest: `sha256:${"0".repeat(64)}`, source: dir },
      {
        requestTimeoutMs: 30_000,
        maxInFlight: 0,
      },
    );
    try {
      await dp.load();
      assert.deepEqual(dp.metadata().inputs, [{ name: "input", datatype: "FP32", shape: [1, 4] }]);
      assert.equal(dp.metadata().outputs.length, 2, "outputs not declared: the file's own");
      await rejectsWith(
        dp.predictTensors([{ name: "input", datatype: "FP32", shape: [2, 4], data: new Float32Array(8) }], undefined, ctx),
        "OMAF_ERR_BAD_INPUT",
        /must have shape \[1,4\], got \[2,4\]/,
      );
      const out = await dp.predictTensors([{ name: "input", datatype: "FP32", shape: [1, 4], data: Float32Array.from([5.1, 3.5, 1.4, 0.2]) }], undefined, ctx);
      assert.equal(out.length, 2);
    } finally {
      await dp.close();
    }
  });
});
