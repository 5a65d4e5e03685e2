// Loads spec/omi.proto (the source of truth) once. Field names stay as written in the proto (keepCase).
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import type { ServiceDefinition } from "@grpc/grpc-js";

/** spec/omi.proto; the same relative path works from src/ (development) and dist/ (the built package). */
export const OMI_PROTO_PATH = fileURLToPath(new URL("../../../spec/omi.proto", import.meta.url));

/** The full gRPC service name (the proto has no package). */
export const OMI_SERVICE_NAME = "ModzyModel";

/** proto-loader options shared by the server, the tests and the benchmark. */
export const OMI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: protoLoader.PackageDefinition | undefined;

/** The parsed OMI package definition (parsed once per process). */
export function loadOmiPackage(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(OMI_PROTO_PATH, OMI_LOADER_OPTIONS);
  return cached;
}

/** The ModzyModel service definition, ready for grpc.Server.addService or makeGenericClientConstructor. */
export function omiServiceDefinition(): ServiceDefinition {
  return loadOmiPackage()[OMI_SERVICE_NAME] as unknown as ServiceDefinition;
}
