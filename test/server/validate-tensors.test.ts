// validateTensors, the dataplane's check of a tensor request against the model's inputs: a request with a few inputs
// is checked with plain loops, one with many through a set; both must find the same duplicate and missing inputs.
import assert from "node:assert/strict";
import { it } from "node:test";
import { validateTensors } from "../../src/dataplane/validate.js";
import { isOmafError } from "../../src/errors.js";
import type { ModelMetadata } from "../../src/runtime/model.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const names = (n: number) => Array.from({ length: n }, (_, i) => `in${i}`);
const meta = (n: number): ModelMetadata => ({
  name: "m",
  version: "1",
  environment: "onnx",
  mode: "tensors",
  inputs: names(n).map((name) => ({ name, datatype: "FP32", shape: [-1] })),
  outputs: [],
});
const tensor = (name: string): Tensor => ({ name, datatype: "FP32", shape: [1], data: new Float32Array(1) });
const refused = (pattern: RegExp) => (err: unknown) => isOmafError(err, "OMAF_ERR_BAD_INPUT") && pattern.test(err.message);

for (const n of [3, 12]) {
  it(`${n} inputs: all given passes; one left out is missing; one given twice is refused`, () => {
    validateTensors(names(n).map(tensor), undefined, meta(n));
    const withoutLast = names(n).slice(0, -1).map(tensor);
    assert.throws(() => validateTensors(withoutLast, undefined, meta(n)), refused(new RegExp(`input in${n - 1} .* is missing`)));
    const twice = [...withoutLast, tensor("in0")];
    assert.throws(() => validateTensors(twice, undefined, meta(n)), refused(/input in0 is given twice/));
  });
}
