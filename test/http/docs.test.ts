// The docs page's OpenAPI document, from a real `omaf serve` of several models: valid by a real OpenAPI validator
// (@readme/openapi-parser), each model's tensor schemas as its metadata reports them, and example requests that fit
// those schemas and that the server answers — over OIP v2 and KServe v1, for tensor-native, declared-contract, matrix
// (a CSV sample mixing strings and numbers) and objects models, and for each of two versions of one model. Also: the
// per-model and per-version documents, the routes each listener's protocols give, Swagger UI's files and the pages'
// relative links, a lazy model left unloaded by the document of every model, and models unloaded and loaded again.
// The page itself is driven in a browser by docs-browser.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { validate } from "@readme/openapi-parser";
import { Ajv } from "ajv";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import { ModelRegistry } from "../../src/registry/registry.js";
import { createModel } from "../../src/runtime/load.js";
import { buildHttpApp } from "../../src/server/http-listener.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { nodeManifest, startServe, type ServeProcess } from "../helpers/serve.js";
import { http } from "./helpers.js";
import { inProcessApp } from "./in-process.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

type Json = Record<string, any>;

/** An objects model `echo` of `version` answering `{version, echo}`, whose manifest names `sample` as its sample input. */
async function writeEchoModel(dir: string, version: string, sample: Record<string, string>): Promise<string> {
  const [file] = Object.keys(sample);
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("echo", "model.mjs", { version, sample: { input: file } }),
    "src/model.mjs": `export const init = () => "objects";
export const predict_on_objects = (input) => ({ version: ${JSON.stringify(version)}, echo: input });
`,
    ...sample,
  });
  return dir;
}

/** A matrix model `labels` whose CSV sample mixes strings and numbers: each row [name, x] → ["name=2x"], by column name. */
async function writeLabelsModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("labels", "model.mjs", { sample: { input: "samples/rows.csv" } }),
    "src/model.mjs": `export const init = () => "matrix";
export function predict_on_matrix(rows, columns) {
  const name = columns.indexOf("name");
  const x = columns.indexOf("x");
  if (name < 0 || x < 0) throw new Error("columns name and x are needed");
  return [rows.map((r) => [String(r[name]) + "=" + r[x] * 2]), ["label"]];
}
`,
    "samples/rows.csv": "x,name\n1.5,first\n4,second\n",
  });
  return dir;
}

/** Every POST operation of `doc` with an example body: its path and the example. */
function examples(doc: Json): { path: string; example: unknown; schema: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>)
    .filter(([, item]) => item.post?.requestBody?.content?.["application/json"]?.example !== undefined)
    .map(([path, item]) => ({
      path,
      example: item.post.requestBody.content["application/json"].example,
      schema: item.post.requestBody.content["application/json"].schema,
    }));
}

/** The example fits the request schema (OpenAPI 3.0's schema keywords, `$ref`s into the document's components). */
function assertFits(doc: Json, schema: Json, example: unknown, where: string): void {
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const check = ajv.compile({ ...schema, components: doc.components });
  assert.ok(check(example), `${where}: the example does not fit its schema: ${ajv.errorsText(check.errors)}`);
}

async function assertValid(doc: Json, where: string): Promise<void> {
  const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
  assert.ok(result.valid, `${where} is not valid OpenAPI: ${JSON.stringify(result.valid ? [] : result.errors, null, 1)}`);
  assert.equal(doc.openapi, "3.0.3");
}

describe("the OpenAPI document of a server of several models", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let base: string;
  let doc: Json;

  before(async () => {
    tmp = await tempDir("omaf-docs-");
    const v1 = await writeEchoModel(join(tmp.dir, "echo-1"), "1.0.0-1", {
      "samples/infer.json": JSON.stringify({ inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: ['{"from": "an OIP request"}'] }] }),
    });
    const v2 = await writeEchoModel(join(tmp.dir, "echo-2"), "2.0.0-1", { "samples/in.jsonl": '{"from": "a JSON line"}\n{"from": "another"}\n' });
    const labels = await writeLabelsModel(join(tmp.dir, "labels"));
    server = await startServe([join(EXAMPLES, "iris-onnx"), join(EXAMPLES, "node-tensors"), join(EXAMPLES, "node-objects"), labels, v1, v2], {
      args: ["--interfaces", "oip-rest,kserve-v1", "--node-in-process", "--no-inference-log"],
    });
    base = server.url("OIP v2 REST");
    const answer = await http(`${base}/v2/docs/openapi.json`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
    doc = answer.json as Json;
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("is valid OpenAPI 3.0.3 by @readme/openapi-parser (which refuses a broken copy)", async () => {
    await assertValid(doc, "/v2/docs/openapi.json");
    const broken = structuredClone(doc);
    broken.paths["/v2/models/iris-onnx/infer"].post.responses["200"].content["application/json"].schema.type = "tensor";
    assert.equal((await validate(broken as Parameters<typeof validate>[0])).valid, false, "the validator finds a bad schema type");
    assert.deepEqual(doc.servers, [{ url: "../..", description: "this server" }]);
    // Server-wide routes of both protocols, and every model's.
    for (const path of ["/v2", "/v2/health/ready", "/v2/repository/index", "/v2/models/stats", "/", "/v1/models"]) assert.ok(doc.paths[path], path);
    for (const name of ["iris-onnx", "simple-node", "sentiment-objects", "labels", "echo"]) {
      for (const path of [
        `/v2/models/${name}`,
        `/v2/models/${name}/ready`,
        `/v2/models/${name}/infer`,
        `/v2/models/${name}/stats`,
        `/v1/models/${name}:predict`,
      ])
        assert.ok(doc.paths[path], path);
    }
  });

  it("describes each model's tensors as its OIP metadata does: exact for tensor-native models and declared contracts", async () => {
    for (const name of ["iris-onnx", "simple-node"]) {
      const meta = (await http(`${base}/v2/models/${name}`)).json as Json;
      const request = doc.paths[`/v2/models/${name}/infer`].post.requestBody.content["application/json"].schema;
      const items = request.properties.inputs.items;
      const inputs: Json[] = items.oneOf ?? [items];
      assert.deepEqual(
        inputs.map((s) => [s.properties.name.enum, s.properties.datatype.enum, s.properties.shape.minItems]),
        meta.inputs.map((i: Json) => [[i.name], [i.datatype], i.shape.length]),
        name,
      );
      const response = doc.paths[`/v2/models/${name}/infer`].post.responses["200"].content["application/json"].schema;
      const outputs: Json[] = response.properties.outputs.items.oneOf ?? [response.properties.outputs.items];
      assert.deepEqual(
        outputs.map((s) => s.properties.name.enum[0]),
        meta.outputs.map((o: Json) => o.name),
      );
      assert.deepEqual(response.properties.model_name.enum, [name]);
      // The metadata operation's example is the metadata answer.
      const metaExample = doc.paths[`/v2/models/${name}`].get.responses["200"].content["application/json"].example;
      assert.deepEqual(metaExample.inputs, meta.inputs);
    }
    // A matrix model without a declared contract takes its rows under any name: the derived spec is an example.
    const labels = doc.paths["/v2/models/labels/infer"].post.requestBody.content["application/json"].schema;
    assert.equal(labels.properties.inputs.items.$ref, "#/components/schemas/Tensor", "labels declares no input spec");
    const tags = Object.fromEntries((doc.tags as Json[]).map((t) => [t.name, t.description]));
    assert.match(tags["iris-onnx"], /inputs input FP32 \[-1, 4\]/);
    assert.match(tags.labels, /Example request from the sample\.input samples\/rows\.csv/);
    assert.match(tags.echo, /Version 2\.0\.0-1 \(also served: 1\.0\.0-1\)/);
  });

  it("every example request fits its schema and is answered 200 by the model it names, with its provenance", async () => {
    const all = examples(doc);
    assert.deepEqual(all.map((e) => e.path).sort(), [
      "/v1/models/echo:predict",
      "/v1/models/iris-onnx:predict",
      "/v1/models/labels:predict",
      "/v1/models/sentiment-objects:predict",
      "/v1/models/simple-node:predict",
      "/v2/models/echo/infer",
      "/v2/models/echo/versions/1.0.0-1/infer",
      "/v2/models/echo/versions/2.0.0-1/infer",
      "/v2/models/iris-onnx/infer",
      "/v2/models/labels/infer",
      "/v2/models/sentiment-objects/infer",
      "/v2/models/simple-node/infer",
    ]);
    for (const { path, example, schema } of all) {
      assertFits(doc, schema, example, path);
      const answer = await http(`${base}${path}`, { body: example });
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      const model = /\/models\/([^/:]+)/.exec(path)![1];
      assert.equal(answer.headers.get("x-omaf-model"), model, path);
      assert.match(answer.headers.get("x-omaf-artifact-digest") ?? "", /^sha256:[0-9a-f]{64}$/);
      const version = /\/versions\/([^/]+)\//.exec(path)?.[1];
      if (version) assert.equal(answer.headers.get("x-omaf-model-version"), version, path);
    }
    // The samples' own values reach the models: the CSV rows by column name, each version its own sample.
    const labels = all.find((e) => e.path === "/v2/models/labels/infer")!;
    assert.deepEqual(labels.example, {
      inputs: [
        { name: "x", shape: [2], datatype: "FP64", data: [1.5, 4] },
        { name: "name", shape: [2], datatype: "BYTES", data: ["first", "second"] },
      ],
    });
    const answered = (await http(`${base}/v2/models/labels/infer`, { body: labels.example })).json as Json;
    assert.deepEqual(answered.outputs[0].data, ["first=3", "second=8"]);
    const kserve = await http(`${base}/v1/models/labels:predict`, { body: all.find((e) => e.path === "/v1/models/labels:predict")!.example });
    assert.deepEqual(kserve.json, { predictions: [["first=3"], ["second=8"]] });
    const v1 = await http(`${base}/v2/models/echo/versions/1.0.0-1/infer`, { body: all.find((e) => e.path.includes("1.0.0-1"))!.example });
    assert.deepEqual(JSON.parse((v1.json as Json).outputs[0].data[0]), { version: "1.0.0-1", echo: { from: "an OIP request" } });
    const v2 = await http(`${base}/v2/models/echo/infer`, { body: all.find((e) => e.path === "/v2/models/echo/infer")!.example });
    assert.deepEqual(
      (v2.json as Json).outputs[0].data.map((d: string) => JSON.parse(d).echo.from),
      ["a JSON line", "another"],
    );
  });

  it("one model's document has its routes only; one version's its versioned inference only", async () => {
    const one = (await http(`${base}/v2/models/iris-onnx/docs/openapi.json`)).json as Json;
    await assertValid(one, "/v2/models/iris-onnx/docs/openapi.json");
    assert.equal(one.info.title, "omaf: iris-onnx");
    assert.deepEqual(Object.keys(one.paths).sort(), [
      "/v1/models/iris-onnx",
      "/v1/models/iris-onnx:predict",
      "/v2/models/iris-onnx",
      "/v2/models/iris-onnx/infer",
      "/v2/models/iris-onnx/ready",
      "/v2/models/iris-onnx/stats",
    ]);
    assert.deepEqual(one.servers[0].url, "../../../..");
    const version = await http(`${base}/v2/models/echo/versions/1.0.0-1/docs/openapi.json`);
    assert.equal(version.headers.get("x-omaf-model-version"), "1.0.0-1");
    const v = version.json as Json;
    await assertValid(v, "one version's document");
    assert.deepEqual(Object.keys(v.paths), ["/v2/models/echo/versions/1.0.0-1/infer"]);
    assert.deepEqual(v.servers[0].url, "../../../../../..");
    const both = (await http(`${base}/v2/models/echo/docs/openapi.json`)).json as Json;
    assert.ok(both.paths["/v2/models/echo/versions/1.0.0-1/infer"] && both.paths["/v2/models/echo/versions/2.0.0-1/infer"]);
  });

  it("an unknown model or version is 404 in the OIP error shape", async () => {
    for (const path of ["/v2/models/nope/docs", "/v2/models/nope/docs/openapi.json", "/v2/models/echo/versions/9.9.9-9/docs/openapi.json"]) {
      const answer = await http(`${base}${path}`);
      assert.equal(answer.status, 404, path);
      assert.equal((answer.json as Json).code, "OMAF_ERR_MODEL_NOT_FOUND");
    }
  });

  it("the pages load Swagger UI from this server through relative links that resolve from each page", async () => {
    for (const page of ["/v2/docs", "/v2/models/iris-onnx/docs", "/v2/models/echo/versions/2.0.0-1/docs"]) {
      const answer = await http(`${base}${page}`);
      assert.equal(answer.status, 200, page);
      assert.match(answer.headers.get("content-type") ?? "", /^text\/html/);
      const links = [...answer.text.matchAll(/(?:href|src)="([^"]+)"|"url":"([^"]+)"/g)].map((m) => m[1] ?? m[2]);
      assert.equal(links.length, 4, `${page}: ${links.join(", ")}`);
      assert.ok(
        links.every((l) => !/^[a-z]+:|^\//.test(l)),
        `${page} links relatively: ${links.join(", ")}`,
      );
      for (const link of links) {
        const target = new URL(link, `${base}${page}`);
        const res = await fetch(target);
        assert.equal(res.status, 200, `${page} → ${target.pathname}`);
        await res.arrayBuffer();
      }
    }
    const bundle = await fetch(`${base}/v2/docs/swagger-ui/swagger-ui-bundle.js`);
    assert.match(bundle.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.ok((await bundle.text()).length > 500_000, "Swagger UI's bundle, whole");
    for (const file of ["index.html", "..%2Fpackage.json", "swagger-ui-bundle.js.map"]) {
      const res = await http(`${base}/v2/docs/swagger-ui/${file}`);
      assert.equal(res.status, 404, file);
    }
  });

  it("is made at request time: an unloaded model leaves the document, and comes back when loaded", async () => {
    assert.equal((await http(`${base}/v2/repository/models/labels/unload`, { body: "" })).status, 200);
    const without = (await http(`${base}/v2/docs/openapi.json`)).json as Json;
    assert.equal(without.paths["/v2/models/labels/infer"], undefined);
    assert.equal((await http(`${base}/v2/models/labels/docs/openapi.json`)).status, 503);
    assert.equal((await http(`${base}/v2/repository/models/labels/load`, { body: "" })).status, 200);
    const back = (await http(`${base}/v2/docs/openapi.json`)).json as Json;
    assert.ok(back.paths["/v2/models/labels/infer"].post.requestBody.content["application/json"].example);
  });
});

describe("the document follows the listener's protocols and the models' state", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-docs-scope-");
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("KServe v1 alone: its routes only; OIP v2 alone: no KServe routes; Odahu alone: no docs", async () => {
    const objects = join(EXAMPLES, "node-objects");
    const cache = join(tmp.dir, "cache");
    for (const [interfaces, v1, v2] of [
      [["kserve-v1"], true, false],
      [["oip-rest"], false, true],
    ] as const) {
      const app = await inProcessApp(objects, [...interfaces], cache);
      try {
        const answer = await app.get("/v2/docs/openapi.json");
        assert.equal(answer.status, 200);
        await assertValid(answer.json, interfaces.join());
        const paths = Object.keys(answer.json.paths);
        assert.equal(
          paths.some((p) => p.startsWith("/v1/")),
          v1,
          interfaces.join(),
        );
        assert.equal(
          paths.some((p) => p.startsWith("/v2/")),
          v2,
          interfaces.join(),
        );
      } finally {
        await app.close();
      }
    }
    const odahu = await inProcessApp(objects, ["odahu"], cache);
    try {
      assert.equal((await odahu.get("/v2/docs")).status, 404);
    } finally {
      await odahu.close();
    }
  });

  it("a lazy model: the document of every model does not load it; its own document waits for its load", async () => {
    const artifact = await materializeArtifact(join(EXAMPLES, "node-objects"), { cacheDir: join(tmp.dir, "cache") });
    const model = createModel({
      dir: artifact.dir,
      manifest: artifact.manifest,
      provenance: { artifactDigest: artifact.artifactDigest },
      nodeOptions: { inProcess: true },
    });
    const dataplane = new DataPlane(model, artifact, { requestTimeoutMs: 30_000, maxInFlight: 0 });
    const registry = ModelRegistry.fromDataPlanes([dataplane]);
    const app = await buildHttpApp({ interfaces: ["oip-rest"], host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20, registry });
    try {
      const all = JSON.parse((await app.inject({ url: "/v2/docs/openapi.json" })).body) as Json;
      await assertValid(all, "a document with a model not loaded");
      assert.equal(dataplane.state, "unloaded");
      const tag = (all.tags as Json[]).find((t) => t.name === "sentiment-objects")!;
      assert.match(tag.description, /Not loaded \(unloaded\)/);
      assert.equal(
        all.paths["/v2/models/sentiment-objects/infer"].post.requestBody.content["application/json"].schema.$ref,
        "#/components/schemas/InferRequest",
      );
      const one = JSON.parse((await app.inject({ url: "/v2/models/sentiment-objects/docs/openapi.json" })).body) as Json;
      assert.equal(dataplane.state, "ready");
      assert.ok(one.paths["/v2/models/sentiment-objects/infer"].post.requestBody.content["application/json"].example);
    } finally {
      await app.close();
      await dataplane.close();
    }
  });
});
