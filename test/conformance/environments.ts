// The model environments the conformance suite serves. Each entry is one `omaf serve` process (plus one for its
// broken twin); every adapter runs every case against it. Adding an environment is one more entry.
import { appendFile, cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFailingInitModel, writeSumModel } from "../helpers/serve.js";
import { buildJavaIris } from "../java/fixtures.js";
import { PYTHON } from "../python/fixtures.js";
import type { ConformanceEnvironment } from "./harness.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

/** Appended to the python example's entrypoint: a negative measurement makes predict_on_matrix() raise. */
const NEGATIVE_GUARD = `

_predict_on_matrix = predict_on_matrix


def predict_on_matrix(input_matrix, provided_columns_names=None):
    if any(value < 0 for row in input_matrix for value in row):
        raise ValueError("measurements cannot be negative")
    return _predict_on_matrix(input_matrix, provided_columns_names)
`;

/** A copy of examples/python-sklearn under `dir`, changed by `edit`. */
async function pythonIris(dir: string, edit: (workDir: string) => Promise<void>): Promise<string> {
  await cp(example("python-sklearn"), dir, { recursive: true });
  await edit(join(dir, "odahuflow_model"));
  return dir;
}

const quiet = { info() {}, warn() {}, error() {} };

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
  {
    // examples/python-sklearn through the GPPI bridge (scikit-learn in Python workers): input FP64 [-1, 4] from
    // info()'s four number columns → species BYTES [N, 1]. This copy raises on a negative measurement; the broken
    // twin's model.pkl is not a pickle, so its init() fails. Debian's python3 has numpy, pandas and scikit-learn.
    name: "python",
    env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" },
    modelOptions: { pythonOptions: { python: PYTHON, workers: 1, logger: quiet } },
    artifact: (tmp) => pythonIris(join(tmp, "iris"), (workDir) => appendFile(join(workDir, "entrypoint.py"), NEGATIVE_GUARD)),
    broken: (tmp) => pythonIris(join(tmp, "iris-broken"), (workDir) => writeFile(join(workDir, "model.pkl"), "this is not a pickle")),
    good: { name: "input", datatype: "FP64", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5] },
    wrongShape: { name: "input", datatype: "FP64", shape: [1, 3], data: [5.1, 3.5, 1.4] },
    wrongDatatype: { name: "input", datatype: "BYTES", shape: [1, 4], data: ["5.1", "3.5", "1.4", "0.2"] },
    modelError: { name: "input", datatype: "FP64", shape: [1, 4], data: [-1, 3.5, 1.4, 0.2] },
  },
  {
    // examples/java-iris through the GJPI bridge (a JVM worker): logistic regression, input FP64 [-1, 4] from
    // info()'s four number columns → species BYTES [N, 1]; the model itself refuses negative measurements. Built by
    // its build.sh (javac, training, jar); the broken twin's weights.txt holds no weights, so its init() fails.
    name: "java",
    env: { OMAF_JAVA_WORKERS: "1" },
    modelOptions: { javaOptions: { workers: 1, logger: quiet } },
    artifact: async (tmp) => buildJavaIris(join(tmp, "iris-java")),
    broken: async (tmp) => {
      const dir = buildJavaIris(join(tmp, "iris-java-broken"));
      await writeFile(join(dir, "model", "weights.txt"), "# no weights here\n");
      return dir;
    },
    good: { name: "input", datatype: "FP64", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5] },
    wrongShape: { name: "input", datatype: "FP64", shape: [1, 3], data: [5.1, 3.5, 1.4] },
    wrongDatatype: { name: "input", datatype: "BYTES", shape: [1, 4], data: ["5.1", "3.5", "1.4", "0.2"] },
    modelError: { name: "input", datatype: "FP64", shape: [1, 4], data: [-1, 3.5, 1.4, 0.2] },
  },
];
