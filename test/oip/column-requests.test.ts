// MLServer-style column requests to a GPPI matrix model: with the request-level `parameters.content_type: "pd"` (the
// pandas codec), every input is one column named by the input — a single one too — and the model gets one matrix
// with those column names. Over REST (inject) and gRPC (a real server).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { oipGrpcClient, type OipGrpcClient } from "../helpers/oip-client.js";
import { startServe, type ServeProcess, nodeManifest } from "../helpers/serve.js";
import { inProcessApp, type InProcessApp } from "../http/in-process.js";

/** `columns-echo`: each row comes back as one string "v1|v2|…", and the output column names say what it was given. */
async function writeColumnsEcho(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("columns-echo"),
    "src/model.mjs": `export const init = () => "matrix";
export const predict_on_matrix = (rows, columns) => [rows.map((r) => [r.join("|")]), ["given:" + (columns ? columns.join(",") : "none")]];
`,
  });
  return dir;
}

/** The rows the model saw and the column names it was given, from an OIP JSON answer. */
function seen(outputs: Array<{ data: string[]; parameters?: { columns?: string[] | string } }>): { rows: string[]; columns: unknown } {
  const p = outputs[0];
  const columns = typeof p.parameters?.columns === "string" ? JSON.parse(p.parameters.columns) : p.parameters?.columns;
  return { rows: p.data, columns };
}

describe("column requests (MLServer's pandas codec)", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let app: InProcessApp;
  let server: ServeProcess;
  let grpc: OipGrpcClient;

  before(async () => {
    tmp = await tempDir("omaf-columns-");
    const dir = await writeColumnsEcho(join(tmp.dir, "model"));
    app = await inProcessApp(dir, ["oip-rest"], join(tmp.dir, "cache"));
    server = await startServe(dir, { args: ["--interfaces", "oip-grpc", "--no-inference-log"] });
    grpc = oipGrpcClient(server.address);
  });
  after(async () => {
    grpc?.close();
    await server?.kill();
    await app?.close();
    await tmp?.cleanup();
  });

  const infer = (body: unknown) => app.post("/v2/models/columns-echo/infer", body);

  it("content_type pd: a single 1-D input is one column of N rows, named by the input", async () => {
    const res = await infer({ parameters: { content_type: "pd" }, inputs: [{ name: "petal_length", datatype: "FP64", shape: [3], data: [1.5, 2, 4] }] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(seen(res.json.outputs), { rows: ["1.5", "2", "4"], columns: ["given:petal_length"] });
    // Without the pandas content type, a single 1-D input stays one row (the plain tensor reading).
    const plain = await infer({ inputs: [{ name: "x", datatype: "FP64", shape: [3], data: [1.5, 2, 4] }] });
    assert.deepEqual(seen(plain.json.outputs), { rows: ["1.5|2|4"], columns: ["given:none"] });
  });

  it("columns of different datatypes ([N, 1] as MLServer sends them, strings as BYTES) become mixed rows", async () => {
    const res = await infer({
      parameters: { content_type: "pd" },
      inputs: [
        { name: "age", datatype: "INT64", shape: [2, 1], data: [31, 47] },
        { name: "name", datatype: "BYTES", shape: [2, 1], parameters: { content_type: "str" }, data: ["ann", "bob"] },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(seen(res.json.outputs), { rows: ["31|ann", "47|bob"], columns: ["given:age,name"] });
  });

  it("columns of different lengths are a 400 naming the input", async () => {
    const res = await infer({
      parameters: { content_type: "pd" },
      inputs: [
        { name: "a", datatype: "FP64", shape: [2], data: [1, 2] },
        { name: "b", datatype: "FP64", shape: [3], data: [1, 2, 3] },
      ],
    });
    assert.equal(res.status, 400);
    assert.match(res.json.error, /input 'b' has shape \[3\]; as columns, each input is \[2\]/);
  });

  it("over gRPC, content_type pd travels as a string parameter", async () => {
    const res = await grpc.ModelInfer({
      model_name: "columns-echo",
      parameters: { content_type: { string_param: "pd" } },
      inputs: [{ name: "petal_length", datatype: "FP64", shape: [2], contents: { fp64_contents: [1.5, 2] } }],
    });
    const rows = res.outputs[0].contents?.bytes_contents?.map((b) => Buffer.from(b).toString()) ?? [];
    assert.deepEqual(rows, ["1.5", "2"]);
    assert.deepEqual(JSON.parse(String(res.outputs[0].parameters?.columns?.string_param)), ["given:petal_length"]);
  });
});
