// Clients for the OIP v2 server in tests and benchmarks: a grpc-js GRPCInferenceService client built from
// spec/grpc_predict_v2.proto, and a small REST helper that sends raw bytes and reads raw bytes back.
import * as grpc from "@grpc/grpc-js";
import { CLIENT_OPTIONS, promisify, type Unary } from "./grpc-unary.js";
import { loadOipPackage, OIP_SERVICE_NAME, type GrpcModelInferRequest, type GrpcModelInferResponse } from "../../src/tensor/grpc-contents.js";

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: string[];
}

/** One ModelStatistics entry as proto-loader decodes it. */
export interface GrpcModelStatistics {
  name: string;
  version: string;
  last_inference: string;
  inference_count: string;
  execution_count: string;
  inference_stats: Record<string, { count: string; ns: string }>;
  batch_stats: { batch_size: string; compute_infer: { count: string; ns: string } }[];
}

export interface OipGrpcClient {
  raw: grpc.Client;
  ServerLive: Unary<Record<string, never>, { live: boolean }>;
  ServerReady: Unary<Record<string, never>, { ready: boolean }>;
  ModelReady: Unary<{ name: string; version?: string }, { ready: boolean }>;
  ServerMetadata: Unary<Record<string, never>, { name: string; version: string; extensions: string[] }>;
  ModelMetadata: Unary<
    { name: string; version?: string },
    { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] }
  >;
  ModelInfer: Unary<Partial<GrpcModelInferRequest>, GrpcModelInferResponse>;
  /** Triton's statistics extension (uint64 counts arrive as decimal strings). */
  ModelStatistics: Unary<{ name?: string; version?: string }, { model_stats: GrpcModelStatistics[] }>;
  /** Triton's model repository extension. */
  RepositoryIndex: Unary<{ ready?: boolean }, { models: { name: string; version: string; state: string; reason: string }[] }>;
  RepositoryModelLoad: Unary<{ model_name: string; parameters?: Record<string, unknown> }, Record<string, never>>;
  RepositoryModelUnload: Unary<{ model_name: string }, Record<string, never>>;
  /** Sends `bytes` as the ModelInfer request message as they are (for malformed-request tests). */
  inferBytes(bytes: Buffer): Promise<GrpcModelInferResponse>;
  close(): void;
}

/** A client for the OIP gRPC server at `address` (host:port). */
export function oipGrpcClient(address: string): OipGrpcClient {
  const definition = loadOipPackage()[OIP_SERVICE_NAME] as grpc.ServiceDefinition;
  const Service = grpc.makeGenericClientConstructor(definition, "GRPCInferenceService");
  const raw = new Service(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  const infer = definition.ModelInfer;
  return {
    raw,
    ServerLive: promisify(raw, "ServerLive"),
    ServerReady: promisify(raw, "ServerReady"),
    ModelReady: promisify(raw, "ModelReady"),
    ServerMetadata: promisify(raw, "ServerMetadata"),
    ModelMetadata: promisify(raw, "ModelMetadata"),
    ModelInfer: promisify(raw, "ModelInfer"),
    ModelStatistics: promisify(raw, "ModelStatistics"),
    RepositoryIndex: promisify(raw, "RepositoryIndex"),
    RepositoryModelLoad: promisify(raw, "RepositoryModelLoad"),
    RepositoryModelUnload: promisify(raw, "RepositoryModelUnload"),
    inferBytes: (bytes) =>
      new Promise((resolve, reject) =>
        raw.makeUnaryRequest<Buffer, GrpcModelInferResponse>(
          infer.path,
          (b) => b,
          infer.responseDeserialize as (b: Buffer) => GrpcModelInferResponse,
          bytes,
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      ),
    close: () => raw.close(),
  };
}

export interface RawHttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** POSTs raw bytes (no Content-Type unless given, as tritonclient.http does) and reads the raw answer. */
export async function postBytes(url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<RawHttpResponse> {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
