// OIP REST writes its answers' JSON directly as text; the text must be exactly what JSON.stringify makes of the
// response object (tensorToJson's tensors, binary outputs' header entries).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeInferAnswer, encodeInferResponse, tensorToRaw } from "../../src/tensor/binary.js";
import { tensorJsonText, tensorToJson } from "../../src/tensor/json.js";
import { valuesFromData, valuesJsonText } from "../../src/tensor/values.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const TENSORS: Tensor[] = [
  { name: "b", datatype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
  { name: "u8", datatype: "UINT8", shape: [2], data: new Uint8Array([0, 255]) },
  { name: "i8", datatype: "INT8", shape: [2], data: new Int8Array([-128, 127]) },
  { name: "u16", datatype: "UINT16", shape: [1], data: new Uint16Array([65535]) },
  { name: "i16", datatype: "INT16", shape: [1], data: new Int16Array([-32768]) },
  { name: "u32", datatype: "UINT32", shape: [1], data: new Uint32Array([4294967295]) },
  { name: "i32", datatype: "INT32", shape: [2, 1], data: new Int32Array([-1, 2147483647]) },
  { name: "i64", datatype: "INT64", shape: [3], data: new BigInt64Array([-9223372036854775808n, 0n, 9007199254740991n]) },
  { name: "u64", datatype: "UINT64", shape: [2], data: new BigUint64Array([18446744073709551615n, 7n]) },
  { name: "f16", datatype: "FP16", shape: [3], data: new Uint16Array([0x3800, 0x7c00, 0x7e00]) },
  { name: "f32", datatype: "FP32", shape: [1, 5], data: new Float32Array([1.5, -0, NaN, -Infinity, 1.7172912680300633e-40]) },
  { name: "f64", datatype: "FP64", shape: [2], data: new Float64Array([0.1, 5e-324]) },
  { name: 'by"tes', datatype: "BYTES", shape: [2], data: [Buffer.from("héllo"), Buffer.from('"quoted"\n')] },
  { name: "with-params", datatype: "FP32", shape: [], data: new Float32Array([2]), parameters: { columns: ["a"], content_type: "json" } },
  { name: "empty-params", datatype: "INT32", shape: [0], data: new Int32Array(0), parameters: {} },
  // Around 2^53 (exact numbers up to 2^53 - 1, strings beyond) and past the size written element by element.
  { name: "i64-edges", datatype: "INT64", shape: [4], data: new BigInt64Array([9007199254740992n, -9007199254740991n, -9007199254740992n, -1n]) },
  { name: "many", datatype: "FP32", shape: [10, 10], data: Float32Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? NaN : i / 3)) },
  { name: "many-i64", datatype: "INT64", shape: [65], data: BigInt64Array.from({ length: 65 }, (_, i) => BigInt(i) * 2n ** 52n) },
];

/** The outputs as JSON text the way the OIP REST route answers them: after a fixed start, none in binary. */
const jsonOutputsText = (outputs: Tensor[]) => {
  const { body, headerLength } = encodeInferAnswer("", outputs, new Set());
  assert.equal(headerLength, undefined);
  assert.equal(typeof body, "string");
  return (body as string).slice(0, -1);
};

describe("OIP REST JSON outputs", () => {
  it("are the text of JSON.stringify(outputs.map(tensorToJson)) for every datatype, parameters included", () => {
    assert.equal(jsonOutputsText(TENSORS), JSON.stringify(TENSORS.map(tensorToJson)));
    assert.equal(jsonOutputsText([]), "[]");
    for (const t of TENSORS) assert.equal(tensorJsonText(t), JSON.stringify(tensorToJson(t)), t.name);
  });

  it("with some outputs in binary: the header is JSON.stringify of the response object, the raw bytes follow in order", () => {
    const binary = new Set(["f32", 'by"tes', "with-params", "empty-params"]);
    const response = { model_name: "m", model_version: "1", id: 'id "1"', parameters: { artifact_digest: "sha256:00" }, outputs: TENSORS };
    const { body, headerLength } = encodeInferResponse(response, binary);
    const expected = JSON.stringify({
      ...response,
      outputs: TENSORS.map((t) =>
        binary.has(t.name)
          ? { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { ...t.parameters, binary_data_size: tensorToRaw(t).length } }
          : tensorToJson(t),
      ),
    });
    assert.equal(body.subarray(0, headerLength).toString("utf8"), expected);
    const raws = TENSORS.filter((t) => binary.has(t.name)).map((t) => tensorToRaw(t));
    assert.deepEqual(body.subarray(headerLength), Buffer.concat(raws));
    // All in JSON: plain JSON, no header length.
    const plain = encodeInferResponse({ model_name: "m", outputs: TENSORS.slice(0, 2) });
    assert.equal(plain.headerLength, undefined);
    assert.equal(plain.body.toString("utf8"), JSON.stringify({ model_name: "m", outputs: TENSORS.slice(0, 2).map(tensorToJson) }));
  });

  it("write each datatype's values as JSON.stringify writes valuesFromData's list", () => {
    for (const t of TENSORS) assert.equal(valuesJsonText(t.datatype, t.data), JSON.stringify(valuesFromData(t.datatype, t.data)), t.name);
  });

  it("write a shape whose dimensions came as strings or bigints (as gRPC int64 fields do) as numbers", () => {
    const t = { name: "s", datatype: "INT32", shape: ["2", 1n], data: new Int32Array([1, 2]) } as unknown as Tensor;
    assert.equal(jsonOutputsText([t]), '[{"name":"s","shape":[2,1],"datatype":"INT32","data":[1,2]}]');
  });

  it("refuse a malformed model output as tensorToJson does", () => {
    const broken = { name: "x", datatype: "FP32", shape: [3], data: new Float32Array(2) } as Tensor;
    assert.throws(() => tensorToJson(broken), { code: "OMAF_ERR_INTERNAL" });
    assert.throws(() => jsonOutputsText([broken]), { code: "OMAF_ERR_INTERNAL" });
  });
});
