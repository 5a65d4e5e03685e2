// Adaptive batching end to end: `omaf serve --max-batch-size` answers many concurrent requests exactly as the same
// server without batching does, over several protocols, while merging them into fewer model calls — the ONNX iris
// example, and the python iris example whose rows are declared independent (--batch-rows). The setting shows in OMI
// Status, OIP model metadata and /metrics; each inference-log line records the batch it ran in.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/fixtures.js";
import { jsonItem, omiClient } from "../helpers/omi-client.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";
import { IRIS_DIR, PYTHON } from "../python/fixtures.js";

const ONNX_IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

/** A few rows of iris measurements, different per request so that answers cannot be mixed up unseen. */
function rowsFor(i: number): number[][] {
  return Array.from({ length: (i % 3) + 1 }, (_, r) => [
    4.5 + ((i * 7 + r) % 30) / 10,
    2 + ((i + r) % 20) / 10,
    1 + ((i * 3 + r) % 50) / 10,
    0.1 + ((i + 2 * r) % 25) / 10,
  ]);
}

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

/** Inference-log lines of the requests that ran in a batch of more than one. */
async function batchedLines(file: string): Promise<Record<string, unknown>[]> {
  const lines = (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "inference");
  return lines.filter((l) => typeof l.batch === "number" && l.batch > 1);
}

describe("batching over the wire", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let on: ServeProcess;
  let off: ServeProcess;
  const log = () => join(tmp.dir, "batched.jsonl");

  before(async () => {
    tmp = await tempDir("omaf-batching-");
    const interfaces = ["--interfaces", "omi,oip-rest,kserve-v1,odahu"];
    [on, off] = await Promise.all([
      startServe(ONNX_IRIS, { args: [...interfaces, "--max-batch-size", "16", "--max-batch-time", "20", "--inference-log-file", log()] }),
      startServe(ONNX_IRIS, { args: [...interfaces, "--no-inference-log"] }),
    ]);
  });
  after(async () => {
    await Promise.all([on?.kill(), off?.kill()]);
    await tmp?.cleanup();
  });

  it("the ONNX example answers 64 concurrent requests on three protocols as it does without batching", async () => {
    const ask = (server: ServeProcess, i: number) => {
      const http = server.url("OIP v2 REST");
      const rows = rowsFor(i);
      switch (i % 3) {
        case 0:
          return post(`${http}/v2/models/iris-onnx/infer`, {
            id: `r${i}`,
            inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 4], data: rows.flat() }],
          });
        case 1:
          return post(`${http}/v1/models/iris-onnx:predict`, { instances: rows });
        default:
          return post(`${http}/api/model/invoke`, { data: rows });
      }
    };
    const requests = Array.from({ length: 64 }, (_, i) => i);
    const [batched, alone] = await Promise.all([Promise.all(requests.map((i) => ask(on, i))), Promise.all(requests.map((i) => ask(off, i)))]);
    assert.deepEqual(batched, alone);
    await new Promise((r) => setTimeout(r, 400)); // the inference log writes lines within 250 ms
    const merged = await batchedLines(log());
    assert.ok(merged.length > 0, "some requests ran in batches of more than one");
    assert.ok(merged.every((l) => (l.batch as number) <= 16));
  });

  it("shows the setting in OMI Status, OIP model metadata and /metrics", async () => {
    const omi = omiClient(on.address);
    try {
      assert.equal((await omi.Status({})).features.batch_size, 16);
      const run = await omi.Run({ inputs: [jsonItem({ data: rowsFor(1) })] });
      assert.equal(run.outputs[0].success, true);
    } finally {
      omi.close();
    }
    const meta = (await (await fetch(`${on.url("OIP v2 REST")}/v2/models/iris-onnx`)).json()) as { parameters: Record<string, number> };
    assert.deepEqual(meta.parameters, { max_batch_size: 16, max_batch_time_ms: 20 });
    const metrics = await (await fetch(`${on.url("OIP v2 REST")}/metrics`)).text();
    // Series are per model and version.
    const value = (name: string) =>
      Number(
        metrics
          .split("\n")
          .find((l) => l.startsWith(`${name}{model="iris-onnx",version="1.0.0-1"} `))
          ?.split(" ")[1],
      );
    assert.equal(value("omaf_max_batch_size"), 16);
    const calls = value("omaf_batch_size_count");
    const waits = value("omaf_queue_duration_seconds_count");
    assert.ok(calls > 0 && waits > calls, `batches ${calls}, queued requests ${waits}`);
  });
});

describe("batching a python matrix model whose rows are independent", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let on: ServeProcess;
  let off: ServeProcess;
  const log = () => join(tmp.dir, "python.jsonl");

  before(async () => {
    tmp = await tempDir("omaf-batching-python-");
    const env = { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" };
    [on, off] = await Promise.all([
      startServe(IRIS_DIR, { env, args: ["--interfaces", "oip-rest", "--max-batch-size", "32", "--batch-rows", "--inference-log-file", log()] }),
      startServe(IRIS_DIR, { env, args: ["--interfaces", "oip-rest", "--no-inference-log"] }),
    ]);
  });
  after(async () => {
    await Promise.all([on?.kill(), off?.kill()]);
    await tmp?.cleanup();
  });

  it("merges queued one-row requests into shared predict_on_matrix calls on one worker, each answered as alone", async () => {
    const ask = (server: ServeProcess, i: number) =>
      post(`${server.url("OIP v2 REST")}/v2/models/iris-sklearn/infer`, {
        inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: rowsFor(i * 3)[0] }],
      });
    const requests = Array.from({ length: 32 }, (_, i) => i);
    const [batched, alone] = await Promise.all([Promise.all(requests.map((i) => ask(on, i))), Promise.all(requests.map((i) => ask(off, i)))]);
    assert.deepEqual(batched, alone);
    await new Promise((r) => setTimeout(r, 400));
    assert.ok((await batchedLines(log())).length > 0, "some one-row requests shared a predict_on_matrix call");
  });
});
