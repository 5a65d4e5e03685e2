// Open Inference Protocol v2 gRPC: inference.GRPCInferenceService (spec/grpc_predict_v2.proto) on top of the
// dataplane. Inference answers in raw_output_contents when the request used raw_input_contents (as Triton does, and
// as tritonclient.grpc expects), else in typed contents (FP16 outputs always raw). Errors are gRPC statuses from the
// error table, with the omaf code at the start of the details and in the `omaf-error-code` trailer.
import { Metadata, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { newRequestId, type DataPlane, type RequestContext } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import { OmafError, toOmafError } from "../../errors.js";
import {
  inputsFromGrpcRequest,
  oipServiceDefinition,
  outputsToGrpc,
  parametersToGrpc,
  type GrpcModelInferRequest,
  type GrpcModelInferResponse,
} from "../../tensor/grpc-contents.js";
import { ensureLoaded, kickLoad } from "../http-common.js";
import { checkModel, modelMetadata, serverMetadata, provenanceParameters } from "./shared.js";

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

/** What a ModelInfer handler receives when the request bytes could not be decoded. */
interface Undecodable {
  undecodable: string;
}

/**
 * The service definition with a ModelInfer decoder that never throws: grpc-js answers INTERNAL for a request it
 * cannot decode, but a malformed request is the caller's error (INVALID_ARGUMENT).
 */
function definitionWithSafeDecoding(): ServiceDefinition {
  const base = oipServiceDefinition();
  const infer = base.ModelInfer;
  const decode = infer.requestDeserialize;
  return {
    ...base,
    ModelInfer: {
      ...infer,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { undecodable: (err as Error).message } satisfies Undecodable;
        }
      },
    },
  };
}

/** Builds the GRPCInferenceService implementation on a dataplane. */
export function createOipGrpcService(dataplane: DataPlane): OipGrpcService {
  const provenance = parametersToGrpc(provenanceParameters(dataplane.provenance));
  const server = serverMetadata();

  async function modelInfer(request: GrpcModelInferRequest | Undecodable, ctx: RequestContext): Promise<GrpcModelInferResponse> {
    if ("undecodable" in request) throw new OmafError("OMAF_ERR_BAD_INPUT", `the ModelInferRequest cannot be decoded: ${request.undecodable}`);
    checkModel(dataplane, request.model_name, request.model_version);
    if (!dataplane.ready) await ensureLoaded(dataplane);
    const inputs = inputsFromGrpcRequest(request);
    const requested = request.outputs && request.outputs.length > 0 ? request.outputs.map((o) => o.name) : undefined;
    const outputs = await inferTensors(dataplane, inputs, requested, ctx);
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
  }

  const implementation: UntypedServiceImplementation = {
    ServerLive(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ live: boolean }>) {
      callback(null, { live: true });
    },
    ServerReady(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ ready: boolean }>) {
      kickLoad(dataplane);
      callback(null, { ready: dataplane.ready });
    },
    ServerMetadata(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<typeof server>) {
      callback(null, server);
    },
    ModelReady(call: ServerUnaryCall<ModelRef, { ready: boolean }>, callback: sendUnaryData<{ ready: boolean }>) {
      try {
        checkModel(dataplane, call.request.name, call.request.version);
        kickLoad(dataplane);
        callback(null, { ready: dataplane.ready });
      } catch (err) {
        callback(grpcError(err));
      }
    },
    ModelMetadata(call: ServerUnaryCall<ModelRef, unknown>, callback: sendUnaryData<unknown>) {
      (async () => {
        checkModel(dataplane, call.request.name, call.request.version);
        await ensureLoaded(dataplane);
        return modelMetadata(dataplane);
      })().then((res) => callback(null, res), (err) => callback(grpcError(err)));
    },
    ModelInfer(call: ServerUnaryCall<GrpcModelInferRequest | Undecodable, GrpcModelInferResponse>, callback: sendUnaryData<GrpcModelInferResponse>) {
      const ctx: RequestContext = { requestId: requestIdOf(call), protocol: OIP_GRPC_PROTOCOL };
      modelInfer(call.request, ctx).then(
        (res) => callback(null, res),
        (err) => {
          dataplane.reportRejected(ctx, err);
          callback(grpcError(err));
        },
      );
    },
  };
  return { definition: definitionWithSafeDecoding(), implementation };
}

/** The caller's `x-request-id` metadata, else the request's `id`, else a fresh id. */
function requestIdOf(call: ServerUnaryCall<GrpcModelInferRequest | Undecodable, unknown>): string {
  const given = call.metadata.get("x-request-id");
  if (given.length > 0 && typeof given[0] === "string" && given[0] !== "") return given[0];
  const id = (call.request as GrpcModelInferRequest).id;
  return typeof id === "string" && id !== "" ? id : newRequestId();
}

/** An error as a gRPC status from the error table; the details start with the omaf code. */
function grpcError(err: unknown): { code: number; details: string; metadata: Metadata } {
  const e = toOmafError(err, "OMAF_ERR_INTERNAL");
  const metadata = new Metadata();
  metadata.set("omaf-error-code", e.code);
  return { code: e.grpcStatus, details: `${e.code}: ${e.message}`, metadata };
}
