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

/** Each model version's provenance parameters, encoded once. */
const provenanceCache = new WeakMap<DataPlane, ReturnType<typeof parametersToGrpc>>();

function provenanceOf(dataplane: DataPlane): ReturnType<typeof parametersToGrpc> {
  let p = provenanceCache.get(dataplane);
  if (!p) provenanceCache.set(dataplane, (p = parametersToGrpc(provenanceParameters(dataplane.provenance))));
  return p;
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

  function modelInfer(request: GrpcModelInferRequest | Undecodable, ctx: RequestContext, model: { dataplane?: DataPlane }): Promise<GrpcModelInferResponse> {
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
        model_name: dataplane.provenance.modelName,
        model_version: dataplane.provenance.modelVersion,
        id: request.id ?? "",
        parameters: provenanceOf(dataplane),
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
    ModelInfer(call: ServerUnaryCall<GrpcModelInferRequest | Undecodable, GrpcModelInferResponse>, callback: sendUnaryData<GrpcModelInferResponse>) {
      const ctx = grpcRequestContext(call.metadata, OIP_GRPC_PROTOCOL, (call.request as GrpcModelInferRequest).id);
      const model: { dataplane?: DataPlane } = {};
      let answer: Promise<GrpcModelInferResponse>;
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
  return { definition: withSafeDecoding(oipServiceDefinition(), ["ModelInfer"]), implementation };
}
