// Odahu REST against a real `omaf serve` process: /healthcheck, /api/model/info (Swagger 2.0), /api/model/invoke,
// the Model-Name / Model-Version / request-id headers, `{"message"}` errors, its own port or the shared one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeBehaveModel, writeNoColumnsModel, writeSumModel, type ServeProcess } from "../helpers/serve.js";
import { assertProvenance, freePort, http } from "./helpers.js";

type Json = Record<string, any>;

const SCHEMA_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "file"]);
const SCHEMA_KEYS = new Set([
  "$ref", "format", "title", "description", "default", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
  "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "enum",
  "type", "items", "allOf", "properties", "additionalProperties", "discriminator", "readOnly", "xml", "externalDocs", "example",
]);

/** Checks the Swagger 2.0 rules a document like this can break; answers the problems found. */
function swaggerProblems(doc: Json): string[] {
  const problems: string[] = [];
  const schema = (s: unknown, at: string): void => {
    if (s === null || typeof s !== "object" || Array.isArray(s)) return void problems.push(`${at}: a schema must be an object`);
    for (const [k, v] of Object.entries(s as Json)) {
      if (!SCHEMA_KEYS.has(k) && !k.startsWith("x-")) problems.push(`${at}: "${k}" is not a Swagger 2.0 schema field`);
      if (k === "type" && !SCHEMA_TYPES.has(v as string)) problems.push(`${at}: type ${JSON.stringify(v)}`);
      if (k === "items") schema(v, `${at}.items`);
      if (k === "properties") for (const [p, ps] of Object.entries(v as Json)) schema(ps, `${at}.properties.${p}`);
      if (k === "required" && !(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"))) problems.push(`${at}: required must be a non-empty string list`);
      if (k === "$ref") {
        const name = /^#\/definitions\/(.+)$/.exec(v as string)?.[1];
        if (!name || !(name in (doc.definitions ?? {}))) problems.push(`${at}: $ref ${v} resolves to nothing`);
      }
    }
  };
  if (doc.swagger !== "2.0") problems.push(`swagger is ${JSON.stringify(doc.swagger)}`);
  if (typeof doc.info?.title !== "string" || typeof doc.info?.version !== "string") problems.push("info needs title and version strings");
  for (const k of Object.keys(doc.info ?? {})) if (!["title", "version", "description", "termsOfService", "contact", "license"].includes(k) && !k.startsWith("x-")) problems.push(`info.${k}`);
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    if (!path.startsWith("/")) problems.push(`path ${path} must start with /`);
    for (const [method, op] of Object.entries(item as Json)) {
      if (!["get", "put", "post", "delete", "options", "head", "patch"].includes(method)) problems.push(`${path}: ${method}`);
      const responses = Object.entries((op.responses ?? {}) as Json);
      if (responses.length === 0) problems.push(`${path} ${method}: no responses`);
      for (const [code, r] of responses) {
        if (!/^([1-5]\d\d|default)$/.test(code)) problems.push(`${path} ${method}: response ${code}`);
        if (typeof r.description !== "string") problems.push(`${path} ${method} ${code}: description is required`);
        if (r.schema) schema(r.schema, `${path} ${method} ${code}`);
      }
      for (const p of (op.parameters ?? []) as Json[]) {
        if (typeof p.name !== "string" || !["query", "header", "path", "formData", "body"].includes(p.in)) problems.push(`${path} ${method}: parameter ${JSON.stringify(p)}`);
        if (p.in === "body") schema(p.schema, `${path} ${method} body`);
      }
    }
  }
  for (const [name, s] of Object.entries((doc.definitions ?? {}) as Json)) schema(s, `definitions.${name}`);
  return problems;
}

describe("Odahu REST", () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let sum: ServeProcess;
  let base: string;
  before(async () => {
    root = await tempDir("omaf-odahu-");
    sum = await startServe(await writeSumModel(join(root.dir, "sum")), { args: ["--interfaces", "odahu"] });
    base = sum.url("Odahu REST");
  });
  after(async () => {
    await sum?.kill();
    await root?.cleanup();
  });

  it("answers /healthcheck with Model-Name, Model-Version and the echoed request-id", async () => {
    const res = await http(`${base}/healthcheck`, { headers: { "request-id": "odahu-req-7" } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: true });
    assert.equal(res.headers.get("model-name"), "sum-check");
    assert.equal(res.headers.get("model-version"), "1.0.0-1");
    assert.equal(res.headers.get("request-id"), "odahu-req-7");
    assert.equal(res.headers.get("x-request-id"), "odahu-req-7");
    assertProvenance(res, "sum-check", "1.0.0-1");
  });

  it("describes the invoke endpoint in a valid Swagger 2.0 document built from the model's schemas", async () => {
    const res = await http(`${base}/api/model/info`);
    assert.equal(res.status, 200);
    const doc = res.json as Json;
    assert.deepEqual(swaggerProblems(doc), []);
    assert.equal(doc.info.title, "Model API");
    assert.equal(doc.info.version, "1.0.0-1");
    assert.equal(doc.info["x-model-name"], "sum-check");
    const post = doc.paths["/api/model/invoke"].post;
    assert.equal(post.parameters[0].in, "body");
    const params = doc.definitions.PredictionParameters;
    assert.deepEqual(params.required, ["data"]);
    assert.deepEqual(params.properties.columns.example, ["a", "b"]);
    assert.equal(params.properties.data.items.items.type, "number");
    assert.equal(params.properties.data.items.minItems, 2);
    assert.deepEqual(doc.definitions.PredictionResponse.properties.columns.example, ["sum"]);
    // The checker itself finds a broken document.
    assert.notDeepEqual(swaggerProblems({ ...doc, swagger: "3.0", definitions: {} }), []);
  });

  it("answers \"columns\": null when the model names no output columns, as Odahu's server did", async () => {
    const proc = await startServe(await writeNoColumnsModel(join(root.dir, "no-columns")), { args: ["--interfaces", "odahu"] });
    try {
      const res = await http(`${proc.url("Odahu REST")}/api/model/invoke`, { body: { data: [[5, 6], [7, 8]] } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, '{"prediction":[[5],[7]],"columns":null}');
    } finally {
      await proc.kill();
    }
  });

  it("invokes with and without columns; errors keep the message key", async () => {
    const withColumns = await http(`${base}/api/model/invoke`, { body: { columns: ["a", "b"], data: [[1, 2], [3, 4]] } });
    assert.equal(withColumns.status, 200, withColumns.text);
    assert.deepEqual(withColumns.json, { prediction: [[3], [7]], columns: ["sum"] });
    assert.equal(withColumns.headers.get("model-name"), "sum-check");
    assert.ok(withColumns.headers.get("request-id"), "a request id is made when none is sent");
    assert.equal(withColumns.headers.get("request-id"), withColumns.headers.get("x-request-id"));
    const bare = await http(`${base}/api/model/invoke`, { body: { data: [[20, 22]] } });
    assert.deepEqual(bare.json, { prediction: [[42]], columns: ["sum"] });

    const cases: Array<[unknown, number, string]> = [
      [{ data: [[1, 2, 3]] }, 400, "OMAF_ERR_BAD_INPUT"],
      [{ columns: ["a"], data: [[1, 2]] }, 400, "OMAF_ERR_BAD_INPUT"],
      ["[[1, 2]", 400, "OMAF_ERR_BAD_INPUT"],
      [{ data: [[-1, 2]] }, 500, "OMAF_ERR_PREDICT"],
    ];
    for (const [body, status, code] of cases) {
      const res = await http(`${base}/api/model/invoke`, { body });
      assert.equal(res.status, status, res.text);
      const json = res.json as { message: string; code: string };
      assert.equal(json.code, code);
      assert.equal(typeof json.message, "string");
      assert.equal("error" in json, false);
      assert.equal(res.headers.get("model-name"), "sum-check");
    }
    // Unknown routes on an Odahu-only port answer in Odahu's shape too.
    const missing = await http(`${base}/v1/models`);
    assert.equal(missing.status, 404);
    assert.equal(typeof (missing.json as { message: string }).message, "string");
  });

  it("passes an objects model's body through; ODAHU_MODEL_NAME/VERSION override the reported names; own port", async () => {
    const odahuPort = await freePort();
    const proc = await startServe(await writeBehaveModel(join(root.dir, "behave")), {
      args: ["--interfaces", "kserve-v1,odahu", "--odahu-port", String(odahuPort)],
      env: { ODAHU_MODEL_NAME: "legacy-name", ODAHU_MODEL_VERSION: "7.0" },
    });
    try {
      assert.deepEqual(proc.listeners.map((l) => l.label).sort(), ["KServe v1", "Odahu REST"]);
      const url = proc.url("Odahu REST");
      assert.equal(url, `http://127.0.0.1:${odahuPort}`);
      assert.notEqual(proc.url("KServe v1"), url);
      const res = await http(`${url}/api/model/invoke`, { body: { text: "hello", n: [1, 2] } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { echo: { text: "hello", n: [1, 2] } });
      assert.equal(res.headers.get("model-name"), "legacy-name");
      assert.equal(res.headers.get("model-version"), "7.0");
      // Provenance headers keep the manifest's names.
      assertProvenance(res, "behave", "1.0.0-1");
      const info = (await http(`${url}/api/model/info`)).json as Json;
      assert.deepEqual(swaggerProblems(info), []);
      assert.equal(info.info.version, "7.0");
      assert.equal(info.info["x-model-name"], "legacy-name");
      // The ports are separate: no KServe routes on the Odahu port, no Odahu routes on the HTTP port.
      assert.equal((await http(`${url}/v1/models`)).status, 404);
      assert.equal((await http(`${proc.url("KServe v1")}/healthcheck`)).status, 404);
    } finally {
      await proc.kill();
    }
  });
});
