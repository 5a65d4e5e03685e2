// Builds examples/iris-onnx/model/iris.onnx without Python: an ONNX ModelProto written with protobufjs from
// spec/onnx-subset.proto.
//
// The classifier is linear discriminant analysis with a diagonal pooled covariance, fitted from the published
// per-class means and within-class standard deviations of Fisher's iris data:
//   logit_k(x) = sum_j x_j * mean_kj / var_j - 1/2 * sum_j mean_kj^2 / var_j
// Graph: input float32 [N, 4] → MatMul(W) → Add(b) → logits; Softmax → probabilities [N, 3];
// ArgMax(keepdims) → label int64 [N, 1]. Opset 13, IR version 7.
//
// Usage: node --import tsx scripts/make-iris-onnx.ts [output.onnx]   (then checks the file with onnxruntime-node)
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import protobuf from "protobufjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const IRIS_ONNX_PATH = resolve(repoRoot, "examples/iris-onnx/model/iris.onnx");

export const IRIS_CLASSES = ["setosa", "versicolor", "virginica"] as const;
export const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;

/** Per-class feature means of Fisher's iris data (cm). */
const CLASS_MEANS = [
  [5.006, 3.428, 1.462, 0.246],
  [5.936, 2.77, 4.26, 1.326],
  [6.588, 2.974, 5.552, 2.026],
];
/** Per-class feature standard deviations of Fisher's iris data (cm). */
const CLASS_STDS = [
  [0.352, 0.379, 0.174, 0.105],
  [0.516, 0.314, 0.47, 0.198],
  [0.636, 0.322, 0.552, 0.275],
];

/** Weights [4, 3] and bias [3] of the linear layer. */
export function irisWeights(): { weights: number[][]; bias: number[] } {
  const pooledVar = IRIS_FEATURES.map((_, j) => CLASS_STDS.reduce((s, sd) => s + sd[j] ** 2, 0) / CLASS_STDS.length);
  const weights = IRIS_FEATURES.map((_, j) => CLASS_MEANS.map((mean) => mean[j] / pooledVar[j]));
  const bias = CLASS_MEANS.map((mean) => -0.5 * mean.reduce((s, m, j) => s + (m * m) / pooledVar[j], 0));
  return { weights, bias };
}

/** TensorProto.DataType numbers of onnx.proto. */
export const ONNX_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
const ATTR_INT = 2;

/** A float32 initializer. */
export function floatTensor(name: string, dims: number[], values: number[]) {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true)); // ONNX raw_data is little-endian
  return { name, dims, data_type: ONNX_TYPE.FLOAT, raw_data: raw };
}

/** A graph input/output of tensor type; string dims are symbolic. */
export function tensorValue(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** An INT attribute of a node. */
export const intAttr = (name: string, i: number) => ({ name, type: ATTR_INT, i });

/** A GraphProto-shaped object (snake_case fields of onnx.proto). */
export type GraphObject = Record<string, unknown>;

/** Encodes a graph as ModelProto bytes (IR version 7, default-domain opset `opset`). */
export function encodeOnnxModel(graph: GraphObject, opset = 13, extra: Record<string, unknown> = {}): Uint8Array {
  // keepCase: the field names stay as onnx.proto spells them (snake_case).
  const root = new protobuf.Root().loadSync(resolve(repoRoot, "spec/onnx-subset.proto"), { keepCase: true });
  const ModelProto = root.lookupType("onnx.ModelProto");
  const model = {
    ir_version: 7,
    opset_import: [{ domain: "", version: opset }],
    producer_name: "omaf",
    producer_version: "0.1.0",
    ...extra,
    graph,
  };
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** The iris classifier as ONNX ModelProto bytes (deterministic). */
export function buildIrisOnnx(): Uint8Array {
  const { weights, bias } = irisWeights();
  const graph = {
    name: "iris",
    node: [
      { op_type: "MatMul", name: "linear", input: ["input", "W"], output: ["scores"] },
      { op_type: "Add", name: "bias", input: ["scores", "B"], output: ["logits"] },
      { op_type: "Softmax", name: "softmax", input: ["logits"], output: ["probabilities"], attribute: [intAttr("axis", 1)] },
      {
        op_type: "ArgMax",
        name: "argmax",
        input: ["logits"],
        output: ["label"],
        attribute: [intAttr("axis", 1), intAttr("keepdims", 1)],
      },
    ],
    initializer: [floatTensor("W", [4, 3], weights.flat()), floatTensor("B", [3], bias)],
    input: [tensorValue("input", ONNX_TYPE.FLOAT, ["N", 4])],
    output: [tensorValue("probabilities", ONNX_TYPE.FLOAT, ["N", 3]), tensorValue("label", ONNX_TYPE.INT64, ["N", 1])],
  };
  return encodeOnnxModel(graph, 13, {
    doc_string: "Iris classifier: LDA with diagonal pooled covariance from the published class statistics.",
    metadata_props: [{ key: "classes", value: IRIS_CLASSES.join(",") }],
  });
}

/** Samples with their expected class index, used to check a written model. */
export const IRIS_SAMPLES: { features: number[]; label: number }[] = [
  { features: [5.1, 3.5, 1.4, 0.2], label: 0 },
  { features: [5.9, 3.0, 4.2, 1.5], label: 1 },
  { features: [6.7, 3.0, 5.2, 2.3], label: 2 },
];

async function checkWithOnnxRuntime(path: string): Promise<void> {
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(path);
  const n = IRIS_SAMPLES.length;
  const input = new ort.Tensor("float32", Float32Array.from(IRIS_SAMPLES.flatMap((s) => s.features)), [n, 4]);
  const out = await session.run({ input });
  const labels = Array.from(out.label.data as BigInt64Array, Number);
  await session.release();
  IRIS_SAMPLES.forEach((s, i) => {
    if (labels[i] !== s.label) throw new Error(`sample ${s.features} classified ${labels[i]}, expected ${s.label}`);
  });
  console.log(`checked with onnxruntime-node: ${labels.map((l) => IRIS_CLASSES[l]).join(", ")}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = resolve(process.argv[2] ?? IRIS_ONNX_PATH);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, buildIrisOnnx());
  console.log(`wrote ${out}`);
  await checkWithOnnxRuntime(out);
}
