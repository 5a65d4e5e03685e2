import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocData, bytesPerElement, checkShape, checkTensor, DATATYPE_ARRAYS, isDatatype, parseDatatype } from "../../src/tensor/datatype.js";
import { DATATYPES } from "../../src/tensor/tensor.js";
import { ALL_SAMPLES, assertOmafError, sample } from "./samples.js";

describe("datatypes", () => {
  it("knows each element size (BYTES is variable)", () => {
    const sizes = Object.fromEntries(DATATYPES.map((d) => [d, bytesPerElement(d)]));
    assert.deepEqual(sizes, {
      BOOL: 1,
      UINT8: 1,
      UINT16: 2,
      UINT32: 4,
      UINT64: 8,
      INT8: 1,
      INT16: 2,
      INT32: 4,
      INT64: 8,
      FP16: 2,
      FP32: 4,
      FP64: 8,
      BYTES: undefined,
    });
    assert.equal(DATATYPE_ARRAYS.FP16, Uint16Array);
    assert.equal(DATATYPE_ARRAYS.INT64, BigInt64Array);
  });

  it("parses datatype names, ignoring case, and refuses others", () => {
    assert.equal(parseDatatype("FP32"), "FP32");
    assert.equal(parseDatatype("fp16"), "FP16");
    assert.ok(isDatatype("BYTES"));
    assert.ok(!isDatatype("bytes"));
    assertOmafError(() => parseDatatype("FLOAT32", "input 'x'"), "OMAF_ERR_BAD_INPUT", /input 'x': datatype must be one of BOOL, .* not "FLOAT32"/);
    assertOmafError(() => parseDatatype(undefined), "OMAF_ERR_BAD_INPUT", /not missing/);
  });

  it("checks shapes and reads int64 dimensions given as strings", () => {
    assert.deepEqual(checkShape([2, "3", 4n]), [2, 3, 4]);
    assert.deepEqual(checkShape([]), []);
    assert.deepEqual(checkShape([0, 5]), [0, 5]);
    assertOmafError(() => checkShape([2, -1]), "OMAF_ERR_BAD_INPUT", /shape\[1\] must be a non-negative integer, not -1/);
    assertOmafError(() => checkShape([1.5]), "OMAF_ERR_BAD_INPUT", /shape\[0\]/);
    assertOmafError(() => checkShape(["x"]), "OMAF_ERR_BAD_INPUT", /shape\[0\]/);
    assertOmafError(() => checkShape("2,3"), "OMAF_ERR_BAD_INPUT", /shape must be a list/);
    assertOmafError(() => checkShape([2 ** 30, 2 ** 30, 2 ** 30]), "OMAF_ERR_BAD_INPUT", /holds at most/);
  });

  it("accepts every well-formed sample tensor", () => {
    for (const t of ALL_SAMPLES()) assert.equal(checkTensor(t), t);
  });

  it("refuses data of the wrong kind or length", () => {
    assertOmafError(() => checkTensor({ ...sample("FP32"), data: new Float64Array(6) }), "OMAF_ERR_INTERNAL", /FP32 data must be a Float32Array/);
    assertOmafError(() => checkTensor({ ...sample("INT16"), data: new Uint16Array(6) }), "OMAF_ERR_INTERNAL", /Int16Array/);
    assertOmafError(() => checkTensor({ ...sample("FP32"), shape: [4] }), "OMAF_ERR_INTERNAL", /holds 4 elements but data has 6/);
    assertOmafError(() => checkTensor({ ...sample("BYTES"), data: ["a"] as never }), "OMAF_ERR_INTERNAL", /BYTES element 0/);
    assertOmafError(() => checkTensor({ ...sample("BOOL"), shape: [-1, 3] }, "OMAF_ERR_BAD_INPUT"), "OMAF_ERR_BAD_INPUT", /shape\[0\]/);
  });

  it("allocates zeroed data of the right kind", () => {
    for (const d of DATATYPES) {
      const data = allocData(d, 3);
      assert.equal(data.length, 3);
      if (d === "BYTES") assert.ok((data as Uint8Array[]).every((b) => b.length === 0));
      else assert.ok(data instanceof DATATYPE_ARRAYS[d]);
    }
  });
});
