// The OMI (Chassis ModzyModel) gRPC service: Status / Run / Shutdown translated to dataplane calls.
// It knows nothing about processes or signals: Shutdown only calls the `onShutdown` hook the server gives it.
// OMI names no model: the service serves the one `model()` answers on each call (the server's choice, found in the
// registry), or that call fails with the error it throws (an unloaded model: UNAVAILABLE).
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { isOmafError } from "../../errors.js";
import type { DataPlane, RequestContext } from "../../dataplane/dataplane.js";
import { grpcError, grpcRequestContext, isUndecodable, undecodableError, withSafeDecoding, type Undecodable } from "../grpc-common.js";
import type { RunRequest, RunResponse, ShutdownResponse, StatusResponse } from "./messages.js";
import { omiServiceDefinition } from "./proto.js";
import { failedOutputItem, provenanceEntries, readInputItem, toOutputItem } from "./run.js";
import { buildStatusResponse, STATUS_ALREADY_INITIALIZED, STATUS_INIT_FAILED, STATUS_INITIALIZED, STATUS_UNAVAILABLE, type StatusOptions } from "./status.js";

export const OMI_PROTOCOL = "omi";

export interface OmiServiceOptions extends StatusOptions {
  /** Called once Shutdown has been answered; the server then drains and stops. */
  onShutdown: () => void;
  /** Told of a Run refused because the model could not be found (e.g. unloaded), for its inference-log line. */
  onRejected?: (ctx: RequestContext, err: unknown) => void;
}

export interface OmiService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

const RUN_OK = { status_code: 200, status: "OK", message: "Inference executed" } as const;
const SHUTDOWN_OK: ShutdownResponse = { status_code: 200, status: "OK", message: "Model Shutdown Successfully." };

/** Each model version's provenance entries, encoded once. */
const provenanceCache = new WeakMap<DataPlane, Record<string, Buffer>>();

function provenanceOf(dataplane: DataPlane): Record<string, Buffer> {
  let p = provenanceCache.get(dataplane);
  if (!p) provenanceCache.set(dataplane, (p = provenanceEntries(dataplane.provenance)));
  return p;
}

/** Builds the ModzyModel service on top of the dataplane `model()` answers (a DataPlane is taken as it is). */
export function createOmiService(model: DataPlane | (() => DataPlane), opts: OmiServiceOptions): OmiService {
  const current = typeof model === "function" ? model : () => model;
  // Chassis answers "Initialized Successfully" once, then "Already Initialized".
  let announced = false;
  let shutdownRequested = false;

  async function status(): Promise<StatusResponse> {
    const dataplane = current();
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
    let dataplane: DataPlane;
    try {
      dataplane = current();
    } catch (err) {
      opts.onRejected?.(ctx, err);
      throw err;
    }
    const provenance = provenanceOf(dataplane);
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
      const ctx = grpcRequestContext(call.metadata, OMI_PROTOCOL);
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
