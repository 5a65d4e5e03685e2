// Odahu REST against a real `omaf serve` process: /healthcheck, /api/model/info (Swagger 2.0), /api/model/invoke,
// the Model-Name / Model-Version / request-id headers, `{"message"}` errors, its own port or the shared one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeBehaveModel, writeNoColumnsModel, writeSumModel, type ServeProcess } from "../helpers/serve.js";
import { assertProvenance, freePort, http } from "./helpers.js";
import { swaggerProblems } from "./swagger.js";

type Json = Record<string, any>;

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
    assert.deepEqual(swaggerProblems(doc, { inline: true }), []);
    assert.equal(doc.info.title, "Model API");
    assert.equal(doc.info.version, "1.0.0-1");
    assert.equal(doc.info["x-model-name"], "sum-check");
    const post = doc.paths["/api/model/invoke"].post;
    // Inline, where Odahu's server put them; sum-check's get_info() has no examples, so only the names are shown.
    assert.deepEqual(post.parameters, [
      {
        in: "body",
        name: "PredictionParameters",
        required: true,
        schema: {
          type: "object",
          properties: {
            columns: { type: "array", items: { type: "string" }, example: ["a", "b"] },
            data: { type: "array", items: { type: "array", items: { type: "number" } } },
          },
        },
      },
    ]);
    assert.deepEqual(post.responses["200"].schema.properties.columns.example, ["sum"]);
    assert.equal(post.responses["200"].schema.properties.prediction.items.items.type, "number");
  });

  it('answers "columns": null when the model names no output columns, as Odahu\'s server did', async () => {
    const proc = await startServe(await writeNoColumnsModel(join(root.dir, "no-columns")), { args: ["--interfaces", "odahu"] });
    try {
      const res = await http(`${proc.url("Odahu REST")}/api/model/invoke`, {
        body: {
          data: [
            [5, 6],
            [7, 8],
          ],
        },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, '{"prediction":[[5],[7]],"columns":null}');
    } finally {
      await proc.kill();
    }
  });

  it("invokes with and without columns; errors keep the message key", async () => {
    const withColumns = await http(`${base}/api/model/invoke`, {
      body: {
        columns: ["a", "b"],
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    });
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
      assert.deepEqual(swaggerProblems(info, { inline: true }), []);
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
