// The model environments the conformance suite serves. Each entry is one `omaf serve` process (plus one for its
// broken twin); every adapter runs every case against it. Adding an environment is one more entry.
import { appendFile, cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFailingInitModel, writeSumModel } from "../helpers/serve.js";
import { buildJavaIris } from "../java/fixtures.js";
import { PYTHON } from "../python/fixtures.js";
import type { ConformanceEnvironment, NeutralTensor } from "./harness.js";

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

/** Triton's "simple" inputs: INPUT0 and INPUT1, INT32 [rows, 16]; `edit` changes INPUT0. */
function simpleInputs(rows: number, edit: Partial<NeutralTensor> = {}): NeutralTensor[] {
  const values = (f: (i: number) => number) => Array.from({ length: rows * 16 }, (_, i) => f(i));
  return [
    { name: "INPUT0", datatype: "INT32", shape: [rows, 16], data: values((i) => i), ...edit },
    { name: "INPUT1", datatype: "INT32", shape: [rows, 16], data: values((i) => 3 - (i % 7)) },
  ];
}

/** A copy of a tensors-mode example whose init() fails (the model raises at import/load). */
async function brokenTensors(example_: string, dir: string, file: string, text: string): Promise<string> {
  await cp(example(example_), dir, { recursive: true });
  await writeFile(join(dir, file), text);
  return dir;
}

/** The tensors-mode examples: the same cases, with two named inputs (matrix protocols send rows of 32 values). */
const simpleCases = {
  good: simpleInputs(2),
  wrongShape: simpleInputs(1, { shape: [1, 15], data: Array.from({ length: 15 }, (_, i) => i) }),
  // Strings: row protocols carry no datatype, so only a value of another kind can be the wrong one there.
  wrongDatatype: simpleInputs(1, { datatype: "BYTES", data: Array.from({ length: 16 }, (_, i) => String(i)) }),
  modelError: simpleInputs(1, { data: Array.from({ length: 16 }, (_, i) => -1 - i) }),
};

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
  {
    // examples/python-tensors: Triton's "simple" model in numpy (tensors mode, a declared contract); a negative
    // INPUT0 makes it raise. The broken twin's init() raises.
    name: "python-tensors",
    env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" },
    modelOptions: { pythonOptions: { python: PYTHON, workers: 1, logger: quiet } },
    artifact: async () => example("python-tensors"),
    broken: (tmp) =>
      brokenTensors("python-tensors", join(tmp, "simple-broken"), "model/entrypoint.py", "def init():\n    raise RuntimeError('init failed on purpose')\n"),
    ...simpleCases,
  },
  {
    // examples/node-tensors: the same model in TypeScript, its tensors as typed arrays in worker threads.
    name: "node-tensors",
    artifact: async () => example("node-tensors"),
    broken: (tmp) =>
      brokenTensors("node-tensors", join(tmp, "simple-node-broken"), "src/model.ts", 'export function init() { throw new Error("init failed on purpose"); }\n'),
    ...simpleCases,
  },
];
