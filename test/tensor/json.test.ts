import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flattenData, tensorFromJson, tensorToJson } from "../../src/tensor/json.js";
import { DATATYPES } from "../../src/tensor/tensor.js";
import { assertOmafError, assertSameTensor, sample } from "./samples.js";

/** Through JSON text, as a REST request or response travels. */
const viaText = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("JSON tensors", () => {
  for (const datatype of DATATYPES) {
    it(`round-trips ${datatype} through JSON text`, () => {
      const t = sample(datatype);
      assertSameTensor(tensorFromJson(viaText(tensorToJson(t))), t);
    });
  }

  it("writes JSON-safe values the way Triton and MLServer do", () => {
    assert.deepEqual(tensorToJson(sample("BOOL")).data, [true, false, false, true, true, false]);
    assert.deepEqual(tensorToJson(sample("INT64")).data, [
      "-9223372036854775808",
      "9223372036854775807",
      "9007199254740993",
      "-9007199254740993",
      -9007199254740991,
      42,
    ]);
    assert.deepEqual(tensorToJson(sample("UINT64")).data, [0, "18446744073709551615", "9007199254740993", "9223372036854775808", 9007199254740991, 42]);
    assert.deepEqual(tensorToJson(sample("FP16")).data, [1, -2, 65504, 2 ** -14, 2 ** -24, "NaN"]);
    assert.deepEqual(tensorToJson(sample("FP64")).data, [Math.PI, -1e308, 5e-324, "NaN", "-Infinity", 0.1]);
    assert.deepEqual(tensorToJson(sample("BYTES")).data, ["", "héllo", "日本語", "🎉", "a\u0000b", "plain"]);
    const json = tensorToJson(sample("INT32"));
    assert.deepEqual(Object.keys(json), ["name", "shape", "datatype", "data"]);
  });

  it("reads flat and nested data alike", () => {
    const flat = tensorFromJson({ name: "x", datatype: "INT32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    const nested = tensorFromJson({
      name: "x",
      datatype: "INT32",
      shape: [2, 3],
      data: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    assertSameTensor(nested, flat);
    const deep = tensorFromJson({ name: "x", datatype: "FP32", shape: [2, 1, 2], data: [[[1, 2]], [[3, 4]]] });
    assert.deepEqual(Array.from(deep.data as Float32Array), [1, 2, 3, 4]);
    const strings = tensorFromJson({ name: "s", datatype: "BYTES", shape: [1, 2], data: [["a", "b"]] });
    assert.deepEqual(
      (strings.data as Uint8Array[]).map((b) => Buffer.from(b).toString()),
      ["a", "b"],
    );
    const empty = tensorFromJson({ name: "e", datatype: "FP32", shape: [0, 3], data: [] });
    assert.equal(empty.data.length, 0);
    const scalar = tensorFromJson({ name: "s", datatype: "FP64", shape: [], data: [2.5] });
    assert.deepEqual(Array.from(scalar.data as Float64Array), [2.5]);
    assert.deepEqual(flattenData(7, []), [7]);
  });

  it("refuses data that does not match the shape", () => {
    const bad =
      (data: unknown, shape: number[] = [2, 3]) =>
      () =>
        tensorFromJson({ name: "x", datatype: "INT32", shape, data });
    assertOmafError(bad([1, 2, 3, 4, 5]), "OMAF_ERR_BAD_INPUT", /tensor 'x': shape \[2,3\] holds 6 elements but data has 5 values/);
    assertOmafError(
      bad([
        [1, 2, 3],
        [4, 5],
      ]),
      "OMAF_ERR_BAD_INPUT",
      /data\[1\] must be a list of 3 .* got 2 values/,
    );
    assertOmafError(
      bad([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      "OMAF_ERR_BAD_INPUT",
      /data must be a list of 2/,
    );
    assertOmafError(bad([[1, 2, 3, 4, 5, 6]]), "OMAF_ERR_BAD_INPUT", /data must be a list of 2/);
    assertOmafError(
      bad([
        [[1], [2], [3]],
        [[4], [5], [6]],
      ]),
      "OMAF_ERR_BAD_INPUT",
      /data\[0\]\[0\] nests deeper/,
    );
    assertOmafError(bad([[1, 2, 3], 4]), "OMAF_ERR_BAD_INPUT", /data\[1\] must be a list of 3/);
    assertOmafError(bad([1, [2, 3]], [2]), "OMAF_ERR_BAD_INPUT", /element 1: expected an integer/);
    assertOmafError(bad(undefined), "OMAF_ERR_BAD_INPUT", /data must be a list of values, not missing/);
    assertOmafError(bad("1,2,3"), "OMAF_ERR_BAD_INPUT", /data must be a list/);
    assertOmafError(bad([[1]], []), "OMAF_ERR_BAD_INPUT", /data nests deeper than shape \[\]/);
  });

  it("refuses values of the wrong type or out of range, naming the tensor and index", () => {
    const cases: [string, unknown[], RegExp][] = [
      ["INT32", [1, 2.5], /tensor 'v' \(INT32\) element 1: expected an integer in \[-2147483648, 2147483647\], got 2\.5/],
      ["INT32", [1, "2"], /element 1: .* got "2"/],
      ["INT32", [true, 1], /element 0: .* got true/],
      ["INT32", [null, 1], /element 0: .* got null/],
      ["INT32", [2 ** 31, 1], /element 0/],
      ["INT8", [127, 128], /element 1: expected an integer in \[-128, 127\]/],
      ["UINT8", [-1, 0], /element 0: expected an integer in \[0, 255\]/],
      ["UINT16", [0, 65536], /element 1/],
      ["UINT32", [0, NaN], /element 1/],
      ["INT64", [1, "12a"], /element 1: expected an integer in \[-9223372036854775808, 9223372036854775807\] \(or its decimal string\)/],
      ["INT64", ["9223372036854775808", 1], /element 0/],
      ["INT64", [1, 1.5], /element 1/],
      ["INT64", [1, 2 ** 63], /element 1/],
      ["UINT64", [-1, 1], /element 0: expected an integer in \[0, 18446744073709551615\]/],
      ["UINT64", [1, "18446744073709551616"], /element 1/],
      ["BOOL", [true, 2], /element 1: expected a boolean \(or 0\/1\), got 2/],
      ["BOOL", ["true", false], /element 0/],
      ["BYTES", ["a", 5], /element 1: expected a string, got 5/],
      ["FP32", [1, 1e39], /element 1: expected a number within FP32 range/],
      ["FP32", [1, "1.5"], /element 1/],
      ["FP16", [1, 70000], /element 1: expected a number within FP16 range/],
      ["FP64", [{}, 1], /element 0/],
    ];
    for (const [datatype, data, pattern] of cases) {
      assertOmafError(() => tensorFromJson({ name: "v", datatype, shape: [2], data }), "OMAF_ERR_BAD_INPUT", pattern);
    }
  });

  it("takes INT64/UINT64 beyond 2^53 exactly as decimal strings, and as JSON numbers when safe", () => {
    const t = tensorFromJson({ name: "i", datatype: "INT64", shape: [3], data: ["9007199254740993", -5, "-9223372036854775808"] });
    assert.deepEqual(Array.from(t.data as BigInt64Array), [9007199254740993n, -5n, -(2n ** 63n)]);
    const u = tensorFromJson({ name: "u", datatype: "UINT64", shape: [2], data: ["18446744073709551615", 7] });
    assert.deepEqual(Array.from(u.data as BigUint64Array), [2n ** 64n - 1n, 7n]);
  });

  it("takes BOOL as booleans or 0/1 and BYTES with multi-byte UTF-8 and empty strings", () => {
    const b = tensorFromJson({ name: "b", datatype: "BOOL", shape: [4], data: [true, 0, 1, false] });
    assert.deepEqual(Array.from(b.data as Uint8Array), [1, 0, 1, 0]);
    const s = tensorFromJson({ name: "s", datatype: "BYTES", shape: [3], data: ["", "ü€", "𝄞"] });
    assert.deepEqual(
      (s.data as Uint8Array[]).map((x) => Array.from(x)),
      [[], [0xc3, 0xbc, 0xe2, 0x82, 0xac], [0xf0, 0x9d, 0x84, 0x9e]],
    );
  });

  it("takes FP16 as numbers (rounded to half) and non-finite floats as strings", () => {
    const h = tensorFromJson({ name: "h", datatype: "FP16", shape: [6], data: [1, -2, 65504, 0.000061035, "NaN", "-Infinity"] });
    assert.deepEqual(Array.from(h.data as Uint16Array), [0x3c00, 0xc000, 0x7bff, 0x0400, 0x7e00, 0xfc00]);
    const f = tensorFromJson({ name: "f", datatype: "FP32", shape: [2], data: ["Infinity", 0.1] });
    assert.deepEqual(Array.from(f.data as Float32Array), [Infinity, Math.fround(0.1)]);
  });

  it("keeps tensor parameters both ways", () => {
    const t = tensorFromJson({ name: "p", datatype: "BYTES", shape: [1], data: ["x"], parameters: { content_type: "str" } });
    assert.deepEqual(t.parameters, { content_type: "str" });
    assert.deepEqual(tensorToJson(t).parameters, { content_type: "str" });
    assert.equal(tensorFromJson({ name: "q", datatype: "BOOL", shape: [1], data: [true], parameters: {} }).parameters, undefined);
  });

  it("refuses malformed tensor objects", () => {
    assertOmafError(() => tensorFromJson(null), "OMAF_ERR_BAD_INPUT", /must be an object/);
    assertOmafError(() => tensorFromJson({ datatype: "FP32", shape: [1], data: [1] }), "OMAF_ERR_BAD_INPUT", /name must be a non-empty string/);
    assertOmafError(() => tensorFromJson({ name: "x", datatype: "FLOAT", shape: [1], data: [1] }), "OMAF_ERR_BAD_INPUT", /tensor 'x': datatype/);
    assertOmafError(() => tensorFromJson({ name: "x", datatype: "FP32", shape: [-1], data: [1] }), "OMAF_ERR_BAD_INPUT", /tensor 'x': shape\[0\]/);
    assertOmafError(() => tensorFromJson({ name: "x", datatype: "FP32", data: [1] }, "input"), "OMAF_ERR_BAD_INPUT", /input 'x': shape must be a list/);
    assertOmafError(
      () => tensorFromJson({ name: "x", datatype: "FP32", shape: [1], data: [1], parameters: [] }),
      "OMAF_ERR_BAD_INPUT",
      /parameters must be an object/,
    );
  });

  it("refuses to encode a malformed tensor", () => {
    assertOmafError(() => tensorToJson({ name: "o", datatype: "FP32", shape: [3], data: new Float32Array(2) }), "OMAF_ERR_INTERNAL", /holds 3 elements/);
  });
});
