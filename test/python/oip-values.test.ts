// What a python (GPPI matrix) model gets when called over OIP v2: the tensor forms become rows and column names, and
// non-finite floats (NaN for a missing value, as tabular clients such as tritonclient send it; ±Infinity) reach the
// model as Python floats — over the binary extension, JSON ("NaN" text) and gRPC alike — not as strings it refuses.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { INFERENCE_HEADER_CONTENT_LENGTH, parseInferResponseBody, tensorToRaw } from "../../src/tensor/binary.js";
import { tensorFromGrpc, tensorToGrpc } from "../../src/tensor/grpc-contents.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { valuesFromData } from "../../src/tensor/values.js";
import { startConformanceServer, type ConformanceServer } from "../conformance/harness.js";
import { oipGrpcClient, postBytes, type OipGrpcClient } from "../helpers/oip-client.js";
import { modelDir, PYTHON } from "./fixtures.js";

/** Answers, per row, `type:repr` of each value and the column names it was given (or None). */
const REPORTER = `
def init():
    return "matrix"


def predict_on_matrix(matrix, provided_columns_names=None):
    rows = [["%s:%r" % (type(v).__name__, v) for v in row] + [repr(provided_columns_names)] for row in matrix]
    return rows, ["a", "b", "c", "d", "columns"]


def info():
    number = lambda name: {"name": name, "type": "number", "required": True, "example": 1.0}
    text = lambda name: {"name": name, "type": "string", "required": True, "example": "float:1.0"}
    return [number("w"), number("x"), number("y"), number("z")], [text(n) for n in ("a", "b", "c", "d", "columns")]
`;

describe("python models over OIP v2: tensors as rows", () => {
  let model: Awaited<ReturnType<typeof modelDir>>;
  let server: ConformanceServer;
  let grpc: OipGrpcClient;
  let infer: string;

  before(async () => {
    model = await modelDir(REPORTER);
    server = await startConformanceServer(model.dir, {
      interfaces: ["oip-rest", "oip-grpc"],
      env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" },
    });
    grpc = oipGrpcClient(`127.0.0.1:${server.ports["oip-grpc"]}`);
    infer = `http://127.0.0.1:${server.ports["oip-rest"]}/v2/models/test-model/infer`;
  });
  after(async () => {
    grpc?.close();
    await server?.stop();
    await model?.cleanup();
  });

  /** The prediction tensor's values as rows of 5. */
  const rows = (t: { datatype: string; data: unknown; shape: number[] }): unknown[][] => {
    const flat = valuesFromData(t.datatype as Tensor["datatype"], t.data as Tensor["data"]);
    return Array.from({ length: t.shape[0]! }, (_, r) => flat.slice(r * 5, (r + 1) * 5));
  };

  const fp64 = (data: number[], shape = [data.length / 4, 4]): Tensor => ({ name: "input", datatype: "FP64", shape, data: Float64Array.from(data) });

  it("binary FP64 with NaN and ±Infinity: the model gets floats", async () => {
    const t = fp64([5.1, NaN, Infinity, -Infinity, 1, 2, 3, 4]);
    const raw = tensorToRaw(t);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: t.shape, parameters: { binary_data_size: raw.length } }] }));
    const res = await postBytes(infer, Buffer.concat([header, raw]), { [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.length) });
    assert.equal(res.status, 200, res.body.toString());
    const out = parseInferResponseBody(res.body, res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH) ?? undefined).outputs[0]!;
    assert.deepEqual(rows(out), [
      ["float:5.1", "float:nan", "float:inf", "float:-inf", "None"],
      ["float:1.0", "float:2.0", "float:3.0", "float:4.0", "None"],
    ]);
  });

  it('JSON FP64 with "NaN" / "Infinity" text and FP32 values: floats too', async () => {
    const res = await fetch(infer, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: ["NaN", 0.5, "-Infinity", 2] }] }),
    });
    const body = (await res.json()) as { outputs: { data: string[] }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.outputs[0]!.data, ["float:nan", "float:0.5", "float:-inf", "float:2.0", "None"]);
  });

  it("gRPC raw contents with NaN; one-column inputs named by the tensors become the column names", async () => {
    const encoded = tensorToGrpc(fp64([NaN, 1.5, 2, 3], [1, 4]), { raw: true });
    const single = await grpc.ModelInfer({ model_name: "test-model", inputs: [encoded.output], raw_input_contents: [encoded.raw!] });
    const out = tensorFromGrpc(single.outputs[0]!, single.raw_output_contents?.[0]);
    assert.deepEqual(rows(out), [["float:nan", "float:1.5", "float:2.0", "float:3.0", "None"]]);

    const column = (name: string, data: number[]): Tensor => ({ name, datatype: "FP64", shape: [data.length], data: Float64Array.from(data) });
    const res = await fetch(infer, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [column("z", [1, 2]), column("y", [NaN, 4]), column("x", [5, 6]), column("w", [7, 8])].map((t) => ({
          name: t.name,
          datatype: t.datatype,
          shape: t.shape,
          data: valuesFromData(t.datatype, t.data),
        })),
      }),
    });
    const body = (await res.json()) as { outputs: { data: string[] }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.outputs[0]!.data, [
      ...["float:1.0", "float:nan", "float:5.0", "float:7.0", "['z', 'y', 'x', 'w']"],
      ...["float:2.0", "float:4.0", "float:6.0", "float:8.0", "['z', 'y', 'x', 'w']"],
    ]);
  });

  it("whole-number rows reach the model as ints; a string for a number column is still refused", async () => {
    const ints = await fetch(infer, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "INT64", shape: [1, 4], data: [1, -2, 3, 4] }] }),
    });
    const body = (await ints.json()) as { outputs: { data: string[] }[] };
    assert.deepEqual(body.outputs[0]!.data, ["int:1", "int:-2", "int:3", "int:4", "None"]);
    const text = await fetch(infer, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "BYTES", shape: [1, 4], data: ["1", "2", "3", "4"] }] }),
    });
    assert.equal(text.status, 400, await text.text());
  });
});
