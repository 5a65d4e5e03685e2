// KServe v1 REST (the protocol of KServe's Python model server and Chassis' `kserve` interface): liveness at `/`,
// the model list, model readiness, `:predict`, and `:explain` (501: no model offers explanations yet).
// The one served model answers to its manifest name; any other name is 404.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { OmafError } from "../../errors.js";
import { readJsonBody, requestContext, sendJson } from "../http-common.js";
import { predict, readPredictRequest } from "./predict.js";

export const KSERVE_V1_PROTOCOL = "kserve-v1";

export interface KserveV1RouteOptions {
  dataplane: DataPlane;
}

/** Registers the KServe v1 routes; errors are thrown as OmafErrors and sent as `{"error", "code"}` by the listener. */
export async function kserveV1Routes(app: FastifyInstance, opts: KserveV1RouteOptions): Promise<void> {
  const { dataplane } = opts;
  const name = dataplane.provenance.modelName;

  const checkName = (asked: string) => {
    if (asked !== name) throw new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `Model with name ${asked} does not exist.`, { model: asked });
  };

  app.get("/", async () => ({ status: "alive" }));
  app.get("/v1/models", async () => ({ models: [name] }));

  app.get<{ Params: { name: string } }>("/v1/models/:name", async (request, reply) => {
    checkName(request.params.name);
    if (dataplane.probeReady()) return { name, ready: true };
    return notReady(reply, name, dataplane);
  });

  // `<name>:predict` and `<name>:explain` are one path segment; the verb follows the last colon.
  app.post<{ Params: { target: string } }>("/v1/models/:target", async (request, reply) => {
    const { target } = request.params;
    const colon = target.lastIndexOf(":");
    const verb = colon >= 0 ? target.slice(colon + 1) : "";
    if (verb !== "predict" && verb !== "explain") {
      throw new OmafError("OMAF_ERR_NOT_FOUND", `no route POST /v1/models/${target}; use /v1/models/${name}:predict`);
    }
    checkName(target.slice(0, colon));
    if (verb === "explain") throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `Model ${name} does not offer explanations.`);
    return dataplane.infer(requestContext(request), async (inference) => {
      return sendJson(reply, 200, await predict(inference, readPredictRequest(readJsonBody(request))));
    });
  });
}

/** 503 for a model that is loading, failed to load, or going away; the body keeps KServe's `error` key. */
function notReady(reply: FastifyReply, name: string, dataplane: DataPlane): FastifyReply {
  const why =
    dataplane.state === "draining" || dataplane.state === "closed"
      ? "the server is shutting down"
      : dataplane.loadError
        ? `it failed to load: ${dataplane.loadError.message}`
        : "it is still loading";
  return reply
    .code(503)
    .header("retry-after", "1")
    .send({ name, ready: false, error: `Model with name ${name} is not ready: ${why}.`, code: "OMAF_ERR_MODEL_NOT_READY" });
}
