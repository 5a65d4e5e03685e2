// The node environment through the Model interface: the examples, entrypoint forms, and every error code.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createModel } from "../../src/runtime/load.js";
import { example, manifestFor, rejectsWith, TempModels } from "./helpers.js";

const temp = new TempModels();
after(() => temp.cleanup());

/** A node model whose entrypoint is `src/<file>` with the given source. */
async function nodeModel(file: string, source: string, extra: Record<string, string> = {}) {
  const dir = await temp.create({ [`src/${file}`]: source, ...extra });
  return { dir, model: createModel({ dir, manifest: manifestFor("node", file) }) };
}

describe("node examples", () => {
  test("node-matrix (TypeScript, async init, entrypoint without extension)", async () => {
    const { dir, manifest } = await example("node-matrix");
    assert.equal(manifest.model.entrypoint, "model");
    const model = createModel({ dir, manifest, provenance: { artifactDigest: "sha256:" + "ab".repeat(32) } });
    await model.load();
    await model.load(); // idempotent
    const meta = model.metadata();
    assert.equal(meta.name, "sum-matrix");
    assert.equal(meta.version, "1.0.0-1");
    assert.equal(meta.environment, "node");
    assert.equal(meta.mode, "matrix");
    assert.equal(meta.artifactDigest, "sha256:" + "ab".repeat(32));
    assert.deepEqual(
      meta.inputSchema?.map((f) => f.name),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      meta.outputSchema?.map((f) => f.name),
      ["sum", "score"],
    );
    assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP64", shape: [-1, 3] }]);
    assert.deepEqual(meta.outputs, [{ name: "prediction", datatype: "FP64", shape: [-1, 2] }]);

    // weights 0.5, -1, 2 and bias 1 (examples/node-matrix/src/weights.json)
    const out = await model.predictMatrix({
      data: [
        [1, 2, 3],
        [0, 0, 0],
      ],
    });
    assert.deepEqual(out, {
      prediction: [
        [6, 5.5],
        [0, 1],
      ],
      columns: ["sum", "score"],
    });
    // Named columns in another order are put back in the model's order by the model itself.
    const reordered = await model.predictMatrix({ data: [[3, 1, 2]], columns: ["c", "a", "b"] });
    assert.deepEqual(reordered.prediction, [[6, 5.5]]);
    await model.close();
  });

  test("node-objects (JavaScript, sync init, object types)", async () => {
    const { dir, manifest } = await example("node-objects");
    const model = createModel({ dir, manifest });
    await model.load();
    const meta = model.metadata();
    assert.equal(meta.mode, "objects");
    assert.equal(meta.name, "sentiment-objects");
    assert.deepEqual(meta.inputs, []);
    assert.deepEqual(
      meta.inputSchema?.map((f) => f.name),
      ["text"],
    );
    assert.equal((meta.objectInputType as { type: string }).type, "object");
    assert.ok(meta.objectOutputType);
    const out = await model.predictObjects([{ text: "Great product, fast delivery" }, { text: "slow and broken" }, { text: "ok" }]);
    assert.deepEqual(out, [
      { label: "positive", score: 2, positive: 2, negative: 0 },
      { label: "negative", score: -2, positive: 0, negative: 2 },
      { label: "neutral", score: 0, positive: 0, negative: 0 },
    ]);
    await rejectsWith(model.predictMatrix({ data: [[1]] }), "OMAF_ERR_NOT_IMPLEMENTED");
    await rejectsWith(model.predictObjects({ text: 42 }), "OMAF_ERR_PREDICT", /'text' string/);
  });

  test("an example copied out of the repository (no package.json above it) still loads", async () => {
    const dir = await temp.create({});
    await cp((await example("node-matrix")).dir, dir, { recursive: true });
    const { manifest } = await example("node-matrix");
    const model = createModel({ dir, manifest });
    await model.load();
    assert.deepEqual((await model.predictMatrix({ data: [[1, 1, 1]] })).prediction, [[3, 2.5]]);
  });
});

describe("node entrypoints", () => {
  test("MODEL_LOCATION is the model folder, set before the module runs", async () => {
    const { dir, model } = await nodeModel(
      "loc.mjs",
      `const atImport = process.env.MODEL_LOCATION;
       export const init = () => "matrix";
       export const predict_on_matrix = (m) => [[[atImport, process.env.MODEL_LOCATION]], ["a", "b"]];`,
    );
    await model.load();
    const out = await model.predictMatrix({ data: [[1]] });
    assert.deepEqual(out.prediction, [[join(dir, "src"), join(dir, "src")]]);
  });

  test("TypeScript entrypoint with types and a relative .js import of a .ts file", async () => {
    const { model } = await nodeModel(
      "model.ts",
      `import { twice } from "./util.js";
       export function init(): "matrix" { return "matrix"; }
       export function predict_on_matrix(m: number[][]): { prediction: number[][]; columns: string[] } {
         return { prediction: m.map((r) => r.map(twice)), columns: ["x"] };
       }`,
      { "src/util.ts": "export const twice = (n: number): number => n * 2;" },
    );
    await model.load();
    assert.deepEqual(await model.predictMatrix({ data: [[2], [5]] }), { prediction: [[4], [10]], columns: ["x"] });
  });

  test(".mts entrypoint found from an extensionless name", async () => {
    const dir = await temp.create({
      "src/m.mts": `export const init = async () => "objects"; export const predict_on_objects = async (o: unknown) => ({ echo: o });`,
    });
    const model = createModel({ dir, manifest: manifestFor("node", "m") });
    await model.load();
    assert.deepEqual(await model.predictObjects({ a: 1 }), { echo: { a: 1 } });
  });

  test("CommonJS entrypoint exporting an object (module.exports)", async () => {
    const { model } = await nodeModel(
      "model.cjs",
      `const api = { init() { return "matrix"; }, predict_on_matrix(m) { return [m.map((r) => [r.length]), ["n"]]; } };
       module.exports = api;`,
    );
    await model.load();
    assert.deepEqual((await model.predictMatrix({ data: [[1, 2, 3]] })).prediction, [[3]]);
  });

  test("default-exported object, info() alias, typed-array rows, output schema as default columns", async () => {
    const { model } = await nodeModel(
      "model.mjs",
      `export default {
         init: () => "matrix",
         info: () => [[{ name: "x", type: "int64" }], [{ name: "y", type: "float" }]],
         predict_on_matrix: (m) => [m.map((r) => Float64Array.from([r[0] + 0.5])), null],
       };`,
    );
    await model.load();
    const meta = model.metadata();
    assert.deepEqual(meta.inputSchema, [{ name: "x", type: "int64" }]);
    assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP64", shape: [-1, 1] }]);
    assert.deepEqual(await model.predictMatrix({ data: [[1], [2]] }), { prediction: [[1.5], [2.5]], columns: ["y"] });
    // The input schema has one column: wider rows are refused before the model sees them.
    await rejectsWith(model.predictMatrix({ data: [[1, 2]] }), "OMAF_ERR_BAD_INPUT", /1 columns/);
  });

  test("mixed schema types give no tensor view", async () => {
    const { model } = await nodeModel(
      "model.mjs",
      `export const init = () => "matrix";
       export const get_info = () => ({ input: [{ name: "a", type: "number" }, { name: "b", type: "string" }], output: [{ name: "c", type: "bool" }] });
       export const predict_on_matrix = (m) => [m, null];`,
    );
    await model.load();
    assert.deepEqual(model.metadata().inputs, []);
    assert.deepEqual(model.metadata().outputs, [{ name: "prediction", datatype: "BOOL", shape: [-1, 1] }]);
  });

  test("get_output_json_serializer: a function, and an object with stringify", async () => {
    const fn = await nodeModel(
      "model.mjs",
      `export const init = () => "objects";
       export const predict_on_objects = () => ({ when: new Date(0), big: 12n });
       export const get_output_json_serializer = () => (v) => JSON.stringify(v, (k, x) => typeof x === "bigint" ? x.toString() : x);`,
    );
    await fn.model.load();
    assert.deepEqual(await fn.model.predictObjects({}), { when: "1970-01-01T00:00:00.000Z", big: "12" });

    const obj = await nodeModel(
      "model.mjs",
      `export const init = () => "matrix";
       export const predict_on_matrix = (m) => [[[1.23456]], ["r"]];
       export const get_output_json_serializer = () => ({ digits: 2, stringify(v) { return JSON.stringify(v, (k, x) => typeof x === "number" ? Number(x.toFixed(this.digits)) : x); } });`,
    );
    await obj.model.load();
    assert.deepEqual(await obj.model.predictMatrix({ data: [[0]] }), { prediction: [[1.23]], columns: ["r"] });
  });

  test("metadata() and predict before load() → OMAF_ERR_MODEL_NOT_READY", async () => {
    const { dir, manifest } = await example("node-objects");
    const model = createModel({ dir, manifest });
    await rejectsWith(() => model.metadata(), "OMAF_ERR_MODEL_NOT_READY");
    await rejectsWith(model.predictObjects({ text: "x" }), "OMAF_ERR_MODEL_NOT_READY");
  });
});

describe("node model errors", () => {
  test("missing init → OMAF_ERR_ENTRYPOINT_FUNCTION naming function and file", async () => {
    const { model } = await nodeModel("noinit.mjs", `export const predict_on_matrix = () => [[], []];`);
    const err = await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /init\(\)/);
    assert.match(err.message, /src\/noinit\.mjs/);
    assert.deepEqual(err.details, { file: "src/noinit.mjs", function: "init" });
    // The next load tries again (and fails the same way while the module is unchanged).
    await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION");
    await rejectsWith(() => model.metadata(), "OMAF_ERR_MODEL_NOT_READY");
  });

  test("a failed init is retried by the next load(), which can then succeed", async () => {
    // Each load starts the model afresh (new worker threads), so what changed between the loads is outside it.
    const { dir, model } = await nodeModel(
      "flaky.mjs",
      `import { existsSync } from "node:fs";
import { join } from "node:path";
let calls = 0;
export const init = () => { calls++; if (!existsSync(join(process.env.MODEL_LOCATION, "db-up"))) throw new Error("database not up yet"); return "matrix"; };
export const predict_on_matrix = (rows) => [rows.map(() => [calls]), ["calls"]];`,
    );
    await rejectsWith(model.load(), "OMAF_ERR_MODEL_INIT", /database not up yet/);
    await writeFile(join(dir, "src", "db-up"), "");
    await model.load();
    assert.deepEqual(await model.predictMatrix({ data: [[1]] }), { prediction: [[1]], columns: ["calls"] });
  });

  test("init that is not a function → OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
    const { model } = await nodeModel("m.mjs", `export const init = "matrix";`);
    await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /init in src\/m\.mjs is not a function/);
  });

  test("init returning 'banana' → OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
    const { model } = await nodeModel("m.mjs", `export const init = () => "banana"; export const predict_on_matrix = () => 1;`);
    await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /"banana".*'matrix', 'objects' or 'tensors'/);
  });

  test("missing predict_on_matrix (matrix mode) → OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
    const { model } = await nodeModel("m.mjs", `export const init = () => "matrix"; export const predict_on_objects = () => 1;`);
    const err = await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /predict_on_matrix/);
    assert.match(err.message, /src\/m\.mjs/);
  });

  test("missing predict_on_objects (objects mode) → OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
    const { model } = await nodeModel("m.mjs", `export const init = () => "objects";`);
    await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /predict_on_objects/);
  });

  test("syntax error in the module → OMAF_ERR_ENTRYPOINT_LOAD with the underlying message", async () => {
    const js = await nodeModel("broken.mjs", `export const init = ( => "matrix";`);
    const err = await rejectsWith(js.model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /src\/broken\.mjs/);
    assert.match(err.message, /Unexpected token|SyntaxError|Unexpected/i);

    const ts = await nodeModel("broken.ts", `export function init(: string { return "matrix" }`);
    await rejectsWith(ts.model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /src\/broken\.ts/);
  });

  test("module throwing at import, or importing a missing package → OMAF_ERR_ENTRYPOINT_LOAD", async () => {
    const throws = await nodeModel("m.mjs", `throw new Error("no weights here");`);
    await rejectsWith(throws.model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /no weights here/);
    const missing = await nodeModel("m.mjs", `import "omaf-no-such-package-xyz"; export const init = () => "matrix";`);
    await rejectsWith(missing.model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /omaf-no-such-package-xyz/);
  });

  test("init throwing (sync and async) → OMAF_ERR_MODEL_INIT with the model's message", async () => {
    const sync = await nodeModel("m.mjs", `export const init = () => { throw new Error("weights corrupt"); };`);
    await rejectsWith(sync.model.load(), "OMAF_ERR_MODEL_INIT", /weights corrupt/);
    const asyncInit = await nodeModel("m.mjs", `export const init = async () => { throw new Error("no GPU"); };`);
    await rejectsWith(asyncInit.model.load(), "OMAF_ERR_MODEL_INIT", /no GPU/);
  });

  test("predict throwing → OMAF_ERR_PREDICT with the model's message", async () => {
    const { model } = await nodeModel(
      "m.mjs",
      `export const init = () => "matrix"; export const predict_on_matrix = async () => { throw new Error("cannot divide by zero"); };`,
    );
    await model.load();
    await rejectsWith(model.predictMatrix({ data: [[1]] }), "OMAF_ERR_PREDICT", /cannot divide by zero/);
  });

  test("predict answering a bad shape → OMAF_ERR_PREDICT", async () => {
    const { model } = await nodeModel("m.mjs", `export const init = () => "matrix"; export const predict_on_matrix = () => 42;`);
    await model.load();
    await rejectsWith(model.predictMatrix({ data: [[1]] }), "OMAF_ERR_PREDICT", /\[prediction, columns\]/);
  });

  test("bad matrix input → OMAF_ERR_BAD_INPUT before the model is called", async () => {
    const { model } = await nodeModel(
      "m.mjs",
      `let calls = 0;
       export const init = () => "matrix";
       export const predict_on_matrix = (m) => [m.map((row) => [...row, ++calls]), null];`,
    );
    await model.load();
    const cases: unknown[] = [
      { data: [1, 2, 3] },
      { data: "1,2" },
      { data: [] },
      {},
      { data: [[1, 2], [3]] },
      { data: [[1, 2], 7] },
      { data: [[1, 2]], columns: ["a"] },
      { data: [[1, 2]], columns: "a,b" },
    ];
    for (const input of cases) {
      await rejectsWith(model.predictMatrix(input as never), "OMAF_ERR_BAD_INPUT");
    }
    // The first call that reaches the model is call 1.
    assert.deepEqual(await model.predictMatrix({ data: [[1, 2]], columns: ["a", "b"] }), { prediction: [[1, 2, 1]] });
  });

  test("bad get_info answer → OMAF_ERR_ENTRYPOINT_FUNCTION; get_info throwing → OMAF_ERR_MODEL_INIT", async () => {
    const badInfo = await nodeModel(
      "m.mjs",
      `export const init = () => "matrix"; export const predict_on_matrix = () => [[], []]; export const get_info = () => "nope";`,
    );
    await rejectsWith(badInfo.model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /get_info/);
    const noName = await nodeModel(
      "m.mjs",
      `export const init = () => "matrix"; export const predict_on_matrix = () => [[], []]; export const get_info = () => [[{ type: "x" }], []];`,
    );
    await rejectsWith(noName.model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /no name/);
    const throwing = await nodeModel(
      "m.mjs",
      `export const init = () => "matrix"; export const predict_on_matrix = () => [[], []]; export const get_info = () => { throw new Error("info boom"); };`,
    );
    await rejectsWith(throwing.model.load(), "OMAF_ERR_MODEL_INIT", /info boom/);
  });

  test("bad serializer → OMAF_ERR_ENTRYPOINT_FUNCTION at load; one that fails → OMAF_ERR_PREDICT", async () => {
    const bad = await nodeModel(
      "m.mjs",
      `export const init = () => "objects"; export const predict_on_objects = () => 1; export const get_output_json_serializer = () => 5;`,
    );
    await rejectsWith(bad.model.load(), "OMAF_ERR_ENTRYPOINT_FUNCTION", /get_output_json_serializer/);
    const failing = await nodeModel(
      "m.mjs",
      `export const init = () => "objects"; export const predict_on_objects = () => 1; export const get_output_json_serializer = () => () => "{not json";`,
    );
    await failing.model.load();
    await rejectsWith(failing.model.predictObjects({}), "OMAF_ERR_PREDICT", /serializer/);
  });

  test("entrypoint that does not exist or escapes the root → OMAF_ERR_ENTRYPOINT / OMAF_ERR_WORKDIR", async () => {
    const dir = await temp.create({ "src/real.mjs": `export const init = () => "matrix";` });
    await rejectsWith(createModel({ dir, manifest: manifestFor("node", "ghost") }).load(), "OMAF_ERR_ENTRYPOINT", /ghost/);
    await rejectsWith(createModel({ dir, manifest: manifestFor("node", "../../etc/passwd") }).load(), "OMAF_ERR_ENTRYPOINT");
    await rejectsWith(createModel({ dir, manifest: manifestFor("node", "real", "../..") }).load(), "OMAF_ERR_WORKDIR");
  });
});

describe("environment choice", () => {
  test("java (GJPI) runs in JVM workers: a JAR that is not a ZIP → OMAF_ERR_ENTRYPOINT_LOAD on load", async () => {
    const dir = await temp.create({ "src/model.jar": "PK" });
    const quiet = { info() {}, warn() {}, error() {} };
    const model = createModel({ dir, manifest: manifestFor("java", "model.jar"), javaOptions: { workers: 1, logger: quiet } });
    await rejectsWith(model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /cannot open the model JAR/);
    await rejectsWith(model.predictMatrix({ data: [[1]] }), "OMAF_ERR_MODEL_NOT_READY");
    await model.close();
  });

  test("an unknown binaries.type → OMAF_ERR_BINARIES_TYPE", async () => {
    const manifest = manifestFor("node", "x");
    (manifest.binaries as { type: string }).type = "ruby";
    await rejectsWith(() => createModel({ dir: "/nonexistent", manifest }), "OMAF_ERR_BINARIES_TYPE");
  });
});
