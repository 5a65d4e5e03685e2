// The docs page: Swagger UI (from the swagger-ui-dist package: no CDN, nothing fetched from anywhere but this server)
// over the OpenAPI document of the listener's REST routes (openapi.ts), at MLServer's paths:
//   GET /v2/docs                                     every served model      GET /v2/docs/openapi.json
//   GET /v2/models/{m}/docs                           one model               GET /v2/models/{m}/docs/openapi.json
//   GET /v2/models/{m}/versions/{v}/docs              one version             GET .../versions/{v}/docs/openapi.json
//   GET /v2/docs/swagger-ui/{file}                   Swagger UI's own files (read from the package when asked for)
// Each page and document links to the others relatively, so the docs work behind a proxy that adds a path prefix.
// The document is built from the registry on every request; a per-model page waits for a lazy model's load (as its
// metadata does) so its schemas and example are there.
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { OmafError } from "../../errors.js";
import type { ModelRegistry } from "../../registry/registry.js";
import { describeModel, describeRegistry, type DocsScope, openApiDocument } from "./openapi.js";

export interface DocsRouteOptions {
  registry: ModelRegistry;
  scope: DocsScope;
}

/** Swagger UI's files the page loads, with their content types. */
const ASSETS: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

let assetDir: string | undefined;

/** swagger-ui-dist's folder, found on first use. */
function swaggerUiDir(): string {
  assetDir ??= dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  return assetDir;
}

interface ModelParams {
  model: string;
  version?: string;
}

export async function docsRoutes(app: FastifyInstance, opts: DocsRouteOptions): Promise<void> {
  const { registry, scope } = opts;

  app.get("/v2/docs", async (_request, reply) => page(reply, "omaf", "docs", 1));
  app.get("/v2/docs/openapi.json", async (_request, reply) =>
    sendDocument(reply, openApiDocument({ scope, models: await describeRegistry(registry), root: "../.." })),
  );

  /** One model's (or one version's) document: the versions served, the highest first, loaded. */
  const modelDocument = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    const dataplane = registry.resolve(model, version);
    request.omafModel = dataplane;
    const dataplanes = version ? [dataplane] : registry.versionsOf(model).map((v) => registry.resolve(model, v));
    const models = await Promise.all(dataplanes.map((dp, i) => describeModel(dp, i === 0)));
    const root = version ? "../../../../../.." : "../../../..";
    return sendDocument(reply, openApiDocument({ scope, models, single: { name: model, ...(version ? { version } : {}) }, root }));
  };
  const modelPage = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    // An unknown model is 404 here too, not a page that fails to load its document.
    request.omafModel = registry.resolve(model, version);
    return page(reply, `omaf: ${model}${version ? ` ${version}` : ""}`, "docs", version ? 5 : 3);
  };
  app.get("/v2/models/:model/docs", modelPage);
  app.get("/v2/models/:model/docs/openapi.json", modelDocument);
  app.get("/v2/models/:model/versions/:version/docs", modelPage);
  app.get("/v2/models/:model/versions/:version/docs/openapi.json", modelDocument);

  app.get<{ Params: { file: string } }>("/v2/docs/swagger-ui/:file", async (request, reply) => {
    const type = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (!type) throw new OmafError("OMAF_ERR_NOT_FOUND", `no file ${request.params.file} in Swagger UI`);
    return reply
      .type(type)
      .header("cache-control", "public, max-age=3600")
      .send(createReadStream(join(swaggerUiDir(), request.params.file)));
  });
}

function sendDocument(reply: FastifyReply, doc: unknown): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(JSON.stringify(doc));
}

/**
 * The Swagger UI page. `spec` is the document's path relative to the page (`docs` → `docs/openapi.json` under a page
 * at `.../docs`); `depth` is how many path segments the page's folder is below the server root, so Swagger UI's files
 * are found at `/v2/docs/swagger-ui/` from any page.
 */
function page(reply: FastifyReply, title: string, spec: string, depth: number): FastifyReply {
  const assets = `${"../".repeat(depth - 1)}docs/swagger-ui`;
  const config = {
    url: `${spec}/openapi.json`,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    // No badge from the public validator service: the page talks to this server only.
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  };
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(config).replace(/</g, "\\u003c")}, { presets: [SwaggerUIBundle.presets.apis] }));
</script>
</body>
</html>
`;
  return reply.type("text/html; charset=utf-8").send(html);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
