// What OIP v2 REST and gRPC share: the server's name and extensions, the model metadata answer, the provenance
// parameters every inference response carries, and the statistics extension's answer (Triton's shape). Models are
// addressed through the registry (name and optional version; see src/registry/).
import type { DataPlane, Provenance } from "../../dataplane/dataplane.js";
import type { Duration } from "../../dataplane/statistics.js";
import { tensorSignature } from "../../dataplane/tensor-inference.js";
import { OmafError } from "../../errors.js";
import type { ModelRegistry } from "../../registry/registry.js";
import type { ModelMetadata } from "../../runtime/model.js";
import type { TensorSpec } from "../../tensor/tensor.js";
import { omafVersion } from "../../version.js";

/** Server metadata `name`. */
export const OIP_SERVER_NAME = "omaf";

/** OIP extensions omaf implements (REST `GET /v2` and gRPC ServerMetadata list the same). */
export const OIP_EXTENSIONS: readonly string[] = ["binary_tensor_data", "parameters", "model_repository", "statistics"];

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

/** Whether a model (version) is ready, for the readiness endpoints: false when unloaded; unknown is not found. */
export function modelReady(registry: ModelRegistry, name: string, version: string | undefined): boolean {
  const dataplane = registry.entry(name, version).dataplane;
  return dataplane ? dataplane.probeReady() : false;
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

/**
 * The model metadata answer, from the loaded model's metadata (see DataPlane.loadedMetadata); `versions` lists every
 * version of the model the server serves (highest first), as Triton does.
 */
export function modelMetadata(
  dataplane: DataPlane,
  meta: ModelMetadata,
  versions: readonly string[] = [dataplane.provenance.modelVersion],
): ModelMetadataAnswer {
  const { inputs, outputs } = tensorSignature(meta, dataplane.takesTensors);
  return {
    name: dataplane.provenance.modelName,
    versions: versions.length > 0 ? [...versions] : [dataplane.provenance.modelVersion],
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

/** One model version's statistics, in Triton's shape (the statistics extension). */
export interface ModelStatisticsAnswer {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<"success" | "fail" | "queue" | "compute_input" | "compute_infer" | "compute_output" | "cache_hit" | "cache_miss", Duration>;
  batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
}

/**
 * The statistics of every model version the server has a dataplane for, of every version of `name`, or of one
 * version. A known model without a loaded version answers OMAF_ERR_MODEL_NOT_READY; an unknown one
 * OMAF_ERR_MODEL_NOT_FOUND. Counts start when a version is loaded (an unload forgets them).
 */
export function modelStatistics(registry: ModelRegistry, name?: string, version?: string): { model_stats: ModelStatisticsAnswer[] } {
  let dataplanes: DataPlane[];
  if (!name) dataplanes = [...registry.dataplanes()];
  else if (version) dataplanes = [registry.resolve(name, version)];
  else {
    const entry = registry.entry(name);
    dataplanes = registry
      .entries()
      .filter((e) => e.name === name && e.dataplane)
      .map((e) => e.dataplane!);
    if (dataplanes.length === 0) throw entry.notReady();
  }
  return { model_stats: dataplanes.map(statisticsOf) };
}

const NONE: Duration = { count: 0, ns: 0 };

function statisticsOf(dataplane: DataPlane): ModelStatisticsAnswer {
  const s = dataplane.stats.snapshot();
  return {
    name: dataplane.provenance.modelName,
    version: dataplane.provenance.modelVersion,
    last_inference: s.lastInference,
    inference_count: s.inferenceCount,
    execution_count: s.executionCount,
    inference_stats: {
      success: s.success,
      fail: s.fail,
      queue: s.queue,
      compute_input: s.computeInput,
      compute_infer: s.computeInfer,
      compute_output: s.computeOutput,
      // omaf keeps no response cache.
      cache_hit: NONE,
      cache_miss: NONE,
    },
    batch_stats: s.batches.map((b) => ({
      batch_size: b.batchSize,
      compute_input: b.computeInput,
      compute_infer: b.computeInfer,
      compute_output: b.computeOutput,
    })),
  };
}

/**
 * A repository load request's `parameters` may carry a model configuration or files to load in place of the
 * repository's (Triton's override); omaf serves artifacts as they are, so it refuses them rather than ignoring them.
 */
export function refuseLoadOverrides(parameters: unknown): void {
  if (parameters === undefined || parameters === null) return;
  if (typeof parameters !== "object" || Array.isArray(parameters)) throw new OmafError("OMAF_ERR_BAD_INPUT", '"parameters" must be an object');
  const overrides = Object.keys(parameters).filter((k) => k === "config" || k.startsWith("file:"));
  if (overrides.length > 0) {
    throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `loading with ${overrides.join(", ")} is not offered: omaf loads the artifact as it is in the repository`);
  }
}
