// KServe v1 REST (the protocol of KServe's Python model server and Chassis' `kserve` interface): liveness at `/`,
// the model list, model readiness, `:predict`, and `:explain` (501: no model offers explanations yet).
// Each served model answers to its manifest name (its highest served version: KServe v1 has no versions); any other
// name is 404.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { isOmafError, OmafError } from "../../errors.js";
import type { ModelEntry, ModelRegistry } from "../../registry/registry.js";
import { readJsonBody, requestContext, sendJson } from "../http-common.js";
import { predict, readPredictRequest } from "./predict.js";

export const KSERVE_V1_PROTOCOL = "kserve-v1";

export interface KserveV1RouteOptions {
  registry: ModelRegistry;
}

/** Registers the KServe v1 routes; errors are thrown as OmafErrors and sent as `{"error", "code"}` by the listener. */
export async function kserveV1Routes(app: FastifyInstance, opts: KserveV1RouteOptions): Promise<void> {
  const { registry } = opts;

  /** The model `asked` names, in KServe's words when there is none. */
  const entryOf = (asked: string): ModelEntry => {
    try {
      return registry.entry(asked);
    } catch (err) {
      if (isOmafError(err, "OMAF_ERR_MODEL_NOT_FOUND"))
        throw new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `Model with name ${asked} does not exist.`, { model: asked });
      throw err;
    }
  };

  app.get("/", async () => ({ status: "alive" }));
  app.get("/v1/models", async () => ({ models: registry.names() }));

  app.get<{ Params: { name: string } }>("/v1/models/:name", async (request, reply) => {
    const { name } = request.params;
    const dataplane = entryOf(name).dataplane;
    if (dataplane) request.omafModel = dataplane;
    if (dataplane?.probeReady()) return { name, ready: true };
    return notReady(reply, name, dataplane);
  });

  // `<name>:predict` and `<name>:explain` are one path segment; the verb follows the last colon.
  app.post<{ Params: { target: string } }>("/v1/models/:target", async (request, reply) => {
    const { target } = request.params;
    const colon = target.lastIndexOf(":");
    const verb = colon >= 0 ? target.slice(colon + 1) : "";
    if (verb !== "predict" && verb !== "explain") {
      throw new OmafError(
        "OMAF_ERR_NOT_FOUND",
        `no route POST /v1/models/${target}; use /v1/models/${registry.only?.provenance.modelName ?? "<name>"}:predict`,
      );
    }
    const name = target.slice(0, colon);
    const entry = entryOf(name);
    const dataplane = entry.dataplane;
    if (!dataplane) throw entry.notReady();
    request.omafModel = dataplane;
    if (verb === "explain") throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `Model ${name} does not offer explanations.`);
    // The answer is sent, not returned: settling a promise with a reply (a thenable) costs another promise job.
    return dataplane.infer(requestContext(request), async (inference) => {
      sendJson(reply, 200, await predict(inference, readPredictRequest(readJsonBody(request))));
    });
  });
}

/** 503 for a model that is loading, failed to load, unloaded, or going away; the body keeps KServe's `error` key. */
function notReady(reply: FastifyReply, name: string, dataplane: DataPlane | undefined): FastifyReply {
  const why = !dataplane
    ? "it is unloaded"
    : dataplane.state === "draining" || dataplane.state === "closed"
      ? "the server is shutting down"
      : dataplane.loadError
        ? `it failed to load: ${dataplane.loadError.message}`
        : "it is still loading";
  return reply
    .code(503)
    .header("retry-after", "1")
    .send({ name, ready: false, error: `Model with name ${name} is not ready: ${why}.`, code: "OMAF_ERR_MODEL_NOT_READY" });
}
