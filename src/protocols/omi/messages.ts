// TypeScript shapes of the spec/omi.proto messages as proto-loader hands them over (keepCase, defaults).
// test/omi/proto.test.ts round-trips full values through the proto so these cannot drift from it.

export interface ModelInfo {
  model_name: string;
  model_version: string;
  model_author: string;
  model_type: string;
  source: string;
}

export interface ModelDescription {
  summary: string;
  details: string;
  technical: string;
  performance: string;
}

export interface ModelInput {
  filename: string;
  accepted_media_types: string[];
  max_size: string;
  description: string;
}

export interface ModelOutput {
  filename: string;
  media_type: string;
  max_size: string;
  description: string;
}

export interface ModelResources {
  required_ram: string;
  num_cpus: number;
  num_gpus: number;
}

export interface ModelTimeout {
  status: string;
  run: string;
}

export interface ModelFeatures {
  adversarial_defense: boolean;
  batch_size: number;
  retrainable: boolean;
  results_format: string;
  drift_format: string;
  explanation_format: string;
}

export interface StatusResponse {
  status_code: number;
  status: string;
  message: string;
  model_info: ModelInfo;
  description: ModelDescription;
  inputs: ModelInput[];
  outputs: ModelOutput[];
  resources: ModelResources;
  timeout: ModelTimeout;
  features: ModelFeatures;
}

export interface InputItem {
  input: Record<string, Buffer>;
}

export interface RunRequest {
  inputs: InputItem[];
  detect_drift: boolean;
  explain: boolean;
}

export interface OutputItem {
  output: Record<string, Buffer>;
  success: boolean;
}

export interface RunResponse {
  status_code: number;
  status: string;
  message: string;
  outputs: OutputItem[];
}

export type StatusRequest = Record<string, never>;
export type ShutdownRequest = Record<string, never>;

export interface ShutdownResponse {
  status_code: number;
  status: string;
  message: string;
}
