// The Swagger 2.0 document Odahu's model server answers at GET /api/model/info: the invoke endpoint, with request and
// response schemas built from the model's GPPI info() schemas, inline where Odahu's server put them (its clients read
// `paths./api/model/invoke.post.parameters[0].schema` for the column names and an example row). Unlike Odahu's own
// document this one is valid Swagger 2.0 (its 200 answer had no `schema`). Odahu titles it "Model API"; omaf keeps
// that title and puts the model's name and version in `info` (version, description and x- vendor fields).
import type { FieldSchema, ModelMetadata } from "../../runtime/model.js";

/** A Swagger 2.0 Schema Object (the subset used here). */
export interface SwaggerSchema {
  type?: "object" | "array" | "string" | "number" | "integer" | "boolean";
  format?: string;
  description?: string;
  items?: SwaggerSchema;
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  example?: unknown;
}

export interface SwaggerInfoInput {
  modelName: string;
  modelVersion: string;
  artifactDigest: string;
  /** Undefined while the model is not loaded: the schemas then describe the generic forms only. */
  metadata?: ModelMetadata;
}

/** Swagger type and format for a GPPI field type name (Python, NumPy, pandas or JSON Schema spellings). */
export function swaggerType(type: string | undefined): SwaggerSchema {
  const t = (type ?? "").trim().toLowerCase();
  if (/^(int|integer|long|short|int8|int16|int32|uint8|uint16|uint32)$/.test(t)) return { type: "integer", format: "int32" };
  if (/^(int64|uint64|bigint)$/.test(t)) return { type: "integer", format: "int64" };
  if (/^(float|float32|single)$/.test(t)) return { type: "number", format: "float" };
  if (/^(double|float64|decimal)$/.test(t)) return { type: "number", format: "double" };
  if (/^(number|numeric|real)$/.test(t)) return { type: "number" };
  if (/^(bool|boolean)$/.test(t)) return { type: "boolean" };
  if (/^(str|string|text|object|category|unicode)$/.test(t)) return { type: "string" };
  if (/^(datetime|datetime64|timestamp|date)/.test(t)) return { type: "string", format: "date-time" };
  // Unknown spellings: any value (an empty schema is valid Swagger 2.0).
  return {};
}

/** The Swagger 2.0 document for /api/model/info. */
export function buildSwagger(input: SwaggerInfoInput): Record<string, unknown> {
  const { modelName, modelVersion, artifactDigest, metadata } = input;
  const objects = metadata?.mode === "objects";
  const invoke = objects ? objectsSchemas(metadata) : matrixSchemas(metadata);
  return {
    swagger: "2.0",
    info: {
      title: "Model API",
      version: modelVersion,
      description: `Odahu model REST API of ${modelName} ${modelVersion} (artifact ${artifactDigest}).`,
      "x-model-name": modelName,
      "x-model-version": modelVersion,
      "x-artifact-digest": artifactDigest,
      // The declared tensor contract (model.inputs / model.outputs), which every request is checked against.
      ...(metadata?.declaredContract ? { "x-omaf-inputs": metadata.inputs, "x-omaf-outputs": metadata.outputs } : {}),
    },
    basePath: "/",
    schemes: ["http"],
    consumes: ["application/json"],
    produces: ["application/json"],
    // Every schema is inline, never a $ref: Odahu's server wrote them so, and its clients read them there.
    paths: {
      "/api/model/invoke": {
        post: {
          summary: objects ? "Predict: the body is passed to the model as it is" : "Predict on rows of values",
          operationId: "invoke",
          parameters: [{ in: "body", name: "PredictionParameters", required: true, schema: invoke.parameters }],
          responses: {
            "200": { description: "Results of prediction", schema: invoke.response },
            "400": { description: "The request does not fit the model", schema: ERROR },
            "500": { description: "The model failed", schema: ERROR },
            "503": { description: "The model is not ready or the server is stopping", schema: ERROR },
          },
        },
      },
      "/api/model/info": {
        get: {
          summary: "This document",
          operationId: "info",
          responses: { "200": { description: "Swagger 2.0 document of the model API", schema: { type: "object" } } },
        },
      },
      "/healthcheck": {
        get: {
          summary: "Readiness: status true while the model is loaded and serving",
          operationId: "healthcheck",
          responses: {
            "200": { description: "Ready", schema: HEALTH },
            "503": { description: "Not ready", schema: HEALTH },
          },
        },
      },
    },
  };
}

const ERROR: SwaggerSchema = {
  type: "object",
  properties: { message: { type: "string" }, code: { type: "string", description: "omaf error code, e.g. OMAF_ERR_BAD_INPUT" } },
  required: ["message"],
};

const HEALTH: SwaggerSchema = { type: "object", properties: { status: { type: "boolean" } }, required: ["status"] };

/** The invoke body and its 200 answer. */
interface InvokeSchemas {
  parameters: SwaggerSchema;
  response: SwaggerSchema;
}

/**
 * `{"columns", "data"}` in, `{"prediction", "columns"}` out, in the layout Odahu's server wrote: the `columns`
 * example is the field names, the `data` / `prediction` example one row of the fields' examples.
 */
function matrixSchemas(meta: ModelMetadata | undefined): InvokeSchemas {
  const inFields = meta?.inputSchema ?? [];
  const outFields = meta?.outputSchema ?? [];
  return {
    parameters: { type: "object", properties: { columns: namesSchema(inFields), data: rowsSchema(inFields) } },
    response: { type: "object", properties: { prediction: rowsSchema(outFields), columns: namesSchema(outFields) } },
  };
}

/** Objects models: the body goes to the model as it is; the schemas list the GPPI fields as properties. */
function objectsSchemas(meta: ModelMetadata): InvokeSchemas {
  return {
    parameters: objectSchema(meta.inputSchema, "The request object, passed to predict_on_objects() as it is"),
    response: objectSchema(meta.outputSchema, "What predict_on_objects() answered"),
  };
}

function objectSchema(fields: FieldSchema[] | undefined, description: string): SwaggerSchema {
  if (!fields?.length) return { type: "object", description };
  const required = fields.filter((f) => f.required).map((f) => f.name);
  const schema: SwaggerSchema = { type: "object", description, properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])) };
  if (required.length > 0) schema.required = required;
  return schema;
}

function fieldSchema(f: FieldSchema): SwaggerSchema {
  const s = swaggerType(f.type);
  if (hasExample(f)) s.example = f.example;
  return s;
}

function namesSchema(fields: FieldSchema[]): SwaggerSchema {
  const s: SwaggerSchema = { type: "array", items: { type: "string" } };
  if (fields.length > 0) s.example = fields.map((f) => f.name);
  return s;
}

/**
 * Rows of values. Swagger 2.0 has no per-position item types, so a row's items get the fields' common type (any
 * value when they differ or are unknown); the example is one row when every field has one.
 */
function rowsSchema(fields: FieldSchema[]): SwaggerSchema {
  const types = fields.map((f) => swaggerType(f.type));
  const same = types.length > 0 && types.every((t) => t.type === types[0].type && t.format === types[0].format);
  const s: SwaggerSchema = { type: "array", items: { type: "array", items: same ? types[0] : {} } };
  if (fields.length > 0 && fields.every(hasExample)) s.example = [fields.map((f) => f.example)];
  return s;
}

const hasExample = (f: FieldSchema) => f.example !== undefined && f.example !== null;
