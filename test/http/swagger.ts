// A strict Swagger 2.0 structure check for the documents omaf serves (no Swagger validator is among the
// dependencies): every object may hold only the fields Swagger 2.0 defines for it (plus `x-` extensions), and the
// rules a generated document can break are checked. Stricter than the spec where Odahu's clients need it: an array
// schema must say what its items are.
type Json = Record<string, any>;

const TOP = [
  "swagger",
  "info",
  "host",
  "basePath",
  "schemes",
  "consumes",
  "produces",
  "paths",
  "definitions",
  "parameters",
  "responses",
  "securityDefinitions",
  "security",
  "tags",
  "externalDocs",
];
const INFO = ["title", "version", "description", "termsOfService", "contact", "license"];
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];
const OPERATION = [
  "tags",
  "summary",
  "description",
  "externalDocs",
  "operationId",
  "consumes",
  "produces",
  "parameters",
  "responses",
  "schemes",
  "deprecated",
  "security",
];
const BODY_PARAMETER = ["name", "in", "description", "required", "schema"];
const RESPONSE = ["description", "schema", "headers", "examples"];
const SCHEMA = [
  "$ref",
  "format",
  "title",
  "description",
  "default",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxProperties",
  "minProperties",
  "required",
  "enum",
  "type",
  "items",
  "allOf",
  "properties",
  "additionalProperties",
  "discriminator",
  "readOnly",
  "xml",
  "externalDocs",
  "example",
];
const TYPES = ["object", "array", "string", "number", "integer", "boolean", "file"];

export interface SwaggerCheckOptions {
  /** Refuse any `$ref`: every schema must be written where it is used. */
  inline?: boolean;
}

/** The problems found in `doc` (none for a valid document). */
export function swaggerProblems(doc: Json, opts: SwaggerCheckOptions = {}): string[] {
  const problems: string[] = [];
  const fields = (obj: Json, allowed: readonly string[], at: string) => {
    for (const k of Object.keys(obj)) if (!allowed.includes(k) && !k.startsWith("x-")) problems.push(`${at}: "${k}" is not a Swagger 2.0 field here`);
  };
  const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
  const stringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");

  const schema = (s: unknown, at: string): void => {
    if (!isObject(s)) return void problems.push(`${at}: a schema must be an object`);
    fields(s, SCHEMA, at);
    if (s.type !== undefined && !TYPES.includes(s.type)) problems.push(`${at}: type ${JSON.stringify(s.type)}`);
    if (s.format !== undefined && typeof s.format !== "string") problems.push(`${at}: format must be a string`);
    if (s.type === "array" && s.items === undefined) problems.push(`${at}: an array schema needs items`);
    if (s.items !== undefined) schema(s.items, `${at}.items`);
    if (s.properties !== undefined) {
      if (!isObject(s.properties)) problems.push(`${at}: properties must be an object`);
      else for (const [p, ps] of Object.entries(s.properties)) schema(ps, `${at}.properties.${p}`);
    }
    if (s.required !== undefined) {
      if (!(stringList(s.required) && s.required.length > 0)) problems.push(`${at}: required must be a non-empty list of names`);
      else for (const name of s.required as string[]) if (!(name in (s.properties ?? {}))) problems.push(`${at}: required ${name} is not a property`);
    }
    if (s.$ref !== undefined) {
      if (opts.inline) problems.push(`${at}: $ref ${s.$ref} where an inline schema is expected`);
      const name = /^#\/definitions\/(.+)$/.exec(String(s.$ref))?.[1];
      if (!name || !(name in (doc.definitions ?? {}))) problems.push(`${at}: $ref ${s.$ref} resolves to nothing`);
    }
  };

  if (!isObject(doc)) return ["the document is not an object"];
  fields(doc, TOP, "document");
  if (doc.swagger !== "2.0") problems.push(`swagger is ${JSON.stringify(doc.swagger)}`);
  if (!isObject(doc.info) || typeof doc.info.title !== "string" || typeof doc.info.version !== "string") problems.push("info needs title and version strings");
  else fields(doc.info, INFO, "info");
  if (doc.basePath !== undefined && !String(doc.basePath).startsWith("/")) problems.push(`basePath ${doc.basePath} must start with /`);
  if (doc.schemes !== undefined && !(stringList(doc.schemes) && doc.schemes.every((x: string) => ["http", "https", "ws", "wss"].includes(x))))
    problems.push("schemes");
  for (const k of ["consumes", "produces"]) if (doc[k] !== undefined && !stringList(doc[k])) problems.push(`${k} must be a list of media types`);
  if (!isObject(doc.paths)) problems.push("paths is required");
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    if (!path.startsWith("/")) problems.push(`path ${path} must start with /`);
    fields(item, [...METHODS, "parameters", "$ref"], path);
    for (const method of METHODS) {
      const op = (item as Json)[method];
      if (op === undefined) continue;
      const at = `${path} ${method}`;
      fields(op, OPERATION, at);
      if (op.operationId !== undefined) {
        if (operationIds.has(op.operationId)) problems.push(`${at}: operationId ${op.operationId} is not unique`);
        operationIds.add(op.operationId);
      }
      const parameters = (op.parameters ?? []) as Json[];
      if (parameters.filter((p) => p.in === "body").length > 1) problems.push(`${at}: more than one body parameter`);
      for (const p of parameters) {
        if (typeof p.name !== "string" || !["query", "header", "path", "formData", "body"].includes(p.in))
          problems.push(`${at}: parameter ${JSON.stringify(p)}`);
        if (p.required !== undefined && typeof p.required !== "boolean") problems.push(`${at}: parameter ${p.name}: required must be a boolean`);
        if (p.in === "body") {
          fields(p, BODY_PARAMETER, `${at} parameter ${p.name}`);
          schema(p.schema, `${at} parameter ${p.name}`);
        } else if (typeof p.type !== "string") {
          problems.push(`${at}: parameter ${p.name} needs a type`);
        }
      }
      const responses = Object.entries((op.responses ?? {}) as Json);
      if (responses.length === 0) problems.push(`${at}: no responses`);
      for (const [code, r] of responses) {
        if (!/^([1-5]\d\d|default)$/.test(code)) problems.push(`${at}: response ${code}`);
        if (!isObject(r)) {
          problems.push(`${at} ${code}: a response must be an object`);
          continue;
        }
        fields(r, RESPONSE, `${at} ${code}`);
        if (typeof r.description !== "string") problems.push(`${at} ${code}: description is required`);
        if (r.schema !== undefined) schema(r.schema, `${at} ${code}`);
      }
    }
  }
  for (const [name, s] of Object.entries((doc.definitions ?? {}) as Json)) schema(s, `definitions.${name}`);
  return problems;
}
