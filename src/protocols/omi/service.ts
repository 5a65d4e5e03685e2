// The OMI (Chassis ModzyModel) gRPC service: Status / Run / Shutdown translated to dataplane calls.
// It knows nothing about processes or signals: Shutdown only calls the `onShutdown` hook the server gives it.
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { isOmafError, OmafError, toOmafError } from "../../errors.js";
import { newRequestId, type DataPlane, type RequestContext } from "../../dataplane/dataplane.js";
import type { RunRequest, RunResponse, ShutdownResponse, StatusResponse } from "./messages.js";
import { omiServiceDefinition } from "./proto.js";
import { failedOutputItem, provenanceEntries, readInputItem, toOutputItem } from "./run.js";
import {
  buildStatusResponse,
  STATUS_ALREADY_INITIALIZED,
  STATUS_INIT_FAILED,
  STATUS_INITIALIZED,
  STATUS_UNAVAILABLE,
  type StatusOptions,
} from "./status.js";

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
      await dataplane.load();
    } catch (err) {
      const line = isOmafError(err, "OMAF_ERR_UNAVAILABLE") ? STATUS_UNAVAILABLE : STATUS_INIT_FAILED;
      return buildStatusResponse(dataplane, line, opts);
    }
    const line = announced ? STATUS_ALREADY_INITIALIZED : STATUS_INITIALIZED;
    announced = true;
    return buildStatusResponse(dataplane, line, opts);
  }

  async function run(request: RunRequest, ctx: RequestContext): Promise<RunResponse> {
    const items = request.inputs ?? [];
    try {
      if (!dataplane.ready) await dataplane.load();
    } catch (err) {
      // Like Chassis: every item reports that the model is not initialised.
      const error = notReady(toOmafError(err));
      if (error.code === "OMAF_ERR_UNAVAILABLE") throw error;
      return { ...STATUS_INIT_FAILED, outputs: items.map(() => failedOutputItem(error, provenance)) };
    }
    const inputs = items.map((item, i) => readInputItem(item, i));
    const results = await dataplane.predictJsonBatch(inputs, ctx);
    return { ...RUN_OK, outputs: results.map((r) => toOutputItem(r, provenance)) };
  }

  const implementation: UntypedServiceImplementation = {
    Status(_call: ServerUnaryCall<unknown, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      status().then((res) => callback(null, res), (err) => callback(grpcError(toOmafError(err))));
    },
    Run(call: ServerUnaryCall<RunRequest, RunResponse>, callback: sendUnaryData<RunResponse>) {
      const ctx: RequestContext = { requestId: requestIdOf(call.metadata), protocol: OMI_PROTOCOL };
      run(call.request, ctx).then((res) => callback(null, res), (err) => callback(grpcError(toOmafError(err))));
    },
    Shutdown(_call: ServerUnaryCall<unknown, ShutdownResponse>, callback: sendUnaryData<ShutdownResponse>) {
      callback(null, SHUTDOWN_OK);
      if (shutdownRequested) return;
      shutdownRequested = true;
      // Let the answer go out before the stop begins.
      setImmediate(opts.onShutdown);
    },
  };
  return { definition: omiServiceDefinition(), implementation };
}

/** A failed load seen by Run is "not ready" for the items; draining stays "unavailable". */
function notReady(err: OmafError): OmafError {
  if (err.code === "OMAF_ERR_UNAVAILABLE" || err.code === "OMAF_ERR_MODEL_NOT_READY") return err;
  return new OmafError("OMAF_ERR_MODEL_NOT_READY", `the model failed to load: ${err.code}: ${err.message}`);
}

/** The caller's `x-request-id` metadata, or a fresh id. */
function requestIdOf(metadata: Metadata): string {
  const given = metadata.get("x-request-id");
  return given.length > 0 && typeof given[0] === "string" && given[0] !== "" ? given[0] : newRequestId();
}

/** A whole-call failure as a gRPC status; the details start with the omaf code. */
function grpcError(err: OmafError): { code: number; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set("omaf-error-code", err.code);
  return { code: err.grpcStatus, details: `${err.code}: ${err.message}`, metadata };
}
