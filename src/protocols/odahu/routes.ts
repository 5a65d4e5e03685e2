// Odahu's model REST API, as legacy Odahu clients call it: /healthcheck, /api/model/info (Swagger 2.0) and
// /api/model/invoke. Responses carry Odahu's Model-Name / Model-Version headers and echo its `request-id` header;
// errors are `{"message": ..., "code": ...}` (4xx for client errors, 500 for model failures, as in the error table).
import type { FastifyInstance } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { readJsonBody, requestContext, sendJson } from "../http-common.js";
import { buildSwagger } from "./swagger.js";

export const ODAHU_PROTOCOL = "odahu";

/** The names the Odahu routes report. */
export interface OdahuNames {
  modelName: string;
  modelVersion: string;
}

export interface OdahuRouteOptions {
  dataplane: DataPlane;
  /** Overrides of the manifest's name and version (ODAHU_MODEL_NAME / ODAHU_MODEL_VERSION); unset keys keep it. */
  names?: Partial<OdahuNames>;
}

export async function odahuRoutes(app: FastifyInstance, opts: OdahuRouteOptions): Promise<void> {
  const { dataplane } = opts;
  const names: OdahuNames = {
    modelName: opts.names?.modelName || dataplane.provenance.modelName,
    modelVersion: opts.names?.modelVersion || dataplane.provenance.modelVersion,
  };
  const headers = { "Model-Name": names.modelName, "Model-Version": names.modelVersion };

  // Synchronous: no per-request promise.
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(headers);
    reply.header("request-id", request.id);
    done();
  });

  // Odahu deployments probe this for readiness.
  app.get("/healthcheck", async (_request, reply) => {
    const ready = dataplane.probeReady();
    return reply.code(ready ? 200 : 503).send({ status: ready });
  });

  app.get("/api/model/info", async () => {
    const metadata = dataplane.probeReady() ? dataplane.metadata() : undefined;
    return buildSwagger({ ...names, artifactDigest: dataplane.provenance.artifactDigest, metadata });
  });

  app.post("/api/model/invoke", async (request, reply) => {
    return dataplane.infer(requestContext(request), async (inference) => {
      const out = await inference.predictJson(readJsonBody(request));
      if (inference.metadata.mode === "objects") return sendJson(reply, 200, out.result);
      // As Odahu's server: `columns` is always there, null when the model names none.
      return sendJson(reply, 200, { prediction: out.result, columns: out.columns ?? null });
    });
  });
}
