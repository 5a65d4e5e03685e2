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
 * A ModelInfer answer goes out in two parts: the fields every answer of a model version repeats (its name, version
 * and provenance parameters), encoded once per version, then the answer's own (id, outputs, raw contents). Protobuf
 * reads fields in any order and concatenated encodings as one message, so clients read the same answer, for half
 * the encoding work per call.
 */
const ENCODED_HEAD = Symbol("encoded head");

/** What ModelInfer answers: the per-call fields, and the encoded head its serializer puts before them. */
type InferAnswer = Pick<GrpcModelInferResponse, "id" | "outputs" | "raw_output_contents"> & { [ENCODED_HEAD]: Buffer };

const heads = new WeakMap<DataPlane, Buffer>();

/** The service definition whose ModelInfer serializer writes an answer's encoded head first. */
function withEncodedHeads(definition: ServiceDefinition): ServiceDefinition {
  const method = definition.ModelInfer;
  const serialize = method.responseSerialize;
  return { ...definition, ModelInfer: { ...method, responseSerialize: (answer: InferAnswer) => Buffer.concat([answer[ENCODED_HEAD], serialize(answer)]) } };
}

/** A model version's encoded head, made with `serialize` (ModelInferResponse's own serializer) the first time. */
function headOf(dataplane: DataPlane, serialize: (value: Partial<GrpcModelInferResponse>) => Buffer): Buffer {
  let head = heads.get(dataplane);
  if (!head) {
    const { modelName, modelVersion } = dataplane.provenance;
    const parameters = parametersToGrpc(provenanceParameters(dataplane.provenance));
    heads.set(dataplane, (head = serialize({ model_name: modelName, model_version: modelVersion, parameters })));
  }
  return head;
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
      return {
        [ENCODED_HEAD]: headOf(dataplane, serializeResponse),
        id: request.id ?? "",
        outputs: encoded.outputs,
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
  return { definition: withEncodedHeads(withSafeDecoding(definition, ["ModelInfer"])), implementation };
}
