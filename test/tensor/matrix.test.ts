import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matrixFromTensor, tensorFromMatrix } from "../../src/tensor/matrix.js";
import { assertOmafError, assertSameTensor, sample } from "./samples.js";

describe("matrix conversions", () => {
  it("turns rows of numbers into an FP64 [rows, columns] tensor and back", () => {
    const rows = [
      [1, 2.5, 3],
      [4, 5, -6],
    ];
    const t = tensorFromMatrix(rows, "input");
    assert.deepEqual({ ...t, data: Array.from(t.data as Float64Array) }, { name: "input", datatype: "FP64", shape: [2, 3], data: [1, 2.5, 3, 4, 5, -6] });
    assert.ok(t.data instanceof Float64Array);
    assert.deepEqual(matrixFromTensor(t), rows);
  });

  it("infers BYTES for strings and BOOL for booleans, and takes a given datatype", () => {
    const s = tensorFromMatrix(
      [
        ["a", "é"],
        ["", "z"],
      ],
      "s",
    );
    assert.equal(s.datatype, "BYTES");
    assert.deepEqual(matrixFromTensor(s), [
      ["a", "é"],
      ["", "z"],
    ]);
    const b = tensorFromMatrix([[true], [false]], "b");
    assert.equal(b.datatype, "BOOL");
    assert.deepEqual(matrixFromTensor(b), [[true], [false]]);
    const i = tensorFromMatrix(
      [
        [1, 2],
        [3, 4],
      ],
      "i",
      "INT32",
    );
    assert.ok(i.data instanceof Int32Array);
    assertOmafError(() => tensorFromMatrix([[1, 2.5]], "i", "INT32"), "OMAF_ERR_BAD_INPUT", /tensor 'i' \(INT32\) row 0, column 1/);
    assertOmafError(() => tensorFromMatrix([[1n, 2]], "i", "INT32"), "OMAF_ERR_BAD_INPUT", /row 0, column 0: .* got 1n/);
    assert.deepEqual(Array.from(tensorFromMatrix([[1n, 2]], "l", "INT64").data as BigInt64Array), [1n, 2n]);
  });

  it("takes a flat list (one value per row) and typed-array rows", () => {
    const flat = tensorFromMatrix([0, 1, 1], "prediction");
    assert.deepEqual(flat.shape, [3]);
    const typed = tensorFromMatrix([Float32Array.of(1, 2), Float32Array.of(3, 4)], "t");
    assert.deepEqual(typed.shape, [2, 2]);
    assert.deepEqual(Array.from(typed.data as Float64Array), [1, 2, 3, 4]);
    assert.deepEqual(tensorFromMatrix([], "e").shape, [0]);
  });

  it("refuses mixed kinds and ragged rows", () => {
    assertOmafError(() => tensorFromMatrix([[1, "a"]], "m"), "OMAF_ERR_BAD_INPUT", /all numbers, all strings or all booleans \(element 1 differs\)/);
    assertOmafError(() => tensorFromMatrix([[null, 1]], "m"), "OMAF_ERR_BAD_INPUT", /element 0 differs/);
    assertOmafError(() => tensorFromMatrix([[1, 2], [3]], "m"), "OMAF_ERR_BAD_INPUT", /row 1 has 1 values, row 0 has 2/);
    assertOmafError(() => tensorFromMatrix([[1, 2], 3], "m"), "OMAF_ERR_BAD_INPUT", /row 1 is not a list/);
    assertOmafError(() => tensorFromMatrix([1, [2]], "m"), "OMAF_ERR_BAD_INPUT", /item 1 is a list but item 0 is not/);
  });

  it("reads every datatype's 2-D tensor as rows, and refuses other ranks", () => {
    const i64 = matrixFromTensor(sample("INT64"));
    assert.deepEqual(i64[1], ["-9007199254740993", -9007199254740991, 42]);
    const h = matrixFromTensor(sample("FP16"));
    assert.deepEqual(h[0], [1, -2, 65504]);
    assertSameTensor(tensorFromMatrix(matrixFromTensor(sample("INT64")), "t_int64", "INT64"), sample("INT64"));
    assertOmafError(
      () => matrixFromTensor({ name: "v", datatype: "FP32", shape: [3], data: new Float32Array(3) }),
      "OMAF_ERR_BAD_INPUT",
      /2-D tensor \[rows, columns\], not shape \[3\]/,
    );
  });
});
