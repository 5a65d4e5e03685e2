// Builds the OMI StatusResponse from the served artifact and, once loaded, the model's metadata.
import { basename } from "node:path";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { formatSpec } from "../../dataplane/validate.js";
import type { FieldSchema, ModelMetadata } from "../../runtime/model.js";
import { omafVersion } from "../../version.js";
import type { ModelInput, ModelOutput, StatusResponse } from "./messages.js";
import { OUTPUT_KEYS } from "./run.js";

export interface StatusOptions {
  maxMessageBytes: number;
  requestTimeoutMs: number;
  /** Reported when the manifest has no model.author. */
  modelAuthor?: string;
}

/** The status line of a StatusResponse. */
export interface StatusLine {
  status_code: number;
  status: string;
  message: string;
}

export const STATUS_INITIALIZED: StatusLine = { status_code: 200, status: "OK", message: "Model Initialized Successfully." };
export const STATUS_ALREADY_INITIALIZED: StatusLine = { status_code: 200, status: "OK", message: "Model Already Initialized." };
export const STATUS_INIT_FAILED: StatusLine = { status_code: 500, status: "Internal Server Error", message: "Model Failed to Initialize." };
export const STATUS_UNAVAILABLE: StatusLine = { status_code: 503, status: "Service Unavailable", message: "Model Unavailable: the server is shutting down." };

/**
 * A StatusResponse. With the model loaded, inputs/outputs come from its metadata; otherwise from the manifest alone.
 * `details` carries the load error (code and message) when the load failed.
 */
export function buildStatusResponse(dataplane: DataPlane, line: StatusLine, opts: StatusOptions): StatusResponse {
  const { manifest, artifactDigest, source } = dataplane.artifact;
  const meta = safeMetadata(dataplane);
  const maxSize = formatSize(opts.maxMessageBytes);
  const environment = meta?.environment ?? manifest.binaries.type;
  const technical = [
    `environment: ${environment}`,
    meta ? `mode: ${meta.mode}` : undefined,
    `artifact: ${artifactDigest}`,
    `source: ${basename(source)}`,
    `served by omaf ${omafVersion}`,
  ]
    .filter(Boolean)
    .join("; ");
  const error = dataplane.loadError;
  const toolchain = manifest.toolchain ? `Toolchain: ${manifest.toolchain.name} ${manifest.toolchain.version}.` : "";
  return {
    ...line,
    model_info: {
      model_name: manifest.model.name,
      model_version: manifest.model.version,
      model_author: meta?.author || manifest.model.author || opts.modelAuthor || "",
      model_type: manifest.binaries.type,
      source: "omaf",
    },
    description: {
      summary: `${manifest.model.name} ${manifest.model.version}`,
      details: line.status_code === 500 && error ? `${error.code}: ${error.message}` : toolchain,
      technical,
      performance: "",
    },
    inputs: meta ? modelInputs(meta, maxSize) : [],
    outputs: modelOutputs(meta, maxSize),
    resources: { required_ram: "", num_cpus: 0, num_gpus: 0 },
    timeout: { status: formatSeconds(opts.requestTimeoutMs), run: formatSeconds(opts.requestTimeoutMs) },
    features: {
      adversarial_defense: false,
      batch_size: Math.max(1, dataplane.batching.maxBatchSize),
      retrainable: false,
      results_format: "",
      drift_format: "",
      explanation_format: "",
    },
  };
}

function safeMetadata(dataplane: DataPlane): ModelMetadata | undefined {
  try {
    return dataplane.metadata();
  } catch {
    return undefined;
  }
}

const MATRIX_FORM = 'JSON {"columns"?: [...], "data": [[...], ...]} or a 2-D array';
const OBJECTS_FORM = "a JSON object or array";

function modelInputs(meta: ModelMetadata, maxSize: string): ModelInput[] {
  // Tensor models read Run's JSON as rows too (their inputs' columns side by side).
  const form = meta.mode === "objects" ? OBJECTS_FORM : MATRIX_FORM;
  const input = (filename: string, description: string): ModelInput => ({
    filename,
    accepted_media_types: ["application/json"],
    max_size: maxSize,
    description,
  });
  if (meta.inputs.length > 0) return meta.inputs.map((spec) => input(spec.name, `${formatSpec(spec)}; send ${form}`));
  const schema = meta.inputSchema?.length ? `; fields: ${formatSchema(meta.inputSchema)}` : "";
  return [input("input", `${form}${schema}`)];
}

function modelOutputs(meta: ModelMetadata | undefined, maxSize: string): ModelOutput[] {
  let what = "";
  if (meta?.outputs.length) what = `; outputs: ${meta.outputs.map((s) => `${s.name} ${formatSpec(s)}`).join(", ")}`;
  else if (meta?.outputSchema?.length) what = `; fields: ${formatSchema(meta.outputSchema)}`;
  const text = (filename: string, description: string): ModelOutput => ({ filename, media_type: "text/plain", max_size: "1K", description });
  return [
    {
      filename: OUTPUT_KEYS.results,
      media_type: "application/json",
      max_size: maxSize,
      description: `JSON {"data": {"result": <prediction>, "columns"?: [...]}}${what}`,
    },
    text(OUTPUT_KEYS.modelName, "Name of the model that answered (UTF-8)."),
    text(OUTPUT_KEYS.modelVersion, "Version of the model that answered (UTF-8)."),
    text(OUTPUT_KEYS.artifactDigest, "SHA-256 digest of the served artifact, sha256:<hex> (UTF-8)."),
  ];
}

function formatSchema(fields: FieldSchema[]): string {
  return fields.map((f) => `${f.name} (${f.type}${f.required ? ", required" : ""})`).join(", ");
}

/** 64 MiB → "64M", like the sizes Chassis metadata uses. */
export function formatSize(bytes: number): string {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}G`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return String(bytes);
}

function formatSeconds(ms: number): string {
  return `${ms / 1000}s`;
}
