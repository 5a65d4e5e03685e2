// Open Inference Protocol v2 gRPC: inference.GRPCInferenceService (spec/grpc_predict_v2.proto) on top of the
// model registry: each call finds its model there. Inference answers in raw_output_contents when the request used
// raw_input_contents (as Triton does, and as tritonclient.grpc expects), else in typed contents (FP16 outputs always
// raw). Triton's statistics and model repository RPCs answer what the REST extensions do. Errors are gRPC statuses
// from the error table (protocols/grpc-common.ts).
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { DataPlane, RequestContext } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import type { ModelRegistry } from "../../registry/registry.js";
import {
  inputsFromGrpcRequest,
  oipServiceDefinition,
  outputsToGrpc,
  parametersFromGrpc,
  parametersToGrpc,
  type GrpcInferOutputTensor,
  type GrpcModelInferRequest,
  type GrpcModelInferResponse,
} from "../../tensor/grpc-contents.js";
import { grpcError, grpcRequestContext, isUndecodable, undecodableError, withSafeDecoding, type Undecodable } from "../grpc-common.js";
import { modelMetadata, modelReady, modelStatistics, provenanceParameters, refuseLoadOverrides, requestedOutputNames, serverMetadata } from "./shared.js";

/** Protocol name in the inference log and metrics. */
export const OIP_GRPC_PROTOCOL = "oip-grpc";

export interface OipGrpcService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

interface ModelRef {
  name: string;
  version: string;
}

/** Triton's RepositoryModelLoadRequest / RepositoryModelUnloadRequest (parameters as proto-loader decodes them). */
interface RepositoryModelRequest {
  repository_name?: string;
  model_name: string;
  parameters?: Record<string, unknown>;
}

/**
 * A ModelInfer answer goes out in parts, most of them encoded once: the fields every answer of a model version
 * repeats (its name, version and provenance parameters); in an answer whose outputs are bare descriptions (name,
 * datatype, shape: a raw answer), each description; then the answer's own fields (id, raw contents, and the outputs
 * when they carry contents or parameters). Protobuf reads fields in any order and concatenated encodings as one
 * message, repeated fields in the order they come, so clients read the same answer, for less than half the encoding
 * work.
 */
const ENCODED_PARTS = Symbol("encoded parts");

/** What ModelInfer answers: the per-call fields, and the encoded parts its serializer puts before them. */
type InferAnswer = Pick<GrpcModelInferResponse, "id" | "outputs" | "raw_output_contents"> & { [ENCODED_PARTS]: Buffer[] };

type Serialize = (value: Partial<GrpcModelInferResponse>) => Buffer;

/** A model version's encoded head, and its outputs' encoded descriptions by datatype, shape and name. */
interface VersionEncodings {
  head: Buffer;
  outputs: Map<string, Buffer>;
}

const encodings = new WeakMap<DataPlane, VersionEncodings>();
/** Descriptions kept per version: enough for any fixed set of outputs, bounded when shapes vary per call. */
const MAX_OUTPUT_ENCODINGS = 64;

/** The service definition whose ModelInfer serializer writes an answer's encoded parts first. */
function withEncodedParts(definition: ServiceDefinition): ServiceDefinition {
  const method = definition.ModelInfer;
  const serialize = method.responseSerialize;
  return { ...definition, ModelInfer: { ...method, responseSerialize: (answer: InferAnswer) => Buffer.concat([...answer[ENCODED_PARTS], serialize(answer)]) } };
}

/**
 * An answer of `dataplane` as encoded parts and the outputs still to encode, made with `serialize` (ModelInferResponse's
 * own serializer): the version's head, then every output's description when all of them are bare (else none, so the
 * outputs keep their order).
 */
function answerParts(dataplane: DataPlane, serialize: Serialize, outputs: GrpcInferOutputTensor[]): { parts: Buffer[]; outputs: GrpcInferOutputTensor[] } {
  let version = encodings.get(dataplane);
  if (!version) {
    const { modelName, modelVersion } = dataplane.provenance;
    const parameters = parametersToGrpc(provenanceParameters(dataplane.provenance));
    version = { head: serialize({ model_name: modelName, model_version: modelVersion, parameters }), outputs: new Map() };
    encodings.set(dataplane, version);
  }
  if (!outputs.every(isBare)) return { parts: [version.head], outputs };
  const parts = [version.head];
  for (const output of outputs) {
    // Unambiguous: datatypes hold no ':', shapes only digits and commas; the name comes last.
    const key = `${output.datatype}:${output.shape.join(",")}:${output.name}`;
    let encoded = version.outputs.get(key);
    if (!encoded) {
      encoded = serialize({ outputs: [output] });
      if (version.outputs.size < MAX_OUTPUT_ENCODINGS) version.outputs.set(key, encoded);
    }
    parts.push(encoded);
  }
  return { parts, outputs: [] };
}

/** An output with nothing but its name, datatype and shape. */
function isBare(output: GrpcInferOutputTensor): boolean {
  if (output.contents) return false;
  for (const _ in output.parameters) return false;
  return true;
}

/** A unary handler from a function that answers (or throws) an OmafError: errors become gRPC statuses. */
function unary<Req, Res>(answer: (request: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let result: Promise<Res>;
    try {
      result = Promise.resolve(answer(call.request));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => callback(null, res),
      (err) => callback(grpcError(err)),
    );
  };
}

/** Builds the GRPCInferenceService implementation on the model registry. */
export function createOipGrpcService(registry: ModelRegistry): OipGrpcService {
  const server = serverMetadata();

  const definition = oipServiceDefinition();
  const serializeResponse = definition.ModelInfer.responseSerialize;

  function modelInfer(request: GrpcModelInferRequest | Undecodable, ctx: RequestContext, model: { dataplane?: DataPlane }): Promise<InferAnswer> {
    // An undecodable request names no model it can be counted under.
    if (isUndecodable(request)) throw undecodableError(request, "ModelInferRequest");
    const dataplane = registry.resolve(request.model_name, request.model_version);
    model.dataplane = dataplane;
    return dataplane.infer(ctx, async (inference) => {
      const inputs = inputsFromGrpcRequest(request);
      const requested = requestedOutputNames(request.outputs?.map((o) => ({ name: o.name, parameters: o.parameters && parametersFromGrpc(o.parameters) })));
      const outputs = await inferTensors(inference, inputs, requested, request.parameters && parametersFromGrpc(request.parameters));
      const raw = (request.raw_input_contents?.length ?? 0) > 0;
      const encoded = outputsToGrpc(outputs, { raw });
      const answer = answerParts(dataplane, serializeResponse, encoded.outputs);
      return {
        [ENCODED_PARTS]: answer.parts,
        id: request.id ?? "",
        outputs: answer.outputs,
        raw_output_contents: encoded.raw_output_contents,
      };
    });
  }

  const implementation: UntypedServiceImplementation = {
    ServerLive(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ live: boolean }>) {
      callback(null, { live: true });
    },
    ServerReady(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ ready: boolean }>) {
      callback(null, { ready: registry.probeReady() });
    },
    ServerMetadata(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<typeof server>) {
      callback(null, server);
    },
    ModelReady: unary((request: ModelRef) => ({ ready: modelReady(registry, request.name, request.version) })),
    ModelMetadata: unary(async (request: ModelRef) => {
      const dataplane = registry.resolve(request.name, request.version);
      const answer = modelMetadata(dataplane, await dataplane.loadedMetadata(), registry.versionsOf(request.name));
      return { ...answer, parameters: parametersToGrpc(answer.parameters) };
    }),
    ModelInfer(call: ServerUnaryCall<GrpcModelInferRequest | Undecodable, InferAnswer>, callback: sendUnaryData<InferAnswer>) {
      const ctx = grpcRequestContext(call.metadata, OIP_GRPC_PROTOCOL, (call.request as GrpcModelInferRequest).id);
      const model: { dataplane?: DataPlane } = {};
      let answer: Promise<InferAnswer>;
      try {
        answer = modelInfer(call.request, ctx, model);
      } catch (err) {
        answer = Promise.reject(err);
      }
      answer.then(
        (res) => callback(null, res),
        (err) => {
          registry.reportRejected(ctx, err, model.dataplane);
          callback(grpcError(err));
        },
      );
    },
    ModelStatistics: unary((request: ModelRef) => modelStatistics(registry, request.name, request.version)),
    RepositoryIndex: unary((request: { ready?: boolean }) => ({ models: registry.index(request.ready === true) })),
    RepositoryModelLoad: unary(async (request: RepositoryModelRequest) => {
      refuseLoadOverrides(request.parameters);
      await registry.load(request.model_name);
      return {};
    }),
    RepositoryModelUnload: unary(async (request: RepositoryModelRequest) => {
      await registry.unload(request.model_name);
      return {};
    }),
  };
  return { definition: withEncodedParts(withSafeDecoding(definition, ["ModelInfer"])), implementation };
}
