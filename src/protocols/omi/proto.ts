// spec/omi.proto (the source of truth), loaded once. Field names stay as written in the proto (keepCase).
import type * as protoLoader from "@grpc/proto-loader";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { PROTO_LOADER_OPTIONS, protoPackage, protoService, specPath } from "../../spec-files.js";

export const OMI_PROTO_PATH = specPath("omi.proto");

/** The full gRPC service name (the proto has no package). */
export const OMI_SERVICE_NAME = "ModzyModel";

/** proto-loader options shared by the server, the tests and the benchmark. */
export const OMI_LOADER_OPTIONS: protoLoader.Options = PROTO_LOADER_OPTIONS;

/** The parsed OMI package definition (parsed once per process). */
export function loadOmiPackage(): protoLoader.PackageDefinition {
  return protoPackage("omi.proto");
}

/** The ModzyModel service definition, ready for grpc.Server.addService or makeGenericClientConstructor. */
export function omiServiceDefinition(): ServiceDefinition {
  return protoService("omi.proto", OMI_SERVICE_NAME);
}
