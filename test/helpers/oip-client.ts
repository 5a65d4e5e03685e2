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
