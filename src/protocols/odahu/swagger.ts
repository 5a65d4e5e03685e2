// The Swagger 2.0 document Odahu's model server answers at GET /api/model/info: the invoke endpoint, with request and
// response schemas built from the model's GPPI info() schemas. Odahu titles it "Model API"; omaf keeps that title and
// puts the model's name and version in `info` (version, description and x- vendor fields, all valid Swagger 2.0).
import type { FieldSchema, ModelMetadata } from "../../runtime/model.js";

/** A Swagger 2.0 Schema Object (the subset used here). */
export interface SwaggerSchema {
  type?: "object" | "array" | "string" | "number" | "integer" | "boolean";
  format?: string;
  description?: string;
  items?: SwaggerSchema;
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  minItems?: number;
  maxItems?: number;
  example?: unknown;
  $ref?: string;
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
  const definitions: Record<string, SwaggerSchema> = objects ? objectsDefinitions(metadata) : matrixDefinitions(metadata);
  return {
    swagger: "2.0",
    info: {
      title: "Model API",
      version: modelVersion,
      description: `Odahu model REST API of ${modelName} ${modelVersion} (artifact ${artifactDigest}).`,
      "x-model-name": modelName,
      "x-model-version": modelVersion,
      "x-artifact-digest": artifactDigest,
    },
    basePath: "/",
    schemes: ["http"],
    consumes: ["application/json"],
    produces: ["application/json"],
    paths: {
      "/api/model/invoke": {
        post: {
          summary: objects ? "Predict: the body is passed to the model as it is" : "Predict on rows of values",
          operationId: "invoke",
          parameters: [{ in: "body", name: "PredictionParameters", required: true, schema: { $ref: "#/definitions/PredictionParameters" } }],
          responses: {
            "200": { description: "The prediction", schema: { $ref: "#/definitions/PredictionResponse" } },
            "400": { description: "The request does not fit the model", schema: { $ref: "#/definitions/Error" } },
            "500": { description: "The model failed", schema: { $ref: "#/definitions/Error" } },
            "503": { description: "The model is not ready or the server is stopping", schema: { $ref: "#/definitions/Error" } },
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
            "200": { description: "Ready", schema: { $ref: "#/definitions/Health" } },
            "503": { description: "Not ready", schema: { $ref: "#/definitions/Health" } },
          },
        },
      },
    },
    definitions: {
      ...definitions,
      Error: {
        type: "object",
        properties: { message: { type: "string" }, code: { type: "string", description: "omaf error code, e.g. OMAF_ERR_BAD_INPUT" } },
        required: ["message"],
      },
      Health: { type: "object", properties: { status: { type: "boolean" } }, required: ["status"] },
    },
  };
}

/** `{"columns"?, "data": [[...]]}` in, `{"prediction": [[...]], "columns": [...]}` out, typed by the GPPI schemas. */
function matrixDefinitions(meta: ModelMetadata | undefined): Record<string, SwaggerSchema> {
  const inFields = meta?.inputSchema ?? [];
  const outFields = meta?.outputSchema ?? [];
  return {
    PredictionParameters: {
      type: "object",
      properties: {
        columns: columnsSchema(inFields, "Names of the values in each row; when given, one per value"),
        data: rowsSchema(inFields, "Rows to predict on"),
      },
      required: ["data"],
    },
    PredictionResponse: {
      type: "object",
      properties: {
        prediction: rowsSchema(outFields, "One prediction row per input row"),
        columns: columnsSchema(outFields, "Names of the values in each prediction row"),
      },
      required: ["prediction"],
    },
  };
}

/** Objects models: the body goes to the model as it is; the schemas list the GPPI fields as properties. */
function objectsDefinitions(meta: ModelMetadata): Record<string, SwaggerSchema> {
  return {
    PredictionParameters: objectSchema(meta.inputSchema, "The request object, passed to predict_on_objects() as it is"),
    PredictionResponse: objectSchema(meta.outputSchema, "What predict_on_objects() answered"),
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
  if (f.example !== undefined && f.example !== null) s.example = f.example;
  return s;
}

function columnsSchema(fields: FieldSchema[], description: string): SwaggerSchema {
  const s: SwaggerSchema = { type: "array", description, items: { type: "string" } };
  if (fields.length > 0) s.example = fields.map((f) => f.name);
  return s;
}

/**
 * Rows of values. Swagger 2.0 has no per-position item types, so a row's items get the fields' common type (any
 * value when they differ), the description lists each position, and the width is fixed when the fields are known.
 */
function rowsSchema(fields: FieldSchema[], description: string): SwaggerSchema {
  const types = fields.map((f) => swaggerType(f.type));
  const same = types.length > 0 && types.every((t) => t.type === types[0].type && t.format === types[0].format);
  const row: SwaggerSchema = { type: "array", items: same ? types[0] : {} };
  if (fields.length > 0) {
    row.minItems = fields.length;
    row.maxItems = fields.length;
    row.description = fields.map((f, i) => `${i}: ${f.name} (${f.type}${f.required ? ", required" : ""})`).join("; ");
  }
  const s: SwaggerSchema = { type: "array", description, items: row };
  if (fields.length > 0 && fields.every((f) => f.example !== undefined && f.example !== null)) s.example = [fields.map((f) => f.example)];
  return s;
}
