// gRPC clients for tests and benchmarks: ModzyModel built from spec/omi.proto, the standard health service,
// and server reflection (v1), all on plain-text channels.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CLIENT_OPTIONS, promisify, type Unary } from "./grpc-unary.js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { loadOmiPackage, OMI_LOADER_OPTIONS } from "../../src/protocols/omi/proto.js";
import type { RunRequest, RunResponse, ShutdownResponse, StatusResponse } from "../../src/protocols/omi/messages.js";

export interface OmiClient {
  raw: grpc.Client;
  Status: Unary<Record<string, never>, StatusResponse>;
  Run: Unary<Partial<RunRequest>, RunResponse>;
  Shutdown: Unary<Record<string, never>, ShutdownResponse>;
  /** grpc.health.v1.Health/Check → "SERVING" | "NOT_SERVING" | …; rejects with the gRPC error. */
  health(service?: string): Promise<string>;
  /** Service names listed by server reflection (grpc.reflection.v1). */
  listServices(): Promise<string[]>;
  /** How many file descriptors reflection answers for a symbol; rejects with its error message. */
  fileContainingSymbol(symbol: string): Promise<number>;
  close(): void;
}

/** A client for the OMI server at `address` (host:port). */
export function omiClient(address: string): OmiClient {
  const credentials = grpc.credentials.createInsecure();
  const ModzyModel = grpc.makeGenericClientConstructor(loadOmiPackage().ModzyModel as grpc.ServiceDefinition, "ModzyModel");
  const raw = new ModzyModel(address, credentials, CLIENT_OPTIONS);
  const healthDef = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const Health = grpc.makeGenericClientConstructor(healthDef["grpc.health.v1.Health"] as grpc.ServiceDefinition, "Health");
  // Share the channel with the ModzyModel client.
  const healthClient = new Health(address, credentials, { channelOverride: raw.getChannel() });
  const check = promisify<{ service: string }, { status: string }>(healthClient, "Check");
  return {
    raw,
    Status: promisify(raw, "Status"),
    Run: promisify(raw, "Run"),
    Shutdown: promisify(raw, "Shutdown"),
    health: async (service = "") => (await check({ service })).status,
    listServices: async () => ((await reflect(address, raw.getChannel(), { list_services: "" })) as { service: { name: string }[] }).service.map((s) => s.name),
    fileContainingSymbol: async (symbol) =>
      ((await reflect(address, raw.getChannel(), { file_containing_symbol: symbol })) as { file_descriptor_proto: Buffer[] }).file_descriptor_proto.length,
    close: () => raw.close(),
  };
}

const reflectionProto = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "../proto/grpc/reflection/v1/reflection.proto");

/** One ServerReflectionInfo request/response over the v1 stream; answers the response's payload. */
async function reflect(address: string, channel: ReturnType<grpc.Client["getChannel"]>, request: Record<string, string>): Promise<unknown> {
  const def = protoLoader.loadSync(reflectionProto, { ...OMI_LOADER_OPTIONS });
  const Reflection = grpc.makeGenericClientConstructor(def["grpc.reflection.v1.ServerReflection"] as grpc.ServiceDefinition, "ServerReflection");
  const client = new Reflection(address, grpc.credentials.createInsecure(), { channelOverride: channel });
  const call = (client as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, unknown> }).ServerReflectionInfo();
  return new Promise((resolve, reject) => {
    call.on("data", (msg: { message_response: string; error_response?: { error_message: string } } & Record<string, unknown>) => {
      if (msg.error_response) reject(new Error(msg.error_response.error_message));
      else resolve(msg[msg.message_response]);
      call.end();
    });
    call.on("error", reject);
    call.write(request);
  });
}

/** One Run item whose single entry `key` holds `value` as JSON bytes. */
export function jsonItem(value: unknown, key = "input"): { input: Record<string, Buffer> } {
  return { input: { [key]: Buffer.from(JSON.stringify(value)) } };
}

/** Parses an OutputItem entry as JSON. */
export function entryJson(output: Record<string, Buffer>, key: string): unknown {
  const bytes = output[key];
  if (!bytes) throw new Error(`no '${key}' entry; entries: ${Object.keys(output).join(", ")}`);
  return JSON.parse(bytes.toString("utf8"));
}
