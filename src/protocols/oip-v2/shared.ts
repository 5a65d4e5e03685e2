// What OIP v2 REST and gRPC share: the server's name and extensions, model addressing (name and optional version),
// the model metadata answer, and the provenance parameters every inference response carries.
import type { DataPlane, Provenance } from "../../dataplane/dataplane.js";
import { tensorSignature } from "../../dataplane/tensor-inference.js";
import { OmafError } from "../../errors.js";
import type { ModelMetadata } from "../../runtime/model.js";
import type { TensorSpec } from "../../tensor/tensor.js";
import { omafVersion } from "../../version.js";

/** Server metadata `name`. */
export const OIP_SERVER_NAME = "omaf";

/** OIP extensions omaf implements (REST `GET /v2` and gRPC ServerMetadata list the same). */
export const OIP_EXTENSIONS: readonly string[] = ["binary_tensor_data", "parameters"];

/** Keys of the response `parameters` that carry provenance (string values). */
export const PROVENANCE_PARAMETERS = {
  modelName: "model_name",
  modelVersion: "model_version",
  artifactDigest: "artifact_digest",
  signedBy: "signed_by",
} as const;

/** The `platform` reported per environment (onnx as Triton names its ONNX Runtime backend). */
export const PLATFORMS: Readonly<Record<ModelMetadata["environment"], string>> = {
  onnx: "onnxruntime_onnx",
  node: "omaf_node",
  python: "omaf_python",
  java: "omaf_java",
};

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** The answer to `GET /v2` and ServerMetadata. */
export function serverMetadata(): ServerMetadata {
  return { name: OIP_SERVER_NAME, version: omafVersion, extensions: [...OIP_EXTENSIONS] };
}

/**
 * Checks that a request addresses the served model: `name` must be its name, and `version`, when given (non-empty),
 * its manifest `model.version`. Anything else is OMAF_ERR_MODEL_NOT_FOUND.
 */
export function checkModel(dataplane: DataPlane, name: string, version: string | undefined): void {
  const p = dataplane.provenance;
  if (name !== p.modelName) {
    throw new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `unknown model '${name}'; this server serves '${p.modelName}'`, { model: name });
  }
  if (version && version !== p.modelVersion) {
    throw new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `model '${name}' has no version '${version}'; it serves version '${p.modelVersion}'`, {
      model: name,
      version,
    });
  }
}

export interface ModelMetadataAnswer {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** How requests are batched: `max_batch_size` (0 = off) and `max_batch_time_ms`. */
  parameters: { max_batch_size: number; max_batch_time_ms: number };
}

/** The model metadata answer, from the loaded model's metadata (see DataPlane.loadedMetadata). */
export function modelMetadata(dataplane: DataPlane, meta: ModelMetadata): ModelMetadataAnswer {
  const { inputs, outputs } = tensorSignature(meta, dataplane.takesTensors);
  return {
    name: dataplane.provenance.modelName,
    versions: [dataplane.provenance.modelVersion],
    platform: PLATFORMS[meta.environment] ?? `omaf_${meta.environment}`,
    inputs,
    outputs,
    parameters: { max_batch_size: dataplane.batching.maxBatchSize, max_batch_time_ms: dataplane.batching.maxBatchTimeMs },
  };
}

/** The provenance parameters of an inference response. */
export function provenanceParameters(p: Provenance): Record<string, string> {
  return {
    [PROVENANCE_PARAMETERS.modelName]: p.modelName,
    [PROVENANCE_PARAMETERS.modelVersion]: p.modelVersion,
    [PROVENANCE_PARAMETERS.artifactDigest]: p.artifactDigest,
    ...(p.signedBy ? { [PROVENANCE_PARAMETERS.signedBy]: p.signedBy } : {}),
  };
}

/**
 * The requested outputs' names (undefined when none are listed: all outputs). An output asked for with
 * `parameters.classification` (Triton's classification extension, tritonclient's `class_count`) is refused: omaf does
 * not offer it, and answering the unclassified tensor would be answering another question.
 */
export function requestedOutputNames(outputs: ReadonlyArray<{ name: string; parameters?: Record<string, unknown> }> | undefined): string[] | undefined {
  if (!outputs || outputs.length === 0) return undefined;
  for (const o of outputs) {
    const classes = o.parameters?.classification;
    if (classes !== undefined && classes !== 0) {
      throw new OmafError(
        "OMAF_ERR_BAD_INPUT",
        `output '${o.name}' asks for classification (${String(classes)} classes), which omaf does not offer; ask for the output without it`,
        {
          output: o.name,
        },
      );
    }
  }
  return outputs.map((o) => o.name);
}
