// Odahu's model REST API, as legacy Odahu clients call it: /healthcheck, /api/model/info (Swagger 2.0) and
// /api/model/invoke. Responses carry Odahu's Model-Name / Model-Version headers and echo its `request-id` header;
// errors are `{"message": ..., "code": ...}` (4xx for client errors, 500 for model failures, as in the error table).
// Odahu's API names no model: a server answers it with one model, the one the server chose (settings.ts,
// --odahu-model), found in the registry on every request.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import type { ModelChoice, ModelRegistry } from "../../registry/registry.js";
import { readJsonBody, requestContext, sendJson } from "../http-common.js";
import { buildSwagger } from "./swagger.js";

export const ODAHU_PROTOCOL = "odahu";

/** The names the Odahu routes report. */
export interface OdahuNames {
  modelName: string;
  modelVersion: string;
}

export interface OdahuRouteOptions {
  registry: ModelRegistry;
  /** The model the routes serve. */
  model: ModelChoice;
  /** Overrides of the manifest's name and version (ODAHU_MODEL_NAME / ODAHU_MODEL_VERSION); unset keys keep it. */
  names?: Partial<OdahuNames>;
}

export async function odahuRoutes(app: FastifyInstance, opts: OdahuRouteOptions): Promise<void> {
  const { registry, model } = opts;
  const namesOf = (dataplane: DataPlane | undefined): OdahuNames => ({
    modelName: opts.names?.modelName || dataplane?.provenance.modelName || model.name,
    modelVersion: opts.names?.modelVersion || dataplane?.provenance.modelVersion || model.version || "",
  });
  /** The served model's dataplane, or the error a request for it answers (it may be unloaded). */
  const modelOf = (request: FastifyRequest): DataPlane => request.omafModel ?? registry.resolve(model.name, model.version);

  // Synchronous: no per-request promise.
  app.addHook("onRequest", (request, reply, done) => {
    let dataplane: DataPlane | undefined;
    try {
      dataplane = registry.resolve(model.name, model.version);
      request.omafModel = dataplane;
    } catch {
      // Unloaded: the route answers why.
    }
    const names = namesOf(dataplane);
    reply.header("Model-Name", names.modelName);
    reply.header("Model-Version", names.modelVersion);
    reply.header("request-id", request.id);
    done();
  });

  // Odahu deployments probe this for readiness.
  app.get("/healthcheck", async (request, reply) => {
    const ready = request.omafModel?.probeReady() ?? false;
    return reply.code(ready ? 200 : 503).send({ status: ready });
  });

  app.get("/api/model/info", async (request) => {
    const dataplane = modelOf(request);
    const metadata = dataplane.probeReady() ? dataplane.metadata() : undefined;
    return buildSwagger({ ...namesOf(dataplane), artifactDigest: dataplane.provenance.artifactDigest, metadata });
  });

  app.post("/api/model/invoke", async (request, reply) => {
    // The answer is sent, not returned: settling a promise with a reply (a thenable) costs another promise job.
    return modelOf(request).infer(requestContext(request), async (inference) => {
      const out = await inference.predictJson(readJsonBody(request));
      // As Odahu's server: `columns` is always there, null when the model names none.
      sendJson(reply, 200, inference.metadata.mode === "objects" ? out.result : { prediction: out.result, columns: out.columns ?? null });
    });
  });
}
