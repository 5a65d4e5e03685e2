// Real Odahu artifacts serve unchanged: examples/python-sklearn packed three ways — a Deflate zip, a zip as Odahu's
// Go code wrote them (a leading "/" in every name) and the gzip tar named `.zip` Odahu's operator later wrote (the
// trainer's layout: `odahuflow.project.yaml` at the root, the model under `odahuflow_model/`, names with a leading
// "/") — each served by a real `omaf serve` process and called over Odahu's model REST API as Odahu's own model
// server answered it (odahu-packager's odahuflow_handler.py): `/healthcheck`, `/api/model/info` (Swagger 2.0 from
// info()), `/api/model/invoke` with and without `columns`, `{"message"}` errors, Model-Name / Model-Version and
// request-id headers.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ZipArchive } from "archiver";
import { craftZip } from "../archive/craft.js";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";
import { http } from "../http/helpers.js";
import { IRIS_DIR, PYTHON } from "./fixtures.js";

const run = promisify(execFile);
type Json = Record<string, any>;

const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
/** Iris rows 0, 50 and 100 of the training set, one of each species. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.3, 3.3, 6.0, 2.5],
];
const SPECIES = [["setosa"], ["versicolor"], ["virginica"]];

/** Every file under `dir` as [path with "/" separators, bytes], sorted by path. */
async function filesOf(dir: string): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const abs = join(entry.parentPath, entry.name);
    out.push([relative(dir, abs).split(sep).join("/"), await readFile(abs)]);
  }
  return out.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The artifact digest as spec'd (sha256 of `<sha256>  <size>  <path>\n` lines sorted by path), computed here. */
function digestOf(files: [string, Buffer][]): string {
  const hash = createHash("sha256");
  for (const [path, data] of files) hash.update(`${createHash("sha256").update(data).digest("hex")}  ${data.length}  ${path}\n`);
  return `sha256:${hash.digest("hex")}`;
}

/** A Deflate zip of `dir`, as any zip tool makes it. */
async function zipFolder(dir: string, file: string): Promise<void> {
  const archive = new ZipArchive({ zlib: { level: 9 } });
  const out = createWriteStream(file);
  archive.pipe(out);
  archive.directory(dir, false);
  await archive.finalize();
  if (!out.closed) await once(out, "close");
}

/** Only the `$ref`s, types and required fields Swagger 2.0 allows; answers the problems found. */
function swaggerProblems(doc: Json): string[] {
  const problems: string[] = [];
  const types = new Set(["object", "array", "string", "number", "integer", "boolean", "file"]);
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${at}[${i}]`));
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === "$ref" && !(typeof v === "string" && v.replace(/^#\/definitions\//, "") in (doc.definitions ?? {}))) {
        problems.push(`${at}: $ref ${v} resolves to nothing`);
      }
      if (k === "type" && typeof v === "string" && !types.has(v)) problems.push(`${at}: type ${v}`);
      if (k === "example" || k === "enum" || k === "default") continue;
      walk(v, `${at}.${k}`);
    }
  };
  if (doc.swagger !== "2.0") problems.push(`swagger is ${JSON.stringify(doc.swagger)}`);
  if (typeof doc.info?.title !== "string" || typeof doc.info?.version !== "string") problems.push("info needs title and version");
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      for (const [code, r] of Object.entries((op.responses ?? {}) as Json)) {
        if (typeof (r as Json).description !== "string") problems.push(`${path} ${method} ${code}: no description`);
      }
    }
  }
  walk(doc.paths, "paths");
  walk(doc.definitions, "definitions");
  return problems;
}

describe("Odahu compatibility: examples/python-sklearn packed as Odahu packed it", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const served: Record<"zip" | "goZip" | "odahuTar", ServeProcess | undefined> = { zip: undefined, goZip: undefined, odahuTar: undefined };
  const digests: Record<string, string> = {};
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-odahu-compat-");
    const example = await filesOf(IRIS_DIR);
    assert.ok(
      example.some(([p]) => p === "odahuflow_model/model.pkl"),
      "the example's trained model is in place",
    );

    // 1. A Deflate zip of the example as it is.
    const zip = join(tmp.dir, "iris-sklearn-1.0.0-1-zip.zip");
    await zipFolder(IRIS_DIR, zip);
    digests.zip = digestOf(example);

    // 2. Odahu's Go zips: the same files, every name (folders too) with a leading "/".
    const goZip = join(tmp.dir, "iris-sklearn-1.0.0-1-go.zip");
    await writeFile(goZip, craftZip([{ name: "/" }, { name: "/odahuflow_model/" }, ...example.map(([name, data]) => ({ name: `/${name}`, data }))]));
    digests.goZip = digests.zip;

    // 3. Odahu's operator: a gzip tar named .zip, the trainer's manifest name, names with a leading "/" (GNU tar -P).
    const layout = join(tmp.dir, "odahu-layout");
    await cp(IRIS_DIR, layout, { recursive: true });
    await rename(join(layout, "odahuflow.model.yaml"), join(layout, "odahuflow.project.yaml"));
    const odahuTar = join(tmp.dir, "iris-sklearn-1.0.0-1-tar.zip");
    const names = (await readdir(layout)).sort();
    await run("tar", ["-czPf", odahuTar, "-C", layout, "--transform", "s,^,/,", ...names]);
    const { stdout: listing } = await run("tar", ["-tzPf", odahuTar]);
    assert.ok(listing.split("\n").includes("/odahuflow_model/model.pkl"), `names keep their leading /:\n${listing}`);
    assert.deepEqual([...(await readFile(odahuTar)).subarray(0, 2)], [0x1f, 0x8b], "a gzip stream despite the .zip name");
    digests.odahuTar = digestOf(await filesOf(layout));

    const cache = join(tmp.dir, "cache");
    await mkdir(cache);
    const serve = (artifact: string, env: Record<string, string> = {}) =>
      startServe(artifact, {
        args: ["--interfaces", "odahu", "--cache-dir", cache, "--no-inference-log"],
        env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1", ...env },
      });
    [served.zip, served.goZip, served.odahuTar] = await Promise.all([
      serve(zip),
      serve(goZip),
      // What Odahu deployments set; Odahu's server put them in the Model-Name / Model-Version headers.
      serve(odahuTar, { ODAHU_MODEL_NAME: "iris-deployment", ODAHU_MODEL_VERSION: "7" }),
    ]);
    base = served.zip!.url("Odahu REST");
  });
  after(async () => {
    await Promise.all(Object.values(served).map((s) => s?.kill()));
    await tmp?.cleanup();
  });

  it("serves every packed form unchanged: ready, the same predictions, the content's digest as provenance", async () => {
    for (const [form, server] of Object.entries(served)) {
      const url = server!.url("Odahu REST");
      const health = await http(`${url}/healthcheck`);
      assert.equal(health.status, 200, `${form}: ${health.text}`);
      assert.deepEqual(health.json, { status: true });
      const res = await http(`${url}/api/model/invoke`, { body: { data: ROWS } });
      assert.equal(res.status, 200, `${form}: ${res.text}`);
      assert.deepEqual(res.json, { prediction: SPECIES, columns: ["species"] }, form);
      assert.equal(res.headers.get("x-omaf-model"), "iris-sklearn", form);
      assert.equal(res.headers.get("x-omaf-model-version"), "1.0.0-1", form);
      assert.equal(res.headers.get("x-omaf-artifact-digest"), digests[form], `${form}: the digest names the files, not the container`);
    }
  });

  it("invoke without columns: the rows reach predict_on_matrix() as they are, with no column names (as Odahu's server)", async () => {
    const res = await http(`${base}/api/model/invoke`, { body: { data: ROWS } });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    // Exactly Odahu's response shape: the prediction rows and the column names predict_on_matrix() answered.
    assert.deepEqual(res.json, { prediction: SPECIES, columns: ["species"] });
    // Without names the entrypoint reads values in its own order: a setosa row given backwards is another flower,
    // which shows omaf neither reorders values nor invents column names.
    const backwards = await http(`${base}/api/model/invoke`, { body: { data: [[...ROWS[0]].reverse()] } });
    assert.deepEqual(backwards.json, { prediction: [["virginica"]], columns: ["species"] });
    // `"columns": null` is the same as no columns (Odahu read it with .get('columns', None)).
    const nullColumns = await http(`${base}/api/model/invoke`, { body: { columns: null, data: ROWS } });
    assert.deepEqual(nullColumns.json, { prediction: SPECIES, columns: ["species"] });
  });

  it("invoke with columns: the names reach the model, which matches its features by name", async () => {
    const order = [3, 2, 1, 0];
    const res = await http(`${base}/api/model/invoke`, {
      body: { columns: order.map((i) => FEATURES[i]), data: ROWS.map((row) => order.map((i) => row[i])) },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { prediction: SPECIES, columns: ["species"] });
    const inOrder = await http(`${base}/api/model/invoke`, { body: { columns: FEATURES, data: ROWS } });
    assert.deepEqual(inOrder.json, { prediction: SPECIES, columns: ["species"] });
  });

  it("integer rows, and one request of many rows, are predicted like Odahu did", async () => {
    const ints = await http(`${base}/api/model/invoke`, {
      body: {
        data: [
          [5, 3, 1, 0],
          [6, 3, 6, 2],
        ],
      },
    });
    assert.equal(ints.status, 200, ints.text);
    assert.deepEqual(ints.json, { prediction: [["setosa"], ["virginica"]], columns: ["species"] });
    const many = Array.from({ length: 300 }, (_, i) => ROWS[i % 3]);
    const big = await http(`${base}/api/model/invoke`, { body: { data: many } });
    assert.equal(big.status, 200, big.text);
    assert.deepEqual(
      (big.json as Json).prediction,
      Array.from({ length: 300 }, (_, i) => SPECIES[i % 3]),
    );
  });

  it("errors are {message} (4xx for requests that cannot fit, 500 when the model raises); serving goes on", async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ["not JSON", '{"data": [[5.1, 3.5', 400, /JSON/],
      ["no data", { columns: FEATURES }, 400, /data/],
      ["no rows", { data: [] }, 400, /no rows/],
      ["rows of 3 values", { data: [[5.1, 3.5, 1.4]] }, 400, /4 values/],
      ["a string value", { data: [[5.1, 3.5, 1.4, "wide"]] }, 400, /string/],
      ["3 names for 4 values", { columns: FEATURES.slice(0, 3), data: [ROWS[0]] }, 400, /columns/],
      // Names the entrypoint does not know: it raises, as it did under Odahu (HTTP 500 there too).
      ["unknown column names", { columns: ["a", "b", "c", "d"], data: [ROWS[0]] }, 500, /missing columns: sepal_length/],
    ];
    for (const [what, body, status, message] of cases) {
      const res = await http(`${base}/api/model/invoke`, { body });
      assert.equal(res.status, status, `${what}: ${res.text}`);
      const json = res.json as Json;
      assert.equal(typeof json?.message, "string", `${what}: ${res.text}`);
      assert.match(json.message, message, what);
      assert.equal(res.headers.get("model-name"), "iris-sklearn", `${what}: errors carry Odahu's headers too`);
    }
    const after = await http(`${base}/api/model/invoke`, { body: { data: [ROWS[0]] } });
    assert.deepEqual(after.json, { prediction: [["setosa"]], columns: ["species"] });
  });

  it("/api/model/info is a Swagger 2.0 document built from info(), whose own example invokes the model", async () => {
    const res = await http(`${base}/api/model/info`);
    assert.equal(res.status, 200, res.text);
    const doc = res.json as Json;
    assert.deepEqual(swaggerProblems(doc), []);
    assert.equal(doc.info.title, "Model API");
    assert.ok(doc.paths["/api/model/invoke"].post, "the invoke endpoint is described");
    const body = doc.paths["/api/model/invoke"].post.parameters.find((p: Json) => p.in === "body");
    assert.ok(body, "invoke takes a body parameter");
    const resolve = (s: Json): Json => (s.$ref ? doc.definitions[s.$ref.replace("#/definitions/", "")] : s);
    const params = resolve(body.schema);
    // Odahu's server: columns example = info()'s input names, data example = one row of their examples.
    assert.deepEqual(params.properties.columns.example, FEATURES);
    assert.deepEqual(params.properties.data.example, [[5.1, 3.5, 1.4, 0.2]]);
    assert.equal(params.properties.data.type, "array");
    assert.equal(params.properties.data.items.items.type, "number");
    const response = resolve(doc.paths["/api/model/invoke"].post.responses["200"].schema);
    assert.deepEqual(response.properties.columns.example, ["species"]);
    assert.deepEqual(response.properties.prediction.example, [["setosa"]]);
    assert.equal(response.properties.prediction.items.items.type, "string");

    // The document's example is a request the model answers in the documented shape.
    const invoked = await http(`${base}/api/model/invoke`, {
      body: { columns: params.properties.columns.example, data: params.properties.data.example },
    });
    assert.equal(invoked.status, 200, invoked.text);
    assert.deepEqual(Object.keys(invoked.json as Json).sort(), Object.keys(response.properties).sort());
    assert.deepEqual(invoked.json, { prediction: response.properties.prediction.example, columns: response.properties.columns.example });
  });

  it("Model-Name / Model-Version come from ODAHU_MODEL_NAME / ODAHU_MODEL_VERSION; request-id is echoed", async () => {
    const url = served.odahuTar!.url("Odahu REST");
    const res = await http(`${url}/api/model/invoke`, { body: { data: [ROWS[1]] }, headers: { "request-id": "odahu-7f3" } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get("model-name"), "iris-deployment");
    assert.equal(res.headers.get("model-version"), "7");
    assert.equal(res.headers.get("request-id"), "odahu-7f3");
    // Odahu's server also took the id from x-request-id.
    const viaX = await http(`${url}/api/model/invoke`, { body: { data: [ROWS[1]] }, headers: { "x-request-id": "edge-42" } });
    assert.equal(viaX.headers.get("request-id"), "edge-42");
    // Without the variables the manifest's name and version are reported.
    const plain = await http(`${base}/healthcheck`);
    assert.equal(plain.headers.get("model-name"), "iris-sklearn");
    assert.equal(plain.headers.get("model-version"), "1.0.0-1");
  });
});
