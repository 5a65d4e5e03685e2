// The model environments the conformance suite serves. Each entry is one `omaf serve` process (plus one for its
// broken twin); every adapter runs every case against it. Adding an environment is one more entry.
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFailingInitModel, writeSumModel } from "../helpers/serve.js";
import type { ConformanceEnvironment } from "./harness.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

export const ENVIRONMENTS: ConformanceEnvironment[] = [
  {
    // sum-check: rows [a, b] → [a + b]; a negative value makes the model throw. Its schema fixes rows to 2 numbers.
    name: "node",
    artifact: (tmp) => writeSumModel(join(tmp, "sum")),
    broken: (tmp) => writeFailingInitModel(join(tmp, "broken")),
    good: { name: "input", datatype: "FP64", shape: [2, 2], data: [1, 2, 3.5, 4] },
    wrongShape: { name: "input", datatype: "FP64", shape: [1, 3], data: [1, 2, 3] },
    wrongDatatype: { name: "input", datatype: "BYTES", shape: [1, 2], data: ["1", "2"] },
    modelError: { name: "input", datatype: "FP64", shape: [1, 2], data: [-1, 2] },
  },
  {
    // examples/iris-onnx: input FP32 [-1, 4] → probabilities FP32 [N, 3], label INT64 [N, 1]. The broken twin has
    // the same manifest and a file that is not an ONNX model.
    name: "onnx",
    artifact: async () => example("iris-onnx"),
    broken: async (tmp) => {
      const dir = join(tmp, "iris-broken");
      await cp(example("iris-onnx"), dir, { recursive: true });
      await writeFile(join(dir, "model", "iris.onnx"), "this is not an ONNX model");
      return dir;
    },
    good: { name: "input", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] },
    wrongShape: { name: "input", datatype: "FP32", shape: [1, 3], data: [5.1, 3.5, 1.4] },
    wrongDatatype: { name: "input", datatype: "BYTES", shape: [1, 4], data: ["5.1", "3.5", "1.4", "0.2"] },
  },
];
