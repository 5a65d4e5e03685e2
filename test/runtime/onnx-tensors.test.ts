// Conversions used by the onnx environment: datatype names and onnxruntime error codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ortErrorCode } from "../../src/runtime/onnx-model.js";
import { DATATYPE_TO_ORT, ORT_TO_DATATYPE } from "../../src/runtime/onnx-tensors.js";
import { DATATYPES } from "../../src/tensor/tensor.js";

test("every omaf datatype maps to an onnxruntime type and back", () => {
  for (const dt of DATATYPES) assert.equal(ORT_TO_DATATYPE[DATATYPE_TO_ORT[dt]], dt, dt);
});

test("onnxruntime's own input complaints map to OMAF_ERR_BAD_INPUT, other failures to OMAF_ERR_PREDICT", () => {
  for (const message of [
    "Got invalid dimensions for input: input for the following indices\n index: 1 Got: 3 Expected: 4",
    "Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))",
    "Invalid rank for input: input Got: 1 Expected: 2 Please fix either the inputs/outputs or the model.",
    "input 'input' is missing in 'feeds'.",
  ]) {
    assert.equal(ortErrorCode(message), "OMAF_ERR_BAD_INPUT", message);
  }
  assert.equal(ortErrorCode("Non-zero status code returned while running Reshape node."), "OMAF_ERR_PREDICT");
});
