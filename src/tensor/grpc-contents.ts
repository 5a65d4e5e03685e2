// Open Inference Protocol gRPC tensors (spec/grpc_predict_v2.proto, loaded with @grpc/proto-loader) <-> Tensor:
// typed InferTensorContents lists, or raw_input_contents / raw_output_contents bytes (what tritonclient.grpc uses).
import type * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS, protoPackage, protoService, specPath } from "../spec-files.js";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { badInput, OmafError } from "../errors.js";
import { checkShape, checkTensor, parseDatatype, show } from "./datatype.js";
import { tensorFromRaw, tensorToRaw } from "./binary.js";
import { withParameters } from "./json.js";
import { numbersOf } from "./values.js";
import { elementCount, type Datatype, type Tensor } from "./tensor.js";

export const OIP_PROTO_PATH = specPath("grpc_predict_v2.proto");

/** The full gRPC service name: methods are /inference.GRPCInferenceService/<Rpc>. */
export const OIP_SERVICE_NAME = "inference.GRPCInferenceService";

/** The shared proto-loader options (see spec-files.ts); the converters here rely on the shapes they produce. */
export const OIP_PROTO_LOADER_OPTIONS: protoLoader.Options = PROTO_LOADER_OPTIONS;

/** The parsed OIP package definition (parsed once per process). */
export function loadOipPackage(): protoLoader.PackageDefinition {
  return protoPackage("grpc_predict_v2.proto");
}

/** The GRPCInferenceService definition, ready for grpc.Server.addService or makeGenericClientConstructor. */
export function oipServiceDefinition(): ServiceDefinition {
  return protoService("grpc_predict_v2.proto", OIP_SERVICE_NAME);
}

/** A 64-bit integer as proto-loader gives it (string with OIP_PROTO_LOADER_OPTIONS) or accepts it. */
export type GrpcLong = string | number;

/** InferParameter: exactly one of the fields is set (`parameter_choice` names it when decoded). */
export interface GrpcInferParameter {
  bool_param?: boolean;
  int64_param?: GrpcLong;
  string_param?: string;
  double_param?: number;
  uint64_param?: GrpcLong;
  parameter_choice?: "bool_param" | "int64_param" | "string_param" | "double_param" | "uint64_param";
}

/** InferTensorContents: one typed list per datatype family. */
export interface GrpcTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: GrpcLong[];
  uint_contents?: number[];
  uint64_contents?: GrpcLong[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** ModelInferRequest.InferInputTensor (and, with the same fields, ModelInferResponse.InferOutputTensor). */
export interface GrpcInferInputTensor {
  name: string;
  datatype: string;
  shape: GrpcLong[];
  parameters?: Record<string, GrpcInferParameter>;
  contents?: GrpcTensorContents | null;
}

/** ModelInferResponse.InferOutputTensor. */
export type GrpcInferOutputTensor = GrpcInferInputTensor;

/** ModelInferRequest.InferRequestedOutputTensor. */
export interface GrpcRequestedOutput {
  name: string;
  parameters?: Record<string, GrpcInferParameter>;
}

/** ModelInferRequest as proto-loader decodes it with OIP_PROTO_LOADER_OPTIONS. */
export interface GrpcModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, GrpcInferParameter>;
  inputs: GrpcInferInputTensor[];
  outputs?: GrpcRequestedOutput[];
  raw_input_contents?: Uint8Array[];
}

/** ModelInferResponse as a server hands it to grpc-js. */
export interface GrpcModelInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, GrpcInferParameter>;
  outputs: GrpcInferOutputTensor[];
  raw_output_contents?: Uint8Array[];
}

type ContentsField = keyof GrpcTensorContents;

/** The InferTensorContents list each datatype travels in (FP16 has none: raw only). */
export const CONTENTS_FIELD: Readonly<Record<Datatype, ContentsField | undefined>> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP16: undefined,
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

const ALL_FIELDS: readonly ContentsField[] = [
  "bool_contents",
  "int_contents",
  "int64_contents",
  "uint_contents",
  "uint64_contents",
  "fp32_contents",
  "fp64_contents",
  "bytes_contents",
];

/**
 * A gRPC input tensor as a Tensor. With `raw` (the request's raw_input_contents entry for this input) the values are
 * decoded from those bytes (see tensorFromRaw: zero-copy when aligned) and `contents` must be empty; otherwise they
 * come from the contents list of the datatype (int_contents for INT8/16/32, uint_contents for UINT8/16/32, ...),
 * range-checked for the narrower types, with exactly product(shape) values and no other list used. FP16 only
 * travels raw. Problems are OMAF_ERR_BAD_INPUT naming the tensor. Tensor parameters are kept (see parametersFromGrpc).
 */
export function tensorFromGrpc(input: GrpcInferInputTensor, raw?: Uint8Array): Tensor {
  if (input === null || typeof input !== "object") throw badInput(`input must be a tensor message, not ${show(input)}`);
  if (typeof input.name !== "string" || input.name === "") throw badInput("input: name must be a non-empty string");
  const where = `input '${input.name}'`;
  const datatype = parseDatatype(input.datatype, where);
  const shape = checkShape(input.shape ?? [], where);
  const parameters = input.parameters ? parametersFromGrpc(input.parameters) : undefined;
  const used = ALL_FIELDS.filter((f) => (input.contents?.[f]?.length ?? 0) > 0);
  if (raw !== undefined) {
    if (used.length > 0) throw badInput(`${where}: values given both in raw_input_contents and in contents.${used[0]}`, { tensor: input.name });
    return withParameters(tensorFromRaw(input.name, datatype, shape, raw), parameters);
  }
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw badInput(`${where}: ${datatype} values travel only in raw_input_contents`, { tensor: input.name });
  const stray = used.find((f) => f !== field);
  if (stray) throw badInput(`${where}: ${datatype} values belong in contents.${field}, not contents.${stray}`, { tensor: input.name });
  const count = elementCount(shape);
  const list = (input.contents?.[field] ?? []) as unknown[];
  if (list.length !== count) {
    throw badInput(`${where}: shape ${JSON.stringify(shape)} holds ${count} elements but contents.${field} has ${list.length}`, {
      tensor: input.name,
      expected: count,
      actual: list.length,
    });
  }
  return withParameters({ name: input.name, datatype, shape, data: dataFromList(datatype, list, where) }, parameters);
}

function dataFromList(datatype: Datatype, list: readonly unknown[], where: string): Tensor["data"] {
  const n = list.length;
  const fail = (i: number): never => {
    throw badInput(`${where} (${datatype}) element ${i}: ${show(list[i])} does not fit ${datatype}`, { index: i });
  };
  switch (datatype) {
    case "FP32":
      return Float32Array.from(list as number[]);
    case "FP64":
      return Float64Array.from(list as number[]);
    case "INT32":
      return Int32Array.from(list as number[]);
    case "UINT32":
      return Uint32Array.from(list as number[]);
    case "BOOL":
      return Uint8Array.from(list as boolean[], (v) => (v ? 1 : 0));
    case "INT64":
    case "UINT64": {
      const out = datatype === "INT64" ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const b = toBigInt(list[i]);
        if (b === undefined) return fail(i);
        out[i] = b;
        if (out[i] !== b) fail(i);
      }
      return out;
    }
    case "BYTES": {
      for (let i = 0; i < n; i++) if (!(list[i] instanceof Uint8Array)) fail(i);
      return list as Uint8Array[];
    }
    default: {
      // INT8/16, UINT8/16 from the 32-bit lists: reading back the same value proves it is in range.
      const out = new (datatype === "INT8" ? Int8Array : datatype === "INT16" ? Int16Array : datatype === "UINT8" ? Uint8Array : Uint16Array)(n);
      for (let i = 0; i < n; i++) {
        const v = list[i];
        if (typeof v !== "number") fail(i);
        out[i] = v as number;
        if (out[i] !== v) fail(i);
      }
      return out;
    }
  }
}

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "string" && /^[+-]?\d+$/.test(v)) return BigInt(v);
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (v !== null && typeof v === "object" && "low" in v && "high" in v) return BigInt(String(v)); // a Long
  return undefined;
}

/**
 * A Tensor as a gRPC output tensor. With `raw: true` the values go into the returned `raw` bytes (for
 * raw_output_contents; a zero-copy view for fixed-size types) and `contents` is left out; otherwise into the typed
 * contents list (64-bit integers as exact decimal strings). FP16 has no contents list: asking for it without raw is
 * OMAF_ERR_INTERNAL — use outputsToGrpc, which switches the whole response to raw when an output is FP16.
 */
export function tensorToGrpc(t: Tensor, options: { raw: boolean }): { output: GrpcInferOutputTensor; raw?: Buffer } {
  checkTensor(t);
  const output: GrpcInferOutputTensor = {
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    parameters: t.parameters ? parametersToGrpc(t.parameters) : {},
  };
  if (options.raw) return { output, raw: tensorToRaw(t) };
  const field = CONTENTS_FIELD[t.datatype];
  if (field === undefined) {
    throw new OmafError("OMAF_ERR_INTERNAL", `tensor '${t.name}': ${t.datatype} can only be sent in raw_output_contents`, { tensor: t.name });
  }
  output.contents = { [field]: listFromData(t) };
  return { output };
}

function listFromData(t: Tensor): unknown[] {
  switch (t.datatype) {
    case "BOOL":
      return Array.from(t.data as Uint8Array, (v) => v !== 0);
    case "INT64":
    case "UINT64":
      return Array.from(t.data as BigInt64Array, String);
    case "BYTES":
      return t.data as Uint8Array[];
    default:
      return numbersOf(t.data as Float64Array);
  }
}

/**
 * Every input of a ModelInferRequest as Tensors, in order. When raw_input_contents is used it must hold exactly one
 * entry per input (the OIP rule) and every input is decoded from its entry; otherwise from typed contents.
 */
export function inputsFromGrpcRequest(request: Pick<GrpcModelInferRequest, "inputs" | "raw_input_contents">): Tensor[] {
  const inputs = request.inputs ?? [];
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw badInput(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs (one per input, in order)`, {
      expected: inputs.length,
      actual: raw.length,
    });
  }
  return inputs.map((input, i) => tensorFromGrpc(input, raw.length > 0 ? raw[i] : undefined));
}

/**
 * Output tensors for a ModelInferResponse. With `raw` (what tritonclient.grpc reads; the recommended default) every
 * output's values go to raw_output_contents, one entry per output in order; without it into typed contents — unless
 * an output is FP16, which has no contents list, and then the whole response goes raw (OIP needs raw_output_contents
 * to cover every output or none).
 */
export function outputsToGrpc(tensors: readonly Tensor[], options: { raw: boolean }): { outputs: GrpcInferOutputTensor[]; raw_output_contents: Buffer[] } {
  const raw = options.raw || tensors.some((t) => t.datatype === "FP16");
  const outputs: GrpcInferOutputTensor[] = [];
  const rawContents: Buffer[] = [];
  for (const t of tensors) {
    const r = tensorToGrpc(t, { raw });
    outputs.push(r.output);
    if (r.raw) rawContents.push(r.raw);
  }
  return { outputs, raw_output_contents: rawContents };
}

/**
 * InferParameter map → plain values: booleans, strings, numbers (int64/uint64 as numbers when safe integers, exact
 * decimal strings beyond — as in JSON tensors). A parameter with no value set is left out.
 */
export function parametersFromGrpc(map: Record<string, GrpcInferParameter>): Record<string, boolean | number | string> {
  const out: Record<string, boolean | number | string> = {};
  for (const [key, p] of Object.entries(map)) {
    if (!p || typeof p !== "object") continue;
    const choice =
      p.parameter_choice ?? (["bool_param", "int64_param", "string_param", "double_param", "uint64_param"] as const).find((f) => p[f] !== undefined);
    if (!choice) continue;
    const v = p[choice]!;
    if (choice === "int64_param" || choice === "uint64_param") {
      const n = Number(v);
      out[key] = Number.isSafeInteger(n) ? n : String(v);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/**
 * Plain values → InferParameter map: booleans → bool_param, safe integers → int64_param, other numbers →
 * double_param, strings → string_param, bigints → int64/uint64_param; objects and lists are
 * sent as their JSON text in string_param; null and undefined are left out.
 */
export function parametersToGrpc(params: Record<string, unknown>): Record<string, GrpcInferParameter> {
  const out: Record<string, GrpcInferParameter> = {};
  for (const [key, v] of Object.entries(params)) {
    if (v === null || v === undefined) continue;
    if (typeof v === "boolean") out[key] = { bool_param: v };
    else if (typeof v === "string") out[key] = { string_param: v };
    else if (typeof v === "number") out[key] = Number.isSafeInteger(v) ? { int64_param: v } : { double_param: v };
    else if (typeof v === "bigint") out[key] = v > 0x7fffffffffffffffn ? { uint64_param: v.toString() } : { int64_param: v.toString() };
    else out[key] = { string_param: JSON.stringify(v) };
  }
  return out;
}
