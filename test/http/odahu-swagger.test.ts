// Odahu's GET /api/model/info, through fastify's inject(): the Swagger 2.0 document in the layout Odahu's own model
// server wrote (schemas inline at the invoke endpoint, examples from the model's info()), checked against a node
// model with get_info() examples and examples/python-sklearn. What info() answers and what the model predicts for the
// document's example are asked of the model itself (its module imported, or python run), not of omaf.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { buildSwagger } from "../../src/protocols/odahu/swagger.js";
import type { FieldSchema } from "../../src/runtime/model.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { IRIS_DIR, PYTHON } from "../python/fixtures.js";
import { inProcessApp, type InProcessApp } from "./in-process.js";
import { swaggerProblems } from "./swagger.js";

type Json = Record<string, any>;
const run = promisify(execFile);

/** A matrix model whose get_info() gives every field an example: rows [a, b] → [a * b, a / b]. */
const PRODUCT_MODEL = `export function init() { return "matrix"; }
export function predict_on_matrix(rows) { return [rows.map(([a, b]) => [a * b, a / b]), ["product", "ratio"]]; }
export function get_info() {
  return [
    [{ name: "a", type: "number", required: true, example: 1.5 }, { name: "b", type: "number", required: true, example: 4 }],
    [{ name: "product", type: "number", example: 6 }, { name: "ratio", type: "number", example: 0.375 }],
  ];
}
`;

/** An objects model with a schema: {text, repeat} → {echo}. */
const OBJECTS_MODEL = `export function init() { return "objects"; }
export function predict_on_objects(input) { return { echo: String(input.text).repeat(input.repeat ?? 1) }; }
export function get_info() {
  return [
    [{ name: "text", type: "str", required: true, example: "hi" }, { name: "repeat", type: "int", required: false, example: 2 }],
    [{ name: "echo", type: "str", example: "hihi" }],
  ];
}
`;

async function writeNodeModel(dir: string, name: string, source: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify({
      binaries: { type: "node", dependencies: "none" },
      model: { name, version: "2.1.0-3", workDir: "src", entrypoint: "model.mjs" },
      odahuflowVersion: "1.0",
      toolchain: { name: "omaf-test", version: "0.1.0" },
    }),
    "src/model.mjs": source,
  });
  return dir;
}

/** Runs python code in the python example's model folder (its entrypoint importable) and answers what it printed as JSON. */
async function pythonJson(code: string): Promise<unknown> {
  const workDir = join(IRIS_DIR, "odahuflow_model");
  const { stdout } = await run(PYTHON, ["-c", `import json, sys\nsys.path.insert(0, ${JSON.stringify(workDir)})\nimport entrypoint\n${code}`], {
    env: { ...process.env, MODEL_LOCATION: workDir },
  });
  return JSON.parse(stdout);
}

/** The body parameter and the 200 answer Odahu's server wrote for a matrix model with these info() schemas. */
function odahuLayout(inputs: FieldSchema[], outputs: FieldSchema[], cell: Json, outCell: Json) {
  return {
    parameter: {
      in: "body",
      name: "PredictionParameters",
      required: true,
      schema: {
        type: "object",
        properties: {
          columns: { type: "array", items: { type: "string" }, example: inputs.map((f) => f.name) },
          data: { type: "array", items: { type: "array", items: cell }, example: [inputs.map((f) => f.example)] },
        },
      },
    },
    response: {
      type: "object",
      properties: {
        prediction: { type: "array", items: { type: "array", items: outCell }, example: [outputs.map((f) => f.example)] },
        columns: { type: "array", items: { type: "string" }, example: outputs.map((f) => f.name) },
      },
    },
  };
}

const invokeOf = (doc: Json) => doc.paths["/api/model/invoke"].post;

describe("Odahu /api/model/info (Swagger 2.0 in Odahu's layout)", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let product: InProcessApp;
  let objects: InProcessApp;
  let python: InProcessApp;
  let productDir: string;
  before(async () => {
    tmp = await tempDir("omaf-odahu-swagger-");
    const cache = join(tmp.dir, "cache");
    productDir = await writeNodeModel(join(tmp.dir, "product"), "product", PRODUCT_MODEL);
    const objectsDir = await writeNodeModel(join(tmp.dir, "objects"), "echo-objects", OBJECTS_MODEL);
    [product, objects, python] = await Promise.all([
      inProcessApp(productDir, ["odahu"], cache),
      inProcessApp(objectsDir, ["odahu"], cache),
      inProcessApp(IRIS_DIR, ["odahu"], cache, { pythonOptions: { python: PYTHON, workers: 1, logger: { info() {}, warn() {}, error() {} } } }),
    ]);
  });
  after(async () => {
    await Promise.all([product?.close(), objects?.close(), python?.close()]);
    await tmp?.cleanup();
  });

  it("inlines the invoke schemas of a node model, with get_info()'s names and examples, in a strictly valid document", async () => {
    const mod = (await import(pathToFileURL(join(productDir, "src", "model.mjs")).href)) as { get_info(): [FieldSchema[], FieldSchema[]] };
    const [inputs, outputs] = mod.get_info();
    const res = await product.get("/api/model/info");
    assert.equal(res.status, 200, res.text);
    const doc = res.json as Json;
    assert.deepEqual(swaggerProblems(doc, { inline: true }), []);
    assert.equal(doc.definitions, undefined, "no definitions: nothing refers to them");
    const expected = odahuLayout(inputs, outputs, { type: "number" }, { type: "number" });
    assert.deepEqual(invokeOf(doc).parameters, [expected.parameter]);
    assert.deepEqual(invokeOf(doc).responses["200"].schema, expected.response);
    // The model's name, version and digest stay in `info`.
    assert.equal(doc.info.title, "Model API");
    assert.equal(doc.info.version, "2.1.0-3");
    assert.equal(doc.info["x-model-name"], "product");
    assert.equal(doc.info["x-artifact-digest"], product.dataplane.provenance.artifactDigest);
    assert.match(doc.info.description, /product 2\.1\.0-3 .*sha256:[0-9a-f]{64}/);

    // The document's own example is a request the model answers, in the documented shape.
    const { columns, data } = expected.parameter.schema.properties;
    const invoked = await product.post("/api/model/invoke", { columns: columns.example, data: data.example });
    assert.equal(invoked.status, 200, invoked.text);
    const [prediction, outColumns] = (mod as unknown as { predict_on_matrix(rows: unknown[][]): [unknown[][], string[]] }).predict_on_matrix(data.example);
    assert.deepEqual(invoked.json, { prediction, columns: outColumns });
    assert.deepEqual(Object.keys(invoked.json).sort(), Object.keys(expected.response.properties).sort());
  });

  it("inlines the invoke schemas of examples/python-sklearn from its info(), as Odahu's server did", async () => {
    const [inputs, outputs] = (await pythonJson("print(json.dumps(entrypoint.info()))")) as [FieldSchema[], FieldSchema[]];
    const res = await python.get("/api/model/info");
    assert.equal(res.status, 200, res.text);
    const doc = res.json as Json;
    assert.deepEqual(swaggerProblems(doc, { inline: true }), []);
    // Four number inputs; the output is a string (species), which the row items say.
    const expected = odahuLayout(inputs, outputs, { type: "number" }, { type: "string" });
    assert.deepEqual(invokeOf(doc).parameters, [expected.parameter]);
    assert.deepEqual(invokeOf(doc).responses["200"].schema, expected.response);
    assert.equal(doc.info["x-model-name"], "iris-sklearn");

    const { columns, data } = expected.parameter.schema.properties;
    const invoked = await python.post("/api/model/invoke", { columns: columns.example, data: data.example });
    assert.equal(invoked.status, 200, invoked.text);
    const own = await pythonJson(
      `entrypoint.init()\np, c = entrypoint.predict_on_matrix(${JSON.stringify(data.example)}, ${JSON.stringify(columns.example)})\nprint(json.dumps({"prediction": [list(r) for r in p], "columns": list(c)}))`,
    );
    assert.deepEqual(invoked.json, own);
  });

  it("describes an objects model's body and answer as inline objects of its fields", async () => {
    const res = await objects.get("/api/model/info");
    const doc = res.json as Json;
    assert.deepEqual(swaggerProblems(doc, { inline: true }), []);
    const [parameter] = invokeOf(doc).parameters;
    assert.deepEqual({ in: parameter.in, name: parameter.name, required: parameter.required }, { in: "body", name: "PredictionParameters", required: true });
    assert.equal(parameter.schema.type, "object");
    assert.deepEqual(parameter.schema.properties, { text: { type: "string", example: "hi" }, repeat: { type: "integer", format: "int32", example: 2 } });
    assert.deepEqual(parameter.schema.required, ["text"]);
    const response = invokeOf(doc).responses["200"].schema;
    assert.deepEqual(response.properties, { echo: { type: "string", example: "hihi" } });
    // The example body is one the model takes.
    const invoked = await objects.post("/api/model/invoke", { text: "hi", repeat: 2 });
    assert.deepEqual(invoked.json, { echo: "hihi" });
  });

  it("describes the generic forms while no model is loaded, and the checker itself finds broken documents", () => {
    const doc = buildSwagger({ modelName: "m", modelVersion: "1", artifactDigest: "sha256:00" }) as Json;
    assert.deepEqual(swaggerProblems(doc, { inline: true }), []);
    const { columns, data } = invokeOf(doc).parameters[0].schema.properties;
    assert.deepEqual(columns, { type: "array", items: { type: "string" } });
    assert.deepEqual(data, { type: "array", items: { type: "array", items: {} } });

    const broken: Array<[string, (d: Json) => void]> = [
      ["swagger 3", (d) => (d.swagger = "3.0")],
      ["a $ref", (d) => (invokeOf(d).parameters[0].schema = { $ref: "#/definitions/X" })],
      [
        "Odahu's own 200 answer (no schema, stray fields)",
        (d) => (invokeOf(d).responses["200"] = { description: "x", name: "PredictionResponse", properties: {} }),
      ],
      ["an array without items", (d) => delete invokeOf(d).parameters[0].schema.properties.data.items],
      ["an unknown schema field", (d) => (invokeOf(d).parameters[0].schema.minimumRows = 1)],
      ["a required name that is no property", (d) => (invokeOf(d).parameters[0].schema.required = ["rows"])],
    ];
    for (const [what, breakIt] of broken) {
      const copy = structuredClone(doc);
      breakIt(copy);
      assert.notDeepEqual(swaggerProblems(copy, { inline: true }), [], what);
    }
  });
});
