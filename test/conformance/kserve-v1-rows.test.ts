// KServe v1 predict bodies follow TensorFlow Serving's REST predict API (spec/http.md, protocols.md §5), and clients
// read the answers by its rules. One case per rule, each sent by a real HTTP client (fetch) to `omaf serve`:
//   - row format, one input and one output: `predictions` are that output's rows, unnamed;
//   - row format, several outputs: one object per instance, keyed by output name;
//   - row format, several inputs: each instance is an object keyed by input name;
//   - row format, a 1-D input: each instance is a scalar;
//   - columnar `{"inputs": ...}`: answered as `{"outputs": ...}` (the value, or `{output_name: value}`);
//   - GPPI matrix models (node, python): `predictions` stay the prediction rows.
// Expected values come from the models themselves, run in this process (onnxruntime-node, the GPPI runtimes).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { encodeOnnxModel, floatTensor, intAttr, irisWeights, ONNX_TYPE, tensorValue } from "../../scripts/make-iris-onnx.js";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { createModel, type CreateModelOptions } from "../../src/runtime/load.js";
import type { Model } from "../../src/runtime/model.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { valuesFromData } from "../../src/tensor/values.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { headerProvenance } from "./adapters/kserve-v1.js";
import { toTensor } from "./adapters/oip-rest.js";
import { ENVIRONMENTS } from "./environments.js";
import { rowsOf, sameValues, startConformanceServer, type ConformanceServer, type NeutralTensor } from "./harness.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

/** An onnx artifact folder holding `graph` as model/model.onnx. */
async function onnxArtifact(dir: string, name: string, graph: Record<string, unknown>): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify({
      binaries: { type: "onnx", dependencies: "none" },
      model: { name, version: "1.0.0-1", workDir: "model", entrypoint: "model.onnx" },
      odahuflowVersion: "1.0",
      toolchain: { name: "omaf-test", version: "0.1.0" },
    }),
    "model/model.onnx": Buffer.from(encodeOnnxModel(graph)),
  });
  return dir;
}

const irisLayers = (input: string) => {
  const { weights, bias } = irisWeights();
  return {
    node: [
      { op_type: "MatMul", name: "linear", input: [input, "W"], output: ["scores"] },
      { op_type: "Add", name: "bias", input: ["scores", "B"], output: ["logits"] },
      { op_type: "Softmax", name: "softmax", input: ["logits"], output: ["probabilities"], attribute: [intAttr("axis", 1)] },
    ],
    initializer: [floatTensor("W", [4, 3], weights.flat()), floatTensor("B", [3], bias)],
  };
};

/** [N, 4] → probabilities [N, 3]: the iris classifier with its one output. */
const singleOutputGraph = () => {
  const layers = irisLayers("input");
  return {
    name: "iris-probabilities",
    ...layers,
    input: [tensorValue("input", ONNX_TYPE.FLOAT, ["N", 4])],
    output: [tensorValue("probabilities", ONNX_TYPE.FLOAT, ["N", 3])],
  };
};

/** sepal [N, 2] and petal [N, 2] → probabilities [N, 3]: two named inputs. */
const twoInputGraph = () => {
  const layers = irisLayers("features");
  return {
    name: "iris-two-inputs",
    node: [{ op_type: "Concat", name: "concat", input: ["sepal", "petal"], output: ["features"], attribute: [intAttr("axis", 1)] }, ...layers.node],
    initializer: layers.initializer,
    input: [tensorValue("sepal", ONNX_TYPE.FLOAT, ["N", 2]), tensorValue("petal", ONNX_TYPE.FLOAT, ["N", 2])],
    output: [tensorValue("probabilities", ONNX_TYPE.FLOAT, ["N", 3])],
  };
};

/** x [N] → y [N] = 2x: a 1-D input, so an instance is a scalar. */
const vectorGraph = () => ({
  name: "double",
  node: [{ op_type: "Mul", name: "double", input: ["x", "two"], output: ["y"] }],
  initializer: [floatTensor("two", [], [2])],
  input: [tensorValue("x", ONNX_TYPE.FLOAT, ["N"])],
  output: [tensorValue("y", ONNX_TYPE.FLOAT, ["N"])],
});

/** A tensor's rows as TF Serving lists them: row i is the slice [i, ...] as nested lists (a scalar for a 1-D tensor). */
function tensorRows(t: Tensor): unknown[] {
  const values = valuesFromData(t.datatype, t.data);
  const [n, ...cell] = t.shape;
  const per = cell.reduce((a, b) => a * b, 1);
  const nest = (offset: number, dims: number[]): unknown => {
    if (dims.length === 0) return values[offset];
    const [d, ...rest] = dims;
    const stride = rest.reduce((a, b) => a * b, 1);
    return Array.from({ length: d }, (_, i) => nest(offset + i * stride, rest));
  };
  return Array.from({ length: n }, (_, i) => nest(i * per, cell));
}

const fp32 = (name: string, rows: number[][] | number[]): NeutralTensor => {
  const matrix = rows.every(Array.isArray);
  const data = (matrix ? (rows as number[][]).flat() : (rows as number[])).slice();
  return { name, datatype: "FP32", shape: matrix ? [rows.length, (rows as number[][])[0].length] : [rows.length], data };
};

interface Served {
  server: ConformanceServer;
  model: Model;
  close(): Promise<void>;
}

/** `omaf serve` of the artifact (KServe v1 only), and the same model loaded in this process. */
async function serve(
  artifact: string,
  cacheDir: string,
  opts: { env?: Record<string, string>; modelOptions?: Pick<CreateModelOptions, "onnx" | "pythonOptions"> } = {},
): Promise<Served> {
  const art = await materializeArtifact(artifact, { cacheDir });
  const model = createModel({ ...opts.modelOptions, dir: art.dir, manifest: art.manifest, provenance: { artifactDigest: art.artifactDigest } });
  const [server] = await Promise.all([startConformanceServer(artifact, { interfaces: ["kserve-v1"], env: opts.env }), model.load()]);
  assert.equal(server.artifactDigest, art.artifactDigest);
  return { server, model, close: async () => void (await Promise.all([server.stop(), model.close()])) };
}

/** The model's own output tensors for `inputs`, in the model's output order. */
async function own(served: Served, inputs: NeutralTensor[]): Promise<Tensor[]> {
  return served.model.predictTensors!(inputs.map(toTensor));
}

/** POSTs `body` to `<name>:predict`; asserts a 200 with provenance headers and answers the JSON body. */
async function predict(served: Served, body: unknown): Promise<Record<string, unknown>> {
  const { server } = served;
  const res = await fetch(`http://${server.host}:${server.ports["kserve-v1"]}/v1/models/${server.modelName}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `HTTP ${res.status}: ${text}`);
  assert.deepEqual(headerProvenance(res.headers), {
    modelName: server.modelName,
    modelVersion: server.modelVersion,
    artifactDigest: server.artifactDigest,
  });
  return JSON.parse(text) as Record<string, unknown>;
}

function assertSame(actual: unknown, expected: unknown, what: string): void {
  const diff = sameValues(actual, expected, what);
  assert.equal(diff, undefined, `${diff}\n  got:      ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`);
}

/** Asserts the body has exactly the one key `key` and answers its value. */
function only(body: Record<string, unknown>, key: string): unknown {
  assert.deepEqual(Object.keys(body), [key], `expected {"${key}": ...}, got ${JSON.stringify(body)}`);
  return body[key];
}

describe("KServe v1 predict follows TensorFlow Serving's row and columnar formats", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let single: Served;
  let multiOut: Served;
  let multiIn: Served;
  let vector: Served;

  before(async () => {
    tmp = await tempDir("omaf-kserve-rows-");
    const cache = join(tmp.dir, "cache");
    [single, multiOut, multiIn, vector] = await Promise.all([
      onnxArtifact(join(tmp.dir, "single"), "iris-probabilities", singleOutputGraph()).then((a) => serve(a, cache)),
      serve(IRIS, cache),
      onnxArtifact(join(tmp.dir, "two-inputs"), "iris-two-inputs", twoInputGraph()).then((a) => serve(a, cache)),
      onnxArtifact(join(tmp.dir, "vector"), "double", vectorGraph()).then((a) => serve(a, cache)),
    ]);
  });
  after(async () => {
    await Promise.all([single, multiOut, multiIn, vector].map((s) => s?.close()));
    await tmp?.cleanup();
  });

  it('one input, one output: {"instances": [[1,2,3,4]]} → {"predictions": [[p0,p1,p2]]}, the output\'s rows', async () => {
    for (const rows of [[[1, 2, 3, 4]], ROWS]) {
      const [probabilities] = await own(single, [fp32("input", rows)]);
      assertSame(only(await predict(single, { instances: rows }), "predictions"), tensorRows(probabilities), "predictions");
    }
  });

  it("one 1-D input: each instance is a scalar, and so is each prediction", async () => {
    const [y] = await own(vector, [fp32("x", [1.5, -2, 4])]);
    assertSame(only(await predict(vector, { instances: [1.5, -2, 4] }), "predictions"), tensorRows(y), "predictions");
  });

  it("several outputs: one object per instance, keyed by output name", async () => {
    const [probabilities, label] = await own(multiOut, [fp32("input", ROWS)]);
    const expected = ROWS.map((_, i) => ({ probabilities: tensorRows(probabilities)[i], label: tensorRows(label)[i] }));
    const predictions = only(await predict(multiOut, { instances: ROWS }), "predictions") as Record<string, unknown>[];
    assert.ok(Array.isArray(predictions) && predictions.length === ROWS.length, `expected ${ROWS.length} predictions: ${JSON.stringify(predictions)}`);
    predictions.forEach((p, i) => {
      assert.deepEqual(Object.keys(p ?? {}).sort(), ["label", "probabilities"], `prediction ${i}: ${JSON.stringify(p)}`);
      assertSame(p.probabilities, expected[i].probabilities, `predictions[${i}].probabilities`);
      assertSame(p.label, expected[i].label, `predictions[${i}].label`);
    });
  });

  it("several inputs: each instance is an object keyed by input name", async () => {
    const sepal = ROWS.map((r) => r.slice(0, 2));
    const petal = ROWS.map((r) => r.slice(2));
    const [probabilities] = await own(multiIn, [fp32("sepal", sepal), fp32("petal", petal)]);
    const instances = ROWS.map((_, i) => ({ sepal: sepal[i], petal: petal[i] }));
    assertSame(only(await predict(multiIn, { instances }), "predictions"), tensorRows(probabilities), "predictions");
  });

  it('columnar, one input and one output: {"inputs": [...]} → {"outputs": <the output value>}', async () => {
    const [probabilities] = await own(single, [fp32("input", ROWS)]);
    assertSame(only(await predict(single, { inputs: ROWS }), "outputs"), tensorRows(probabilities), "outputs");
  });

  it('columnar, several outputs: {"inputs": [...]} → {"outputs": {output_name: value, ...}}', async () => {
    const [probabilities, label] = await own(multiOut, [fp32("input", ROWS)]);
    const outputs = only(await predict(multiOut, { inputs: ROWS }), "outputs") as Record<string, unknown>;
    assert.deepEqual(Object.keys(outputs ?? {}).sort(), ["label", "probabilities"], `outputs: ${JSON.stringify(outputs)}`);
    assertSame(outputs.probabilities, tensorRows(probabilities), "outputs.probabilities");
    assertSame(outputs.label, tensorRows(label), "outputs.label");
  });

  it('columnar, several inputs: {"inputs": {input_name: value, ...}} → {"outputs": <the output value>}', async () => {
    const sepal = ROWS.map((r) => r.slice(0, 2));
    const petal = ROWS.map((r) => r.slice(2));
    const [probabilities] = await own(multiIn, [fp32("sepal", sepal), fp32("petal", petal)]);
    assertSame(only(await predict(multiIn, { inputs: { sepal, petal } }), "outputs"), tensorRows(probabilities), "outputs");
  });
});

for (const env of ENVIRONMENTS.filter((e) => e.name === "node" || e.name === "python")) {
  describe(`KServe v1 predict of a GPPI matrix model (${env.name}) answers the prediction rows`, () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    let served: Served;
    before(async () => {
      tmp = await tempDir(`omaf-kserve-rows-${env.name}-`);
      served = await serve(await env.artifact(tmp.dir), join(tmp.dir, "cache"), { env: env.env, modelOptions: env.modelOptions });
    });
    after(async () => {
      await served?.close();
      await tmp?.cleanup();
    });

    it('{"instances": rows} → {"predictions": the rows predict_on_matrix answered}', async () => {
      const rows = rowsOf(env.good);
      const expected = await served.model.predictMatrix({ data: rows });
      assertSame(only(await predict(served, { instances: rows }), "predictions"), expected.prediction, "predictions");
    });
  });
}
