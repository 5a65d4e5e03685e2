// GPPI conventions as pure functions: info() schemas, tensor views, predict_on_matrix answers, matrix checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkMatrix, GppiShapeError, matrixTensorSpecs, normaliseMatrixResult, parseInfoSchemas } from "../../src/runtime/gppi.js";

test("info schemas as a pair or as {input, output}", () => {
  const field = { name: "x", type: "float64", required: true, example: 1.5 };
  assert.deepEqual(parseInfoSchemas([[field], []]), { inputSchema: [field], outputSchema: [] });
  assert.deepEqual(parseInfoSchemas({ input: [field] }), { inputSchema: [field], outputSchema: [] });
  assert.deepEqual(parseInfoSchemas([[{ name: "y" }], null]).inputSchema, [{ name: "y", type: "any" }]);
  for (const bad of ["x", [1, 2, 3], {}, [[{ type: "int" }], []], [[5], []], [{}, []]]) {
    assert.throws(() => parseInfoSchemas(bad), GppiShapeError, JSON.stringify(bad));
  }
});

test("tensor views of matrix schemas", () => {
  const num = (name: string, type = "number") => ({ name, type });
  assert.deepEqual(matrixTensorSpecs([num("a"), num("b", "int64"), num("c", "float32")], [num("y", "double")]), {
    inputs: [{ name: "input", datatype: "FP64", shape: [-1, 3] }],
    outputs: [{ name: "prediction", datatype: "FP64", shape: [-1, 1] }],
  });
  assert.deepEqual(matrixTensorSpecs([num("a", "string"), num("b", "str")], undefined).inputs, [{ name: "input", datatype: "BYTES", shape: [-1, 2] }]);
  assert.deepEqual(matrixTensorSpecs([num("a"), num("b", "string")], []), { inputs: [], outputs: [] });
  assert.deepEqual(matrixTensorSpecs([num("a", "mystery")], undefined).inputs, []);
});

test("predict_on_matrix answers", () => {
  assert.deepEqual(normaliseMatrixResult([[[1], [2]], ["y"]]), { prediction: [[1], [2]], columns: ["y"] });
  assert.deepEqual(normaliseMatrixResult([[1, 2], null]), { prediction: [1, 2] });
  assert.deepEqual(normaliseMatrixResult({ prediction: [[1]], columns: ["y"] }), { prediction: [[1]], columns: ["y"] });
  assert.deepEqual(normaliseMatrixResult([Float64Array.of(1, 2), undefined]), { prediction: [1, 2] });
  assert.deepEqual(normaliseMatrixResult({ prediction: [Int32Array.of(3)] }), { prediction: [[3]] });
  for (const bad of [42, null, [[1], [2], [3]], [[[1]], [1]], { prediction: 5 }, { prediction: [1], columns: [1] }, { result: [] }]) {
    assert.throws(() => normaliseMatrixResult(bad), GppiShapeError, JSON.stringify(bad));
  }
});

test("matrix checks", () => {
  assert.deepEqual(
    checkMatrix(
      [
        [1, 2],
        [3, 4],
      ],
      ["a", "b"],
    ),
    { width: 2 },
  );
  assert.deepEqual(checkMatrix([[]], undefined), { width: 0 });
  assert.throws(() => checkMatrix([], undefined), /no rows/);
  assert.throws(() => checkMatrix([[1], [1, 2]], undefined), /row 1 .* 2 values, row 0 has 1/);
  assert.throws(() => checkMatrix([[1], 5], undefined), /row 1 .* not a list/);
  assert.throws(() => checkMatrix([[1, 2]], ["a"]), /1 column names .* 2 values/);
  assert.throws(() => checkMatrix({ 0: [1] }, undefined), /not a list of rows/);
});
