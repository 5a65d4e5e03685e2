// The .proto files in spec/ are the source of truth for the gRPC services; they are loaded at run time with
// @grpc/proto-loader, once per process, with one set of options.
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import type { ServiceDefinition } from "@grpc/grpc-js";

/**
 * proto-loader options every gRPC user shares (servers, tests, benchmarks), because the converters rely on the object
 * shapes they produce:
 * - keepCase: field names as in the proto (raw_input_contents, fp32_contents, ...).
 * - longs: String: int64/uint64 fields arrive as exact decimal strings; Number would silently round values beyond
 *   2^53. When sending, numbers and decimal strings are both accepted.
 * - defaults: absent repeated fields are [] and strings "", so handlers need no undefined checks.
 * - oneofs: a oneof gets a field naming the member that is set (e.g. InferParameter's `parameter_choice`).
 * - bytes fields stay Buffers (proto-loader's default): zero-copy views into the received message.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Path of a file in spec/; the same relative path works from src/ (development) and dist/ (the built package). */
export function specPath(name: string): string {
  return fileURLToPath(new URL(`../spec/${name}`, import.meta.url));
}

const loaded = new Map<string, protoLoader.PackageDefinition>();

/** The parsed package definition of spec/<name> (parsed once per process). */
export function protoPackage(name: string): protoLoader.PackageDefinition {
  let pkg = loaded.get(name);
  if (!pkg) loaded.set(name, (pkg = protoLoader.loadSync(specPath(name), PROTO_LOADER_OPTIONS)));
  return pkg;
}

/** A service of spec/<name> by its full name, ready for grpc.Server.addService or makeGenericClientConstructor. */
export function protoService(name: string, service: string): ServiceDefinition {
  return protoPackage(name)[service] as unknown as ServiceDefinition;
}
