// OIP v2 gRPC against a real `omaf serve` on 127.0.0.1, with a grpc-js client built from spec/grpc_predict_v2.proto:
// liveness, readiness and metadata; ModelInfer with raw_input_contents (as tritonclient.grpc) and typed contents;
// outputs selection, id echo, provenance, status codes, health and reflection.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { tempDir } from "../helpers/fixtures.js";
import { oipGrpcClient, type OipGrpcClient } from "../helpers/oip-client.js";
import { omiClient } from "../helpers/omi-client.js";
import { writeFailingInitModel, writeSumModel } from "../helpers/serve.js";
import type { ConformanceServer } from "../conformance/harness.js";
import { example, grpcAddress, startOip } from "./fixtures.js";

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

function float32Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

async function rejectsWithStatus(p: Promise<unknown>, code: number, message?: RegExp): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    assert.equal(e.code, code, `expected status ${code}, got ${e.code}: ${e.details}`);
    if (message) assert.match(e.details, message);
    return e;
  }
  assert.fail(`expected gRPC status ${code}, got an answer`);
}

describe("OIP v2 gRPC", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let iris: ConformanceServer;
  let sum: ConformanceServer;
  let broken: ConformanceServer;
  let client: OipGrpcClient;

  before(async () => {
    tmp = await tempDir("omaf-oip-grpc-");
    [iris, sum, broken] = await Promise.all([
      startOip(example("iris-onnx")),
      startOip(await writeSumModel(join(tmp.dir, "sum"))),
      startOip(await writeFailingInitModel(join(tmp.dir, "broken"))),
    ]);
    client = oipGrpcClient(grpcAddress(iris));
  });
  after(async () => {
    client?.close();
    await Promise.all([iris?.stop(), sum?.stop(), broken?.stop()]);
    await tmp?.cleanup();
  });

  it("answers liveness, readiness and server metadata", async () => {
    assert.deepEqual(await client.ServerLive({}), { live: true });
    assert.deepEqual(await client.ServerReady({}), { ready: true });
    assert.deepEqual(await client.ModelReady({ name: "iris-onnx", version: "" }), { ready: true });
    assert.deepEqual(await client.ModelReady({ name: "iris-onnx", version: "1.0.0-1" }), { ready: true });
    const meta = await client.ServerMetadata({});
    assert.equal(meta.name, "omaf");
    assert.ok(meta.extensions.includes("binary_tensor_data"));
  });

  it("reports ONNX model metadata with -1 dimensions", async () => {
    const meta = await client.ModelMetadata({ name: "iris-onnx" });
    assert.deepEqual(meta, {
      name: "iris-onnx",
      versions: ["1.0.0-1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "4"] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: ["-1", "3"] },
        { name: "label", datatype: "INT64", shape: ["-1", "1"] },
      ],
      // Batching is off by default; the default batch time is reported all the same.
      parameters: {
        max_batch_size: { int64_param: "0", parameter_choice: "int64_param" },
        max_batch_time_ms: { int64_param: "5", parameter_choice: "int64_param" },
      },
    });
  });

  it("answers NOT_FOUND for an unknown model or version", async () => {
    await rejectsWithStatus(client.ModelMetadata({ name: "nope" }), Status.NOT_FOUND, /OMAF_ERR_MODEL_NOT_FOUND/);
    await rejectsWithStatus(client.ModelReady({ name: "iris-onnx", version: "7" }), Status.NOT_FOUND);
    await rejectsWithStatus(client.ModelInfer({ model_name: "nope", inputs: [] }), Status.NOT_FOUND);
    const e = await rejectsWithStatus(client.ModelInfer({ model_name: "iris-onnx", model_version: "2.0.0-1", inputs: [] }), Status.NOT_FOUND);
    assert.deepEqual(e.metadata.get("omaf-error-code"), ["OMAF_ERR_MODEL_NOT_FOUND"]);
  });

  it("answers raw_output_contents to raw_input_contents, with provenance, id echo and outputs selection", async () => {
    const res = await client.ModelInfer({
      model_name: "iris-onnx",
      model_version: "1.0.0-1",
      id: "grpc-7",
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
      raw_input_contents: [float32Bytes([...SETOSA, ...VIRGINICA])],
      outputs: [{ name: "label" }, { name: "probabilities" }],
    });
    assert.equal(res.model_name, "iris-onnx");
    assert.equal(res.model_version, "1.0.0-1");
    assert.equal(res.id, "grpc-7");
    assert.deepEqual(res.parameters, {
      model_name: { string_param: "iris-onnx", parameter_choice: "string_param" },
      model_version: { string_param: "1.0.0-1", parameter_choice: "string_param" },
      artifact_digest: { string_param: iris.artifactDigest, parameter_choice: "string_param" },
    });
    assert.deepEqual(
      res.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents]),
      [
        ["label", "INT64", ["2", "1"], null],
        ["probabilities", "FP32", ["2", "3"], null],
      ],
    );
    const [label, probs] = res.raw_output_contents!.map((b) => Buffer.from(b));
    assert.deepEqual([label.readBigInt64LE(0), label.readBigInt64LE(8)], [0n, 2n]);
    assert.equal(probs.length, 24);
    assert.ok(probs.readFloatLE(0) > 0.9);

    const one = await client.ModelInfer({
      model_name: "iris-onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [float32Bytes(SETOSA)],
      outputs: [{ name: "label" }],
    });
    assert.deepEqual(
      one.outputs.map((o) => o.name),
      ["label"],
    );
    assert.equal(one.id, "");
  });

  it("answers every raw request its own outputs, whatever the selection, order and batch size before it", async () => {
    // Parts of raw answers are encoded once per distinct output; answers in turn must not mix them up.
    const rows = [SETOSA, VIRGINICA, SETOSA];
    const orders = [["label", "probabilities"], ["probabilities", "label"], ["probabilities"], ["label"]];
    for (const n of [1, 3, 2, 1, 3]) {
      for (const order of orders) {
        const res = await client.ModelInfer({
          model_name: "iris-onnx",
          inputs: [{ name: "input", datatype: "FP32", shape: [n, 4] }],
          raw_input_contents: [float32Bytes(rows.slice(0, n).flat())],
          outputs: order.map((name) => ({ name })),
        });
        const expected = order.map((name) => (name === "label" ? ["label", "INT64", [String(n), "1"]] : ["probabilities", "FP32", [String(n), "3"]]));
        assert.deepEqual(
          res.outputs.map((o) => [o.name, o.datatype, o.shape]),
          expected,
        );
        const contents = res.raw_output_contents!.map((b) => Buffer.from(b));
        assert.deepEqual(
          contents.map((b) => b.length),
          order.map((name) => (name === "label" ? 8 : 12) * n),
        );
        const label = contents[order.indexOf("label")];
        if (label)
          assert.deepEqual(
            Array.from({ length: n }, (_, i) => label.readBigInt64LE(8 * i)),
            [0n, 2n, 0n].slice(0, n),
          );
      }
    }
  });

  it("answers typed contents to typed contents", async () => {
    const res = await client.ModelInfer({
      model_name: "iris-onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"], contents: { fp32_contents: VIRGINICA } }],
    });
    assert.deepEqual(res.raw_output_contents, []);
    const [probs, label] = res.outputs;
    assert.equal(probs.contents!.fp32_contents!.length, 3);
    assert.ok(Math.abs(probs.contents!.fp32_contents!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.deepEqual(label.contents!.int64_contents, ["2"]);
  });

  it("answers INVALID_ARGUMENT for bad tensors and undecodable requests", async () => {
    const bad = [
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 3] }], raw_input_contents: [float32Bytes([1, 2, 3])] },
      { inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], contents: { fp64_contents: SETOSA } }] },
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: [1, 2] } }] },
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }], raw_input_contents: [float32Bytes([1, 2, 3])] },
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp64_contents: SETOSA } }] },
      { inputs: [{ name: "input", datatype: "NOPE", shape: [1, 4] }] },
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: SETOSA } }], outputs: [{ name: "nope" }] },
    ];
    for (const req of bad) {
      await rejectsWithStatus(client.ModelInfer({ model_name: "iris-onnx", ...req }), Status.INVALID_ARGUMENT, /^OMAF_ERR_BAD_INPUT: /);
    }
    await rejectsWithStatus(client.inferBytes(Buffer.from([0x2a, 0x05, 0x0a])), Status.INVALID_ARGUMENT, /cannot be decoded/);
    assert.deepEqual(await client.ServerReady({}), { ready: true }, "still serving");
  });

  it("serves a GPPI matrix model; a model error is INTERNAL and a failed load UNAVAILABLE", async () => {
    const c = oipGrpcClient(grpcAddress(sum));
    const b = oipGrpcClient(grpcAddress(broken));
    try {
      const meta = await c.ModelMetadata({ name: "sum-check" });
      assert.equal(meta.platform, "omaf_node");
      assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP64", shape: ["-1", "2"] }]);
      const res = await c.ModelInfer({
        model_name: "sum-check",
        inputs: [{ name: "input", datatype: "FP64", shape: [2, 2], contents: { fp64_contents: [1, 2, 3, 4] } }],
      });
      assert.equal(res.outputs[0].name, "prediction");
      assert.deepEqual(res.outputs[0].contents!.fp64_contents, [3, 7]);
      assert.deepEqual(res.outputs[0].parameters!.columns, { string_param: '["sum"]', parameter_choice: "string_param" });
      // Raw, an output with parameters keeps them.
      const raw = await c.ModelInfer({
        model_name: "sum-check",
        inputs: [{ name: "input", datatype: "FP64", shape: [2, 2] }],
        raw_input_contents: [Buffer.from(new Float64Array([1, 2, 3, 4]).buffer)],
      });
      assert.deepEqual(
        raw.outputs.map((o) => [o.name, o.datatype, o.shape, o.parameters!.columns]),
        [["prediction", "FP64", ["2", "1"], { string_param: '["sum"]', parameter_choice: "string_param" }]],
      );
      const sums = Buffer.from(raw.raw_output_contents![0]);
      assert.deepEqual([sums.readDoubleLE(0), sums.readDoubleLE(8)], [3, 7]);
      await rejectsWithStatus(
        c.ModelInfer({ model_name: "sum-check", inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], contents: { fp64_contents: [-1, 2] } }] }),
        Status.INTERNAL,
        /OMAF_ERR_PREDICT: .*negative values are not allowed/,
      );

      assert.deepEqual(await b.ServerReady({}), { ready: false });
      assert.deepEqual(await b.ModelReady({ name: "broken-init" }), { ready: false });
      await rejectsWithStatus(b.ModelMetadata({ name: "broken-init" }), Status.UNAVAILABLE, /init failed on purpose/);
      await rejectsWithStatus(
        b.ModelInfer({
          model_name: "broken-init",
          inputs: [{ name: "input", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from("{}")] } }],
        }),
        Status.UNAVAILABLE,
        /OMAF_ERR_MODEL_NOT_READY/,
      );
    } finally {
      c.close();
      b.close();
    }
  });

  it("answers the health service and lists the service through reflection", async () => {
    // The OMI test client speaks health and reflection to any address.
    const probe = omiClient(grpcAddress(iris));
    try {
      assert.equal(await probe.health(""), "SERVING");
      assert.equal(await probe.health("inference.GRPCInferenceService"), "SERVING");
      const services = await probe.listServices();
      assert.ok(services.includes("inference.GRPCInferenceService"), services.join(", "));
      assert.ok((await probe.fileContainingSymbol("inference.GRPCInferenceService")) > 0);
    } finally {
      probe.close();
    }
    const down = omiClient(grpcAddress(broken));
    try {
      assert.equal(await down.health("inference.GRPCInferenceService"), "NOT_SERVING");
    } finally {
      down.close();
    }
  });
});
