// Generated from schemas/odahuflow.model.schema.json by `npm run gen:types`. Do not edit.

/**
 * Declared tensors of the serving contract (model.inputs, model.outputs), each named once: Open Inference Protocol names, datatypes and shapes. Requests are checked against model.inputs before the model is called; a tensors-mode entrypoint needs model.inputs (model.outputs, when given, fixes its answers' names and datatypes).
 *
 * @minItems 1
 */
export type OmafTensorContract = [OmafTensorSpec, ...OmafTensorSpec[]];

/**
 * The manifest of an OMAF (Odahu Model Artifact Format) artifact: odahuflow.model.yaml at the artifact root.
 */
export interface OmafManifest {
  binaries: OmafBinaries;
  model: OmafModel;
  /**
   * OMAF format version, a string such as '1.0'.
   */
  odahuflowVersion: "1.0";
  toolchain: OmafToolchain;
  serving?: OmafServing;
  sample?: OmafSample;
  output?: OmafOutput;
  [k: string]: unknown;
}
/**
 * How the model is run and what it depends on.
 */
export interface OmafBinaries {
  /**
   * Prediction interface: python (GPPI), java (GJPI), node (omaf's JS/TS GPPI) or onnx (an .onnx file).
   */
  type: "python" | "java" | "node" | "onnx";
  /**
   * Dependency system, e.g. conda, pip, npm or none.
   */
  dependencies: string;
  /**
   * Path of the conda environment file, relative to the artifact root.
   */
  conda_path?: string;
  [k: string]: unknown;
}
/**
 * Identity and entrypoint of the model.
 */
export interface OmafModel {
  /**
   * Model name: letters, digits and dashes.
   */
  name: string;
  /**
   * <Apache version>-<suffix>, e.g. 1.0.0-12333122. A version without suffix is accepted with a warning.
   */
  version: string;
  /**
   * Working directory (import path) of the model, relative to the artifact root.
   */
  workDir: string;
  /**
   * Module (Python import path or JS/TS file) relative to workDir, a JAR for java, or an .onnx file for onnx.
   */
  entrypoint: string;
  /**
   * Optional author or owner of the model, reported in metadata.
   */
  author?: string;
  inputs?: OmafTensorContract;
  outputs?: OmafTensorContract;
  [k: string]: unknown;
}
/**
 * One tensor of the serving contract.
 */
export interface OmafTensorSpec {
  /**
   * Tensor name as requests give it.
   */
  name: string;
  /**
   * Open Inference Protocol datatype.
   */
  datatype:
    | "BOOL"
    | "UINT8"
    | "UINT16"
    | "UINT32"
    | "UINT64"
    | "INT8"
    | "INT16"
    | "INT32"
    | "INT64"
    | "FP16"
    | "FP32"
    | "FP64"
    | "BYTES";
  /**
   * Dimensions; -1 marks a variable axis.
   */
  shape: number[];
  /**
   * Tensor parameters reported in metadata, e.g. content_type.
   */
  parameters?: {
    [k: string]: unknown;
  };
}
/**
 * Toolchain that trained or packed the model.
 */
export interface OmafToolchain {
  name: string;
  version: string;
  [k: string]: unknown;
}
/**
 * How omaf serves the model, when the artifact wants other defaults than the server's (flags and environment variables still win).
 */
export interface OmafServing {
  /**
   * Most rows (the first dimension) merged into one model call by adaptive batching; 0 or 1 turns batching off.
   */
  max_batch_size?: number;
  /**
   * Longest the first request of a batch waits for others to join, in milliseconds.
   */
  max_batch_time_ms?: number;
  /**
   * A matrix- or tensors-mode entrypoint (python, node) answers each row independently of the others, so requests may be merged into one predict_on_matrix / predict_on_tensors call.
   */
  batch_rows?: boolean;
  [k: string]: unknown;
}
/**
 * A sample the model can be checked with (omaf test): an input file and, optionally, the output the model must answer for it. Paths are relative to the artifact root.
 */
export interface OmafSample {
  /**
   * Input rows in a format omaf predict reads, by extension: .csv (with a header), .jsonl (a row or object per line) or .json ({"columns"?, "data"} or an OIP v2 inference request).
   */
  input: string;
  /**
   * Expected answer as JSON: {"prediction": [...], "columns"?: [...]} (what omaf predict -o x.json writes; its other fields are ignored), or an OIP v2 inference response for an OIP request.
   */
  output?: string;
  [k: string]: unknown;
}
/**
 * Outputs of the training run, as Odahu records them.
 */
export interface OmafOutput {
  run_id?: string;
  [k: string]: unknown;
}
