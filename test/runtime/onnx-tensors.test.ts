// Conversions used by the onnx environment: datatype names, cell writers, onnxruntime error codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ortErrorCode } from "../../src/runtime/onnx-model.js";
import {
  cellReader,
  cellWriter,
  dataMismatch,
  DATATYPE_TO_ORT,
  ORT_TO_DATATYPE,
} from "../../src/runtime/onnx-tensors.js";
import { DATATYPES } from "../../src/tensor/tensor.js";

test("every omaf datatype maps to an onnxruntime type and back", () => {
  for (const dt of DATATYPES) assert.equal(ORT_TO_DATATYPE[DATATYPE_TO_ORT[dt]], dt, dt);
});

test("cell writers refuse values their type cannot hold", () => {
  const i8 = cellWriter("INT8");
  const buf = i8.alloc(1);
  assert.equal(i8.write(buf, 0, 127), true);
  assert.equal(i8.write(buf, 0, 128), false);
  assert.equal(i8.write(buf, 0, 1.5), false);
  const u32 = cellWriter("UINT32");
  assert.equal(u32.write(u32.alloc(1), 0, -1), false);
  const i64 = cellWriter("INT64");
  const b64 = i64.alloc(2) as BigInt64Array;
  assert.equal(i64.write(b64, 0, 2n ** 40n), true);
  assert.equal(i64.write(b64, 1, "3"), false);
  const f = cellWriter("FP64");
  assert.equal(f.write(f.alloc(1), 0, "1"), false);
  const s = cellWriter("BYTES");
  assert.equal(s.write(s.alloc(1), 0, 1), false);
});

test("cell readers give JSON values", () => {
  assert.equal(cellReader("int64")(BigInt64Array.of(7n), 0), 7);
  assert.equal(cellReader("bool")(Uint8Array.of(0, 1), 1), true);
  assert.equal(cellReader("float16")(Uint16Array.of(0x3c00), 0), 1);
  assert.equal(cellReader("float32")(Float32Array.of(0.5), 0), 0.5);
});

test("typed-array checks", () => {
  assert.equal(dataMismatch("FP32", new Float32Array(1)), undefined);
  assert.match(dataMismatch("FP32", new Float64Array(1)) ?? "", /Float32Array/);
  assert.match(dataMismatch("UINT8", Buffer.alloc(1)) ?? "", /Uint8Array/);
  assert.equal(dataMismatch("BYTES", [new Uint8Array(1)]), undefined);
  assert.match(dataMismatch("BYTES", ["text"] as never) ?? "", /byte strings/);
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
