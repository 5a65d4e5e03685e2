// One Model interface; one implementation per environment (node, onnx, python, java).
// The runtime never knows which protocol calls it.
import type { Tensor, TensorSpec } from "../tensor/tensor.js";

/** What a GPPI init() answers: which predict function the model serves (tensors: predict_on_tensors). */
export type PredictMode = "matrix" | "objects" | "tensors";

/** One field of a GPPI info()/get_info() schema. */
export interface FieldSchema {
  name: string;
  type: string;
  required?: boolean;
  example?: unknown;
}

export interface ModelMetadata {
  name: string;
  version: string;
  author?: string;
  /** binaries.type of the artifact. */
  environment: "node" | "onnx" | "python" | "java";
  /** What runs the model when the environment has a choice (e.g. `onnxruntime-node` or `onnxruntime-web`). */
  runtime?: string;
  mode: PredictMode;
  /** Tensor view of inputs/outputs (from ONNX metadata, or derived from the GPPI schemas; may be empty). */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** True when inputs/outputs are the manifest's declared contract (model.inputs / model.outputs). */
  declaredContract?: boolean;
  /** GPPI info()/get_info() schemas, when the model offers them. */
  inputSchema?: FieldSchema[];
  outputSchema?: FieldSchema[];
  /** What GPPI get_object_input_type()/get_object_output_type() answered (objects mode), when offered. */
  objectInputType?: unknown;
  objectOutputType?: unknown;
  /** SHA-256 digest of the artifact the model was loaded from, when known (provenance). */
  artifactDigest?: string;
}

/** A matrix request: rows of values, with optional column names. */
export interface MatrixInput {
  data: unknown[][];
  columns?: string[];
}

/** A matrix answer: predictions (rows or a flat list) and optional output column names. */
export interface MatrixOutput {
  prediction: unknown[];
  columns?: string[];
}

export interface Model {
  /** Imports/creates the model and calls init(); rejects with an OmafError. Idempotent. */
  load(): Promise<void>;
  /** Valid once load() resolved. */
  metadata(): ModelMetadata;
  /** Matrix mode models. */
  predictMatrix(input: MatrixInput): Promise<MatrixOutput>;
  /** Objects mode models: JSON in, JSON out. */
  predictObjects(input: unknown): Promise<unknown>;
  /** Tensor-native models (onnx, tensors-mode entrypoints) also take named tensors directly. */
  predictTensors?(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]>;
  /**
   * False when predictTensors is there but the loaded model does not serve tensors (a matrix or objects entrypoint
   * of an environment that also has a tensors mode). Undefined: predictTensors decides.
   */
  readonly takesTensors?: boolean;
  /**
   * Model calls it can usefully run at once (its workers; 1 for one in-process session). Adaptive batching keeps at
   * most this many merged calls running and queues the rest, so batches form while the model is busy. Default 1.
   */
  readonly concurrency?: number;
  /**
   * Releases resources (sessions, workers). A request still running after `graceMs` (default 0: none) is cut, so a
   * caller with a deadline (a server draining before its kill) passes what is left of it.
   */
  close(graceMs?: number): Promise<void>;
}
