// OIP v2 REST against a real `omaf serve` on 127.0.0.1: endpoints, metadata, JSON inference, and the binary tensor
// extension built byte by byte the way tritonclient.http builds it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { deflateSync, gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { postBytes } from "../helpers/oip-client.js";
import { writeFailingInitModel, nodeManifest } from "../helpers/serve.js";
import type { ConformanceServer } from "../conformance/harness.js";
import { example, restBase, startOip } from "./fixtures.js";

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function postJson(url: string, value: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await postBytes(url, Buffer.from(JSON.stringify(value)), { "content-type": "application/json" });
  return { status: res.status, headers: res.headers, body: JSON.parse(res.body.toString("utf8")) as Record<string, unknown> };
}

/** Little-endian float32 bytes, as numpy's tobytes() gives them. */
function float32Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** Splits a binary response: its JSON header and the bytes after it. */
function splitBinary(body: Buffer, headerLength: string | null): { header: Record<string, any>; rest: Buffer } {
  assert.ok(headerLength !== null, "binary responses carry Inference-Header-Content-Length");
  const n = Number(headerLength);
  return { header: JSON.parse(body.subarray(0, n).toString("utf8")), rest: body.subarray(n) };
}

/** A matrix model with a mixed schema (a string and a number column): rows [city, n] → [city:n, 2n]. */
async function writeMixedModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("mixed"),
    "src/model.mjs": `export function init() { return "matrix"; }
export function predict_on_matrix(rows, columns) {
  return [rows.map(([city, n]) => [city + ":" + n, 2 * n]), ["label", "double"]];
}
export function get_info() {
  return [[{ name: "city", type: "string" }, { name: "n", type: "number" }], [{ name: "label", type: "string" }, { name: "double", type: "number" }]];
}
`,
  });
  return dir;
}

describe("OIP v2 REST", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let iris: ConformanceServer;
  let matrix: ConformanceServer;
  let objects: ConformanceServer;
  let broken: ConformanceServer;
  let mixed: ConformanceServer;
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-oip-rest-");
    [iris, matrix, objects, broken, mixed] = await Promise.all([
      startOip(example("iris-onnx")),
      startOip(example("node-matrix")),
      startOip(example("node-objects")),
      startOip(await writeFailingInitModel(join(tmp.dir, "broken"))),
      startOip(await writeMixedModel(join(tmp.dir, "mixed"))),
    ]);
    base = `${restBase(iris)}/v2`;
  });
  after(async () => {
    await Promise.all([iris?.stop(), matrix?.stop(), objects?.stop(), broken?.stop(), mixed?.stop()]);
    await tmp?.cleanup();
  });

  it("answers server metadata, liveness and readiness", async () => {
    const meta = await getJson(base);
    assert.equal(meta.status, 200);
    assert.equal(meta.body.name, "omaf");
    assert.match(String(meta.body.version), /^\d+\.\d+\.\d+/);
    assert.ok((meta.body.extensions as string[]).includes("binary_tensor_data"));
    assert.deepEqual((await getJson(`${base}/health/live`)).body, { live: true });
    const ready = await getJson(`${base}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true });
    assert.equal((await getJson(`${base}/models/iris-onnx/ready`)).status, 200);
    assert.equal((await getJson(`${base}/models/iris-onnx/versions/1.0.0-1/ready`)).status, 200);
  });

  it("answers 503 readiness and 503 inference for a model that failed to load", async () => {
    const b = `${restBase(broken)}/v2`;
    assert.equal((await getJson(`${b}/health/live`)).status, 200);
    const ready = await getJson(`${b}/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { ready: false });
    assert.equal((await getJson(`${b}/models/broken-init/ready`)).status, 503);
    const res = await postJson(`${b}/models/broken-init/infer`, { inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: ["{}"] }] });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "OMAF_ERR_MODEL_NOT_READY");
    assert.match(String(res.body.error), /init failed on purpose/);
  });

  it("reports ONNX model metadata with -1 for variable dimensions", async () => {
    const meta = await getJson(`${base}/models/iris-onnx`);
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body, {
      name: "iris-onnx",
      versions: ["1.0.0-1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
        { name: "label", datatype: "INT64", shape: [-1, 1] },
      ],
      parameters: { max_batch_size: 0, max_batch_time_ms: 5 },
    });
    assert.deepEqual((await getJson(`${base}/models/iris-onnx/versions/1.0.0-1`)).body, meta.body);
  });

  it("answers 404 for an unknown model or version, with the error body", async () => {
    for (const url of [`${base}/models/nope`, `${base}/models/iris-onnx/versions/2.0.0-1`, `${base}/models/nope/ready`]) {
      const res = await getJson(url);
      assert.equal(res.status, 404, url);
      assert.equal(res.body.code, "OMAF_ERR_MODEL_NOT_FOUND");
      assert.equal(typeof res.body.error, "string");
    }
    const res = await postJson(`${base}/models/iris-onnx/versions/0.0.1-1/infer`, { inputs: [] });
    assert.equal(res.status, 404);
  });

  it("infers with JSON tensors: nested data, id echo, provenance parameters, outputs selection", async () => {
    const res = await postJson(`${base}/models/iris-onnx/versions/1.0.0-1/infer`, {
      id: "req-42",
      inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [SETOSA, VIRGINICA] }],
      outputs: [{ name: "label" }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    assert.equal(res.body.id, "req-42");
    assert.equal(res.body.model_name, "iris-onnx");
    assert.equal(res.body.model_version, "1.0.0-1");
    assert.deepEqual(res.body.parameters, {
      model_name: "iris-onnx",
      model_version: "1.0.0-1",
      artifact_digest: iris.artifactDigest,
    });
    assert.deepEqual(res.body.outputs, [{ name: "label", shape: [2, 1], datatype: "INT64", data: [0, 2] }]);

    const all = await postJson(`${base}/models/iris-onnx/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: SETOSA }] });
    assert.equal(all.status, 200);
    assert.equal("id" in all.body, false, "no id asked, none echoed");
    const outputs = all.body.outputs as { name: string; shape: number[]; data: number[] }[];
    assert.deepEqual(
      outputs.map((o) => [o.name, o.shape]),
      [
        ["probabilities", [1, 3]],
        ["label", [1, 1]],
      ],
    );
    assert.ok(Math.abs(outputs[0].data.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });

  it("takes a binary request as tritonclient.http sends it and answers per-output binary_data", async () => {
    // JSON header announcing the raw bytes, then the bytes; no Content-Type at all.
    const raw = float32Bytes([...SETOSA, ...VIRGINICA]);
    const header = Buffer.from(
      JSON.stringify({
        id: "bin-1",
        inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", parameters: { binary_data_size: raw.length } }],
        outputs: [
          { name: "probabilities", parameters: { binary_data: true } },
          { name: "label", parameters: { binary_data: false } },
        ],
      }),
    );
    const res = await postBytes(`${base}/models/iris-onnx/infer`, Buffer.concat([header, raw]), {
      "Inference-Header-Content-Length": String(header.length),
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const { header: h, rest } = splitBinary(res.body, res.headers.get("inference-header-content-length"));
    assert.equal(h.id, "bin-1");
    assert.equal(h.parameters.artifact_digest, iris.artifactDigest);
    const [probs, label] = h.outputs;
    assert.deepEqual(probs, { name: "probabilities", datatype: "FP32", shape: [2, 3], parameters: { binary_data_size: 24 } });
    assert.equal(rest.length, 24, "only the binary output's bytes follow the header");
    const p = Array.from({ length: 6 }, (_, i) => rest.readFloatLE(i * 4));
    assert.ok(p[0] > 0.9 && p[5] > 0.5, `setosa then virginica: ${p}`);
    assert.deepEqual(label, { name: "label", shape: [2, 1], datatype: "INT64", data: [0, 2] });
  });

  it("answers every output in binary for binary_data_output, in output order", async () => {
    const raw = float32Bytes(VIRGINICA);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }],
        parameters: { binary_data_output: true },
      }),
    );
    const res = await postBytes(`${base}/models/iris-onnx/infer`, Buffer.concat([header, raw]), {
      "inference-header-content-length": String(header.length),
    });
    assert.equal(res.status, 200, res.body.toString());
    const { header: h, rest } = splitBinary(res.body, res.headers.get("inference-header-content-length"));
    assert.deepEqual(
      h.outputs.map((o: { name: string; parameters: Record<string, unknown>; data?: unknown }) => [o.name, o.parameters.binary_data_size, "data" in o]),
      [
        ["probabilities", 12, false],
        ["label", 8, false],
      ],
    );
    assert.equal(rest.length, 20);
    assert.equal(rest.readBigInt64LE(12), 2n, "label follows the probabilities");
  });

  it("answers plain JSON to a binary request that asks for no binary output", async () => {
    const raw = float32Bytes(SETOSA);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] }));
    const res = await postBytes(`${base}/models/iris-onnx/infer`, Buffer.concat([header, raw]), {
      "inference-header-content-length": String(header.length),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("inference-header-content-length"), null);
    const body = JSON.parse(res.body.toString("utf8"));
    assert.deepEqual(body.outputs[1].data, [0]);
  });

  it("takes gzip and deflate request bodies (tritonclient's request compression)", async () => {
    const raw = float32Bytes(VIRGINICA);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] }));
    const plain = Buffer.concat([header, raw]);
    for (const [encoding, bytes] of [
      ["gzip", gzipSync(plain)],
      ["deflate", deflateSync(plain)],
    ] as const) {
      const res = await postBytes(`${base}/models/iris-onnx/infer`, bytes, {
        "content-encoding": encoding,
        "inference-header-content-length": String(header.length),
      });
      assert.equal(res.status, 200, `${encoding}: ${res.body}`);
      assert.deepEqual(JSON.parse(res.body.toString("utf8")).outputs[1].data, [2], encoding);
    }
    const unsupported = await postBytes(`${base}/models/iris-onnx/infer`, plain, { "content-encoding": "br" });
    assert.equal(unsupported.status, 400);
    assert.match(JSON.parse(unsupported.body.toString("utf8")).error, /Content-Encoding 'br'/);
    const corrupt = await postBytes(`${base}/models/iris-onnx/infer`, Buffer.from("not gzip"), { "content-encoding": "gzip" });
    assert.equal(corrupt.status, 400);
  });

  it("refuses malformed bodies and bad tensors with 400 and the error body", async () => {
    const url = `${base}/models/iris-onnx/infer`;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] }));
    const cases: [string, Buffer, Record<string, string>, RegExp][] = [
      ["not JSON", Buffer.from("{inputs:"), {}, /not valid JSON/],
      ["no body", Buffer.alloc(0), {}, /no body/],
      ["inputs missing", Buffer.from("{}"), {}, /"inputs" must be a list/],
      [
        "header length past the body",
        Buffer.concat([header, float32Bytes(SETOSA)]),
        { "inference-header-content-length": "999" },
        /Inference-Header-Content-Length/,
      ],
      ["binary bytes short", Buffer.concat([header, float32Bytes([1, 2, 3])]), { "inference-header-content-length": String(header.length) }, /.+/],
      ["bytes nobody announced", Buffer.concat([Buffer.from('{"inputs":[]}'), Buffer.from([1, 2])]), { "inference-header-content-length": "13" }, /.+/],
    ];
    for (const [what, body, headers, message] of cases) {
      const res = await postBytes(url, body, headers);
      assert.equal(res.status, 400, `${what}: ${res.body}`);
      const err = JSON.parse(res.body.toString("utf8"));
      assert.equal(err.code, "OMAF_ERR_BAD_INPUT", what);
      assert.match(err.error, message, what);
    }
    const tensors: [string, unknown, RegExp][] = [
      ["wrong shape", { name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }, /shape/],
      ["wrong datatype", { name: "input", shape: [1, 4], datatype: "FP64", data: SETOSA }, /FP32/],
      ["data count", { name: "input", shape: [1, 4], datatype: "FP32", data: [1, 2] }, /4 elements/],
      ["unknown datatype", { name: "input", shape: [1, 4], datatype: "FLOAT", data: SETOSA }, /datatype/],
      ["unknown input", { name: "x", shape: [1, 4], datatype: "FP32", data: SETOSA }, /x/],
    ];
    for (const [what, input, message] of tensors) {
      const res = await postJson(url, { inputs: [input] });
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.body.error), message, what);
    }
    const unknownOutput = await postJson(url, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: SETOSA }], outputs: [{ name: "nope" }] });
    assert.equal(unknownOutput.status, 400);
  });

  it("serves a GPPI matrix model: schema metadata, rows in, one prediction tensor with its columns out", async () => {
    const b = `${restBase(matrix)}/v2/models/sum-matrix`;
    const meta = await getJson(b);
    assert.deepEqual(meta.body, {
      name: "sum-matrix",
      versions: ["1.0.0-1"],
      platform: "omaf_node",
      inputs: [{ name: "input", datatype: "FP64", shape: [-1, 3] }],
      outputs: [{ name: "prediction", datatype: "FP64", shape: [-1, 2] }],
      parameters: { max_batch_size: 0, max_batch_time_ms: 5 },
    });
    // Any numeric datatype is taken; the answer is the model's rows.
    const res = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [2, 3], datatype: "INT32", data: [1, 2, 3, 4, 5, 6] }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [out] = res.body.outputs as { name: string; datatype: string; shape: number[]; data: number[]; parameters: Record<string, unknown> }[];
    assert.equal(out.name, "prediction");
    assert.equal(out.datatype, "FP64");
    assert.deepEqual(out.shape, [2, 2]);
    assert.deepEqual(out.parameters, { columns: ["sum", "score"] });
    assert.equal(out.data[0], 6);
    assert.equal(out.data[2], 15);

    // One input per column, named: the model gets the column names and reorders by them.
    const byColumn = await postJson(`${b}/infer`, {
      inputs: [
        { name: "c", shape: [2], datatype: "FP64", data: [3, 6] },
        { name: "a", shape: [2], datatype: "FP64", data: [1, 4] },
        { name: "b", shape: [2], datatype: "FP64", data: [2, 5] },
      ],
    });
    assert.equal(byColumn.status, 200, JSON.stringify(byColumn.body));
    assert.deepEqual((byColumn.body.outputs as { data: number[] }[])[0].data, out.data);

    // A 1-D input is one row; strings are refused for a numeric model.
    const oneRow = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [3], datatype: "FP64", data: [1, 1, 1] }] });
    assert.deepEqual((oneRow.body.outputs as { shape: number[]; data: number[] }[])[0].shape, [1, 2]);
    const strings = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [1, 3], datatype: "BYTES", data: ["1", "2", "3"] }] });
    assert.equal(strings.status, 400);
    const wide = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [1, 2], datatype: "FP64", data: [1, 2] }] });
    assert.equal(wide.status, 400);
    assert.match(String(wide.body.error), /3 values/);
  });

  it("serves a matrix model with a mixed schema: no tensor signature, columns of any datatype, JSON cells out", async () => {
    const b = `${restBase(mixed)}/v2/models/mixed`;
    const meta = await getJson(b);
    assert.deepEqual([meta.body.inputs, meta.body.outputs], [[], []]);
    const res = await postJson(`${b}/infer`, {
      inputs: [
        { name: "city", shape: [2], datatype: "BYTES", data: ["Oslo", "Rome"] },
        { name: "n", shape: [2, 1], datatype: "INT32", data: [1, 2] },
      ],
      outputs: [{ name: "prediction" }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.outputs, [
      {
        name: "prediction",
        shape: [2, 2],
        datatype: "BYTES",
        data: ['"Oslo:1"', "2", '"Rome:2"', "4"],
        parameters: { content_type: "json", columns: ["label", "double"] },
      },
    ]);
  });

  it("serves a GPPI objects model: BYTES elements of JSON in and out", async () => {
    const b = `${restBase(objects)}/v2/models/sentiment-objects`;
    const meta = await getJson(b);
    assert.deepEqual(meta.body.inputs, [{ name: "input", datatype: "BYTES", shape: [-1] }]);
    assert.deepEqual(meta.body.outputs, [{ name: "prediction", datatype: "BYTES", shape: [-1] }]);
    const docs = [{ text: "great and fast" }, [{ text: "awful" }, { text: "fine" }]];
    const res = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [2], datatype: "BYTES", data: docs.map((d) => JSON.stringify(d)) }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [out] = res.body.outputs as { datatype: string; shape: number[]; data: string[]; parameters: Record<string, unknown> }[];
    assert.equal(out.datatype, "BYTES");
    assert.deepEqual(out.shape, [2]);
    assert.deepEqual(out.parameters, { content_type: "json" });
    const answers = out.data.map((s) => JSON.parse(s));
    assert.equal(answers[0].label, "positive");
    assert.deepEqual(
      answers[1].map((a: { label: string }) => a.label),
      ["negative", "neutral"],
    );

    const notJson = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [1], datatype: "BYTES", data: ["{oops"] }] });
    assert.equal(notJson.status, 400);
    const modelError = await postJson(`${b}/infer`, { inputs: [{ name: "input", shape: [1], datatype: "BYTES", data: ['{"no":"text"}'] }] });
    assert.equal(modelError.status, 500);
    assert.equal(modelError.body.code, "OMAF_ERR_PREDICT");
    assert.match(String(modelError.body.error), /'text' string/);
  });
});
