// The OMI (Chassis ModzyModel) gRPC service: Status / Run / Shutdown translated to dataplane calls.
// It knows nothing about processes or signals: Shutdown only calls the `onShutdown` hook the server gives it.
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { isOmafError } from "../../errors.js";
import type { DataPlane, RequestContext } from "../../dataplane/dataplane.js";
import { grpcError, isUndecodable, requestIdOf, undecodableError, withSafeDecoding, type Undecodable } from "../grpc-common.js";
import type { RunRequest, RunResponse, ShutdownResponse, StatusResponse } from "./messages.js";
import { omiServiceDefinition } from "./proto.js";
import { failedOutputItem, provenanceEntries, readInputItem, toOutputItem } from "./run.js";
import { buildStatusResponse, STATUS_ALREADY_INITIALIZED, STATUS_INIT_FAILED, STATUS_INITIALIZED, STATUS_UNAVAILABLE, type StatusOptions } from "./status.js";

export const OMI_PROTOCOL = "omi";

export interface OmiServiceOptions extends StatusOptions {
  /** Called once Shutdown has been answered; the server then drains and stops. */
  onShutdown: () => void;
}

export interface OmiService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

const RUN_OK = { status_code: 200, status: "OK", message: "Inference executed" } as const;
const SHUTDOWN_OK: ShutdownResponse = { status_code: 200, status: "OK", message: "Model Shutdown Successfully." };

/** Builds the ModzyModel service on top of a dataplane. */
export function createOmiService(dataplane: DataPlane, opts: OmiServiceOptions): OmiService {
  const provenance = provenanceEntries(dataplane.provenance);
  // Chassis answers "Initialized Successfully" once, then "Already Initialized".
  let announced = false;
  let shutdownRequested = false;

  async function status(): Promise<StatusResponse> {
    try {
      await dataplane.loadedMetadata();
    } catch (err) {
      const line = isOmafError(err, "OMAF_ERR_UNAVAILABLE") ? STATUS_UNAVAILABLE : STATUS_INIT_FAILED;
      return buildStatusResponse(dataplane, line, opts);
    }
    const line = announced ? STATUS_ALREADY_INITIALIZED : STATUS_INITIALIZED;
    announced = true;
    return buildStatusResponse(dataplane, line, opts);
  }

  async function run(request: RunRequest | Undecodable, ctx: RequestContext): Promise<RunResponse> {
    try {
      return await dataplane.infer(ctx, async (inference) => {
        if (isUndecodable(request)) throw undecodableError(request, "RunRequest");
        const inputs = (request.inputs ?? []).map((item, i) => readInputItem(item, i));
        const results = await inference.predictJsonBatch(inputs);
        return { ...RUN_OK, outputs: results.map((r) => toOutputItem(r, provenance)) };
      });
    } catch (err) {
      // Like Chassis: a model that failed to initialise answers Run with every item saying so.
      if (!isOmafError(err, "OMAF_ERR_MODEL_NOT_READY") || isUndecodable(request)) throw err;
      return { ...STATUS_INIT_FAILED, outputs: (request.inputs ?? []).map(() => failedOutputItem(err, provenance)) };
    }
  }

  const implementation: UntypedServiceImplementation = {
    Status(_call: ServerUnaryCall<unknown, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      status().then(
        (res) => callback(null, res),
        (err) => callback(grpcError(err)),
      );
    },
    Run(call: ServerUnaryCall<RunRequest | Undecodable, RunResponse>, callback: sendUnaryData<RunResponse>) {
      const ctx: RequestContext = { requestId: requestIdOf(call.metadata), protocol: OMI_PROTOCOL };
      run(call.request, ctx).then(
        (res) => callback(null, res),
        (err) => callback(grpcError(err)),
      );
    },
    Shutdown(_call: ServerUnaryCall<unknown, ShutdownResponse>, callback: sendUnaryData<ShutdownResponse>) {
      callback(null, SHUTDOWN_OK);
      if (shutdownRequested) return;
      shutdownRequested = true;
      // Let the answer go out before the stop begins.
      setImmediate(opts.onShutdown);
    },
  };
  return { definition: withSafeDecoding(omiServiceDefinition(), ["Run"]), implementation };
}
