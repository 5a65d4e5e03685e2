// The OpenAPI 3.0.3 document of the REST routes a listener serves (OIP v2 and KServe v1), built from the registry at
// request time: one set of routes per served model, each with the model's input and output tensor schemas (the ones
// its OIP model metadata answer reports: declared, or derived from the loaded model) and a working example request
// (examples.ts). Models that are not loaded are listed with the generic schemas and their state. The document is what
// Swagger UI renders at /v2/docs (routes.ts).
//
// Schemas say exactly what each route takes: the tensor names and datatypes of a tensor-native model or a declared
// contract are enums; a matrix model without a declared contract takes its rows under any input name and numeric
// datatype, so its derived spec is given as an example, not a rule.
import type { DataPlane } from "../../dataplane/dataplane.js";
import { ERROR_CODES } from "../../errors.js";
import { PROVENANCE_HEADERS } from "../../protocols/http-common.js";
import { modelMetadata, PROVENANCE_PARAMETERS, type ModelMetadataAnswer } from "../../protocols/oip-v2/shared.js";
import type { ModelEntry, ModelRegistry } from "../../registry/registry.js";
import { DATATYPES, type Datatype, specText, type TensorSpec } from "../../tensor/tensor.js";
import { omafVersion } from "../../version.js";
import { examplesOf, type ModelExamples } from "./examples.js";

/** An OpenAPI object (Schema, Operation, …) as plain JSON. */
type Json = Record<string, unknown>;

/** Which route families the document covers: those the listener serves. */
export interface DocsScope {
  oip: boolean;
  kserve: boolean;
}

/** What the document says of one served model version. */
export interface ModelDoc {
  name: string;
  version: string;
  artifactDigest: string;
  signedBy?: string;
  /** The dataplane's state (`ready`, `loading`, `unloaded`, `failed`…). */
  state: string;
  /** Once loaded: the metadata answer, whether its tensor specs are exact, and the example requests. */
  loaded?: { metadata: ModelMetadataAnswer; exact: boolean; examples?: ModelExamples };
}

/** Each dataplane's description, made once it is loaded (its metadata and sample do not change). */
const described = new WeakMap<DataPlane, Promise<NonNullable<ModelDoc["loaded"]>>>();

/** The description of `dataplane`'s model version (read once it is loaded; `load` waits for a load first). */
export async function describeModel(dataplane: DataPlane, load = false): Promise<ModelDoc> {
  const p = dataplane.provenance;
  const doc: ModelDoc = {
    name: p.modelName,
    version: p.modelVersion,
    artifactDigest: p.artifactDigest,
    ...(p.signedBy ? { signedBy: p.signedBy } : {}),
    state: dataplane.state,
  };
  if (load) await dataplane.loadedMetadata();
  if (!dataplane.ready) return doc;
  let loaded = described.get(dataplane);
  if (!loaded) {
    const meta = dataplane.metadata();
    const artifact = dataplane.artifact;
    loaded = examplesOf({
      meta,
      takesTensors: dataplane.takesTensors,
      ...(artifact.dir && artifact.manifest.sample?.input ? { dir: artifact.dir, sampleInput: artifact.manifest.sample.input } : {}),
    }).then((examples) => ({
      metadata: modelMetadata(dataplane, meta),
      exact: dataplane.takesTensors || meta.declaredContract === true,
      ...(examples ? { examples } : {}),
    }));
    described.set(dataplane, loaded);
    // A description that failed is not kept: the next request tries again instead of failing the same way for good.
    const failed = loaded;
    failed.catch(() => described.get(dataplane) === failed && described.delete(dataplane));
  }
  return { ...doc, state: "ready", loaded: await loaded };
}

/** The model versions the registry serves, the highest of each name first (not loading any). */
export async function describeRegistry(registry: ModelRegistry): Promise<ModelDoc[]> {
  const served = registry.entries().filter((e): e is ModelEntry & { dataplane: DataPlane } => e.served && e.dataplane !== undefined);
  return Promise.all(served.map((e) => describeModel(e.dataplane)));
}

export interface DocumentOptions {
  scope: DocsScope;
  /** The model versions to document, the highest version of each name first. */
  models: ModelDoc[];
  /** A document of one model (or one version): its routes only, no server-wide ones. */
  single?: { name: string; version?: string };
  /** The server root, relative to the document's own URL (e.g. `../..`), so Swagger UI calls the server it was loaded from. */
  root: string;
}

/** The OpenAPI 3.0.3 document. */
export function openApiDocument(opts: DocumentOptions): Json {
  const { scope, models, single } = opts;
  const paths: Record<string, Json> = {};
  const tags: Json[] = [];
  if (!single) {
    if (scope.oip) {
      tags.push({
        name: OIP_SERVER_TAG,
        description: "Open Inference Protocol v2: server metadata and health, Triton's repository and statistics extensions.",
      });
      Object.assign(paths, oipServerPaths(models));
    }
    if (scope.kserve) {
      tags.push({ name: KSERVE_SERVER_TAG, description: "KServe v1: liveness and the model list." });
      Object.assign(paths, kservePaths());
    }
  }
  const byName = new Map<string, ModelDoc[]>();
  for (const m of models) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
  for (const [name, versions] of byName) {
    const top = versions[0];
    tags.push({ name, description: modelDescription(top, versions) });
    if (scope.oip) Object.assign(paths, oipModelPaths(name, versions, single?.version !== undefined));
    if (scope.kserve && !single?.version) Object.assign(paths, kserveModelPaths(top));
  }
  const what = single ? `model ${single.name}${single.version ? ` version ${single.version}` : ""}` : "every served model";
  return {
    openapi: "3.0.3",
    info: {
      title: single ? `omaf: ${single.name}${single.version ? ` ${single.version}` : ""}` : "omaf",
      version: omafVersion,
      description:
        `The REST routes of an omaf server for ${what}: ${[scope.oip ? "Open Inference Protocol v2" : "", scope.kserve ? "KServe v1" : ""].filter(Boolean).join(" and ")}. ` +
        "Every answer about a model carries its provenance in the `x-omaf-model`, `x-omaf-model-version`, `x-omaf-artifact-digest` " +
        "(and, for a verified signature, `x-omaf-signed-by`) headers; OIP v2 inference answers also in their `parameters`. " +
        'Errors are `{"error": message, "code": OMAF_ERR_…}` with the HTTP status of omaf\'s error table.',
    },
    servers: [{ url: opts.root, description: "this server" }],
    tags,
    paths,
    components: COMPONENTS,
  };
}

const OIP_SERVER_TAG = "server (OIP v2)";
const KSERVE_SERVER_TAG = "server (KServe v1)";

function modelDescription(top: ModelDoc, versions: ModelDoc[]): string {
  const lines = [
    `Version ${top.version}${
      versions.length > 1
        ? ` (also served: ${versions
            .slice(1)
            .map((v) => v.version)
            .join(", ")})`
        : ""
    }, artifact \`${top.artifactDigest}\`${top.signedBy ? `, signed by ${top.signedBy}` : ""}.`,
  ];
  if (top.loaded) {
    const m = top.loaded.metadata;
    lines.push(
      `Platform ${m.platform}; inputs ${m.inputs.map(specText).join(", ") || "none declared"}; outputs ${m.outputs.map(specText).join(", ") || "none declared"}.`,
    );
    lines.push(
      top.loaded.examples
        ? `Example request from the ${top.loaded.examples.label}.`
        : "No example request: the model names no sample input and declares no example values.",
    );
  } else {
    lines.push(`Not loaded (${top.state}): its inputs and outputs are documented once it is loaded.`);
  }
  return lines.join(" ");
}

// ── OIP v2 ──────────────────────────────────────────────────────────────────────────────────────────────────────────

function oipServerPaths(models: ModelDoc[]): Record<string, Json> {
  const names = [...new Set(models.map((m) => m.name))];
  const modelParam = {
    name: "model_name",
    in: "path",
    required: true,
    description: "A model name of the repository index.",
    schema: { type: "string", ...(names.length > 0 ? { example: names[0] } : {}) },
  };
  const tags = [OIP_SERVER_TAG];
  return {
    "/v2": { get: op(tags, "oip.server.metadata", "Server metadata: name, version, extensions", ok(ref("ServerMetadata"))) },
    "/v2/health/live": { get: op(tags, "oip.server.live", "Liveness", ok(ref("Live"))) },
    "/v2/health/ready": {
      get: op(tags, "oip.server.ready", "Readiness: every served model version is loaded", {
        ...ok(ref("Ready"), "Ready"),
        "503": { description: "Not ready", content: json(ref("Ready")) },
      }),
    },
    "/v2/models/stats": { get: op(tags, "oip.server.stats", "Statistics of every model version (Triton's statistics extension)", ok(ref("Statistics"))) },
    "/v2/repository/index": {
      post: {
        ...op(tags, "oip.repository.index", "The model repository index: every model version with its state", ok({ type: "array", items: ref("IndexEntry") })),
        requestBody: { required: false, content: json({ type: "object", properties: { ready: { type: "boolean", description: "Only the READY versions" } } }) },
      },
    },
    "/v2/repository/models/{model_name}/load": {
      post: {
        ...op(tags, "oip.repository.load", "Load every version of a model (again: a changed artifact replaces the served one)", ok({ type: "object" })),
        parameters: [modelParam],
      },
    },
    "/v2/repository/models/{model_name}/unload": {
      post: {
        ...op(tags, "oip.repository.unload", "Unload every version of a model once its in-flight requests are answered", ok({ type: "object" })),
        parameters: [modelParam],
      },
    },
  };
}

function oipModelPaths(name: string, versions: ModelDoc[], oneVersion: boolean): Record<string, Json> {
  const tags = [name];
  const top = versions[0];
  const paths: Record<string, Json> = {};
  const base = `/v2/models/${name}`;
  if (!oneVersion) {
    paths[base] = {
      get: op(tags, `${name}.metadata`, "Model metadata: versions, platform, input and output tensors", {
        ...ok(ref("ModelMetadata"), "The model's metadata", top.loaded ? top.loaded.metadata : undefined),
        ...errors("404", "503"),
      }),
    };
    paths[`${base}/ready`] = {
      get: op(tags, `${name}.ready`, "Model readiness", {
        ...ok(ref("ModelReady"), "Ready"),
        "503": { description: "Not ready", content: json(ref("ModelReady")), headers: PROVENANCE_HEADER_REFS },
        ...errors("404"),
      }),
    };
    paths[`${base}/infer`] = { post: inferOperation(top, `${name}.infer`, `Inference on ${name} (version ${top.version}, the highest served)`) };
    paths[`${base}/stats`] = {
      get: op(tags, `${name}.stats`, "Statistics of every version of the model", { ...ok(ref("Statistics")), ...errors("404", "503") }),
    };
  }
  if (versions.length > 1 || oneVersion) {
    for (const v of versions) {
      paths[`${base}/versions/${v.version}/infer`] = {
        post: inferOperation(v, `${name}.versions.${v.version}.infer`, `Inference on ${name} version ${v.version}`),
      };
    }
  }
  return paths;
}

function inferOperation(model: ModelDoc, operationId: string, summary: string): Json {
  const loaded = model.loaded;
  const request = loaded ? inferRequestSchema(loaded.metadata, loaded.exact) : ref("InferRequest");
  const response = loaded ? inferResponseSchema(model, loaded.metadata) : ref("InferResponse");
  const example = loaded?.examples?.oip;
  return {
    tags: [model.name],
    operationId,
    summary,
    description:
      "The body may also be sent in the binary tensor extension (`Inference-Header-Content-Length`), as tritonclient does." +
      (example ? ` The example is the model's ${loaded?.examples?.label}.` : ""),
    requestBody: { required: true, content: { "application/json": { schema: request, ...(example ? { example } : {}) } } },
    responses: { ...ok(response, "The output tensors, with the model's provenance in `parameters`"), ...errors("400", "404", "413", "500", "503", "504") },
  };
}

function inferRequestSchema(meta: ModelMetadataAnswer, exact: boolean): Json {
  return {
    type: "object",
    required: ["inputs"],
    properties: {
      id: { type: "string", description: "Echoed in the answer" },
      parameters: { type: "object", additionalProperties: true, description: 'Request parameters, e.g. `{"content_type": "pd"}` for one column per input' },
      inputs: { type: "array", minItems: 1, items: oneOf(meta.inputs.map((s) => tensorSchema(s, exact, true))) ?? ref("Tensor") },
      outputs: {
        type: "array",
        description: "The outputs to answer (all when left out)",
        items: {
          type: "object",
          required: ["name"],
          properties: {
            name: meta.outputs.length > 0 ? { type: "string", enum: meta.outputs.map((o) => o.name) } : { type: "string" },
            parameters: { type: "object", additionalProperties: true, description: '`{"binary_data": true}` asks for the binary form' },
          },
        },
      },
    },
  };
}

function inferResponseSchema(model: ModelDoc, meta: ModelMetadataAnswer): Json {
  return {
    type: "object",
    required: ["model_name", "model_version", "outputs"],
    properties: {
      model_name: { type: "string", enum: [model.name] },
      model_version: { type: "string", example: model.version },
      id: { type: "string" },
      parameters: provenanceParametersSchema(model),
      outputs: { type: "array", items: oneOf(meta.outputs.map((s) => tensorSchema(s, true, false))) ?? ref("Tensor") },
    },
  };
}

function provenanceParametersSchema(model?: ModelDoc): Json {
  return {
    type: "object",
    description: "The provenance of the answer",
    required: [PROVENANCE_PARAMETERS.modelName, PROVENANCE_PARAMETERS.modelVersion, PROVENANCE_PARAMETERS.artifactDigest],
    properties: {
      [PROVENANCE_PARAMETERS.modelName]: { type: "string", ...(model ? { example: model.name } : {}) },
      [PROVENANCE_PARAMETERS.modelVersion]: { type: "string", ...(model ? { example: model.version } : {}) },
      [PROVENANCE_PARAMETERS.artifactDigest]: { type: "string", pattern: "^sha256:[0-9a-f]{64}$", ...(model ? { example: model.artifactDigest } : {}) },
      [PROVENANCE_PARAMETERS.signedBy]: { type: "string", description: "Key id of the verified signature, when the artifact was served with one" },
    },
  };
}

/**
 * One tensor as OIP JSON carries it. `exact`: the name and datatype are the spec's (else the spec's are examples);
 * an input's shape fixes the rank and the fixed dimensions are described.
 */
function tensorSchema(spec: TensorSpec, exact: boolean, input: boolean): Json {
  const numeric = spec.datatype !== "BYTES" && spec.datatype !== "BOOL";
  const datatypes = exact ? [spec.datatype] : numeric ? DATATYPES.filter((d) => d !== "BYTES" && d !== "BOOL") : [spec.datatype];
  const rank = spec.shape.length;
  return {
    type: "object",
    description: `${specText(spec)}${spec.shape.includes(-1) ? " (-1: any size)" : ""}${exact ? "" : "; the name and a numeric datatype may differ, and each column may be an input of its own"}`,
    required: input ? ["name", "datatype", "shape", "data"] : ["name", "datatype", "shape"],
    properties: {
      name: exact ? { type: "string", enum: [spec.name] } : { type: "string", example: spec.name },
      datatype: { type: "string", enum: datatypes, example: spec.datatype },
      shape: {
        type: "array",
        items: { type: "integer", minimum: 0 },
        ...(exact && rank > 0 ? { minItems: rank, maxItems: rank } : {}),
        example: spec.shape.map((d) => (d < 0 ? 1 : d)),
      },
      parameters: { type: "object", additionalProperties: true },
      data: {
        type: "array",
        description: "The values, flat in row-major order (nested lists are read too)",
        items: rank > 1 ? { anyOf: [elementSchema(spec.datatype), { type: "array", items: {} }] } : elementSchema(spec.datatype),
      },
    },
  };
}

/** One element's JSON form (values.ts): integers may also be decimal strings beyond 2^53, floats "NaN"/"Infinity". */
function elementSchema(datatype: Datatype): Json {
  switch (datatype) {
    case "BOOL":
      return { type: "boolean" };
    case "BYTES":
      return { type: "string" };
    case "FP16":
    case "FP32":
      return { type: "number", format: "float" };
    case "FP64":
      return { type: "number", format: "double" };
    case "INT64":
    case "UINT64":
      return { type: "integer", format: "int64" };
    default:
      return { type: "integer", format: "int32" };
  }
}

// ── KServe v1 ───────────────────────────────────────────────────────────────────────────────────────────────────────

function kservePaths(): Record<string, Json> {
  const tags = [KSERVE_SERVER_TAG];
  return {
    "/": { get: op(tags, "kserve.live", "Liveness", ok({ type: "object", properties: { status: { type: "string", enum: ["alive"] } } })) },
    "/v1/models": {
      get: op(tags, "kserve.models", "The served models", ok({ type: "object", properties: { models: { type: "array", items: { type: "string" } } } })),
    },
  };
}

function kserveModelPaths(model: ModelDoc): Record<string, Json> {
  const tags = [model.name];
  const example = model.loaded?.examples?.kserve;
  return {
    [`/v1/models/${model.name}`]: {
      get: op(tags, `${model.name}.kserve.status`, "Model readiness (KServe v1)", {
        ...ok(ref("KServeModelStatus"), "Ready"),
        "503": { description: "Not ready", content: json(ref("KServeModelStatus")), headers: PROVENANCE_HEADER_REFS },
        ...errors("404"),
      }),
    },
    [`/v1/models/${model.name}:predict`]: {
      post: {
        tags,
        operationId: `${model.name}.kserve.predict`,
        summary: `Prediction with ${model.name} (KServe v1, version ${model.version})`,
        description: `Row format \`{"instances": [...]}\` answered as \`{"predictions": [...]}\`, or columnar \`{"inputs": ...}\` answered as \`{"outputs": ...}\`.${example ? ` The example is the model's ${model.loaded?.examples?.label}.` : ""}`,
        requestBody: { required: true, content: { "application/json": { schema: ref("KServePredictRequest"), ...(example ? { example } : {}) } } },
        responses: { ...ok(ref("KServePredictResponse"), "The predictions"), ...errors("400", "404", "413", "500", "503", "504") },
      },
    },
  };
}

// ── shared pieces ───────────────────────────────────────────────────────────────────────────────────────────────────

function op(tags: string[], operationId: string, summary: string, responses: Json): Json {
  return { tags, operationId, summary, responses };
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json): Json => ({ "application/json": { schema } });

/** The 200 answer, with the provenance headers. */
function ok(schema: Json, description = "OK", example?: unknown): Json {
  return {
    "200": { description, headers: PROVENANCE_HEADER_REFS, content: { "application/json": { schema, ...(example !== undefined ? { example } : {}) } } },
  };
}

/** Error answers by status, each with the codes of omaf's error table answered with it. */
function errors(...statuses: string[]): Json {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = Object.entries(ERROR_CODES)
        .filter(([code, info]) => code.startsWith("OMAF_ERR_") && String(info.http) === status)
        .map(([code]) => code);
      return [status, { description: `Error: ${codes.join(", ")}`, content: json(ref("Error")) }];
    }),
  );
}

function oneOf(schemas: Json[]): Json | undefined {
  if (schemas.length === 0) return undefined;
  return schemas.length === 1 ? schemas[0] : { oneOf: schemas };
}

const headerName = (h: string) => h.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase()).replace(/-/g, "");

const PROVENANCE_HEADER_REFS: Json = Object.fromEntries(
  ["x-request-id", ...Object.values(PROVENANCE_HEADERS)].map((h) => [h, { $ref: `#/components/headers/${headerName(h)}` }]),
);

const stringSchema = { type: "string" };
const duration: Json = { type: "object", properties: { count: { type: "integer" }, ns: { type: "integer" } } };
const tensorMetadata: Json = {
  type: "object",
  required: ["name", "datatype", "shape"],
  properties: { name: stringSchema, datatype: { type: "string", enum: [...DATATYPES] }, shape: { type: "array", items: { type: "integer" } } },
};

const COMPONENTS: Json = {
  headers: {
    [headerName("x-request-id")]: { description: "The request id: the client's x-request-id, else a fresh one", schema: stringSchema },
    [headerName(PROVENANCE_HEADERS.modelName)]: { description: "The model that answered", schema: stringSchema },
    [headerName(PROVENANCE_HEADERS.modelVersion)]: { description: "Its version", schema: stringSchema },
    [headerName(PROVENANCE_HEADERS.artifactDigest)]: { description: "The SHA-256 digest of its artifact", schema: stringSchema },
    [headerName(PROVENANCE_HEADERS.signedBy)]: { description: "Key id of the verified signature, when there is one", schema: stringSchema },
  },
  schemas: {
    Error: {
      type: "object",
      required: ["error", "code"],
      properties: {
        error: { type: "string", description: "What went wrong" },
        code: { type: "string", description: "omaf's error code", example: "OMAF_ERR_BAD_INPUT" },
      },
    },
    ServerMetadata: { type: "object", properties: { name: stringSchema, version: stringSchema, extensions: { type: "array", items: stringSchema } } },
    Live: { type: "object", properties: { live: { type: "boolean" } } },
    Ready: { type: "object", properties: { ready: { type: "boolean" } } },
    ModelReady: { type: "object", properties: { name: stringSchema, ready: { type: "boolean" } } },
    TensorMetadata: tensorMetadata,
    ModelMetadata: {
      type: "object",
      properties: {
        name: stringSchema,
        versions: { type: "array", items: stringSchema },
        platform: stringSchema,
        inputs: { type: "array", items: { $ref: "#/components/schemas/TensorMetadata" } },
        outputs: { type: "array", items: { $ref: "#/components/schemas/TensorMetadata" } },
        parameters: { type: "object", properties: { max_batch_size: { type: "integer" }, max_batch_time_ms: { type: "integer" } } },
      },
    },
    Tensor: {
      type: "object",
      required: ["name", "datatype", "shape"],
      properties: {
        name: stringSchema,
        datatype: { type: "string", enum: [...DATATYPES] },
        shape: { type: "array", items: { type: "integer", minimum: 0 } },
        parameters: { type: "object", additionalProperties: true },
        data: { type: "array", items: {} },
      },
    },
    InferRequest: {
      type: "object",
      required: ["inputs"],
      properties: {
        id: stringSchema,
        parameters: { type: "object", additionalProperties: true },
        inputs: { type: "array", items: { $ref: "#/components/schemas/Tensor" } },
        outputs: { type: "array", items: { type: "object", properties: { name: stringSchema, parameters: { type: "object", additionalProperties: true } } } },
      },
    },
    InferResponse: {
      type: "object",
      properties: {
        model_name: stringSchema,
        model_version: stringSchema,
        id: stringSchema,
        parameters: provenanceParametersSchema(),
        outputs: { type: "array", items: { $ref: "#/components/schemas/Tensor" } },
      },
    },
    IndexEntry: {
      type: "object",
      properties: {
        name: stringSchema,
        version: stringSchema,
        state: { type: "string", enum: ["READY", "LOADING", "UNLOADING", "UNAVAILABLE"] },
        reason: stringSchema,
      },
    },
    Statistics: {
      type: "object",
      properties: {
        model_stats: {
          type: "array",
          items: {
            type: "object",
            properties: {
              name: stringSchema,
              version: stringSchema,
              last_inference: { type: "integer", description: "Milliseconds since the epoch" },
              inference_count: { type: "integer" },
              execution_count: { type: "integer" },
              inference_stats: {
                type: "object",
                properties: Object.fromEntries(
                  ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"].map((k) => [k, duration]),
                ),
              },
              batch_stats: {
                type: "array",
                items: {
                  type: "object",
                  properties: { batch_size: { type: "integer" }, compute_input: duration, compute_infer: duration, compute_output: duration },
                },
              },
            },
          },
        },
      },
    },
    KServeModelStatus: { type: "object", properties: { name: stringSchema, ready: { type: "boolean" }, error: stringSchema, code: stringSchema } },
    KServePredictRequest: {
      type: "object",
      description: "Either `instances` (rows) or `inputs` (columnar)",
      properties: { instances: { type: "array", minItems: 1, items: {} }, inputs: { description: "One input's value, or {input_name: value}" } },
    },
    KServePredictResponse: {
      type: "object",
      properties: { predictions: { type: "array", items: {} }, outputs: { description: "One output's value, or {output_name: value}" } },
    },
  },
};
