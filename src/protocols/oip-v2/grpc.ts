// Open Inference Protocol v2 gRPC: inference.GRPCInferenceService (spec/grpc_predict_v2.proto) on top of the
// dataplane. Inference answers in raw_output_contents when the request used raw_input_contents (as Triton does, and
// as tritonclient.grpc expects), else in typed contents (FP16 outputs always raw). Errors are gRPC statuses from the
// error table (protocols/grpc-common.ts).
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { DataPlane, RequestContext } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import {
  inputsFromGrpcRequest,
  oipServiceDefinition,
  outputsToGrpc,
  parametersFromGrpc,
  parametersToGrpc,
  type GrpcModelInferRequest,
  type GrpcModelInferResponse,
} from "../../tensor/grpc-contents.js";
import { grpcError, isUndecodable, requestIdOf, undecodableError, withSafeDecoding, type Undecodable } from "../grpc-common.js";
import { checkModel, modelMetadata, provenanceParameters, requestedOutputNames, serverMetadata } from "./shared.js";

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

/** Builds the GRPCInferenceService implementation on a dataplane. */
export function createOipGrpcService(dataplane: DataPlane): OipGrpcService {
  const provenance = parametersToGrpc(provenanceParameters(dataplane.provenance));
  const server = serverMetadata();

  function modelInfer(request: GrpcModelInferRequest | Undecodable, ctx: RequestContext): Promise<GrpcModelInferResponse> {
    if (!isUndecodable(request)) checkModel(dataplane, request.model_name, request.model_version);
    return dataplane.infer(ctx, async (inference) => {
      if (isUndecodable(request)) throw undecodableError(request, "ModelInferRequest");
      const inputs = inputsFromGrpcRequest(request);
      const requested = requestedOutputNames(request.outputs?.map((o) => ({ name: o.name, parameters: o.parameters && parametersFromGrpc(o.parameters) })));
      const outputs = await inferTensors(inference, inputs, requested, request.parameters && parametersFromGrpc(request.parameters));
      const raw = (request.raw_input_contents?.length ?? 0) > 0;
      const encoded = outputsToGrpc(outputs, { raw });
      return {
        model_name: dataplane.provenance.modelName,
        model_version: dataplane.provenance.modelVersion,
        id: request.id ?? "",
        parameters: provenance,
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
      callback(null, { ready: dataplane.probeReady() });
    },
    ServerMetadata(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<typeof server>) {
      callback(null, server);
    },
    ModelReady(call: ServerUnaryCall<ModelRef, { ready: boolean }>, callback: sendUnaryData<{ ready: boolean }>) {
      try {
        checkModel(dataplane, call.request.name, call.request.version);
        callback(null, { ready: dataplane.probeReady() });
      } catch (err) {
        callback(grpcError(err));
      }
    },
    ModelMetadata(call: ServerUnaryCall<ModelRef, unknown>, callback: sendUnaryData<unknown>) {
      (async () => {
        checkModel(dataplane, call.request.name, call.request.version);
        const answer = modelMetadata(dataplane, await dataplane.loadedMetadata());
        return { ...answer, parameters: parametersToGrpc(answer.parameters) };
      })().then(
        (res) => callback(null, res),
        (err) => callback(grpcError(err)),
      );
    },
    ModelInfer(call: ServerUnaryCall<GrpcModelInferRequest | Undecodable, GrpcModelInferResponse>, callback: sendUnaryData<GrpcModelInferResponse>) {
      const ctx: RequestContext = { requestId: requestIdOf(call.metadata, (call.request as GrpcModelInferRequest).id), protocol: OIP_GRPC_PROTOCOL };
      let answer: Promise<GrpcModelInferResponse>;
      try {
        answer = modelInfer(call.request, ctx);
      } catch (err) {
        answer = Promise.reject(err);
      }
      answer.then(
        (res) => callback(null, res),
        (err) => {
          dataplane.reportRejected(ctx, err);
          callback(grpcError(err));
        },
      );
    },
  };
  return { definition: withSafeDecoding(oipServiceDefinition(), ["ModelInfer"]), implementation };
}
