// Triton's statistics extension against a real `omaf serve`: the numbers equal the requests the test sent — successes
// and failures per model version, requests against model executions with batching merging them — on REST and gRPC.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ServiceError } from "@grpc/grpc-js";
import { tempDir } from "../helpers/fixtures.js";
import { oipGrpcClient, type OipGrpcClient } from "../helpers/oip-client.js";
import { startServe, writeSumModel, type ServeProcess } from "../helpers/serve.js";

const iris = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

interface Duration {
  count: number;
  ns: number;
}
interface Stats {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<"success" | "fail" | "queue" | "compute_input" | "compute_infer" | "compute_output", Duration>;
  batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
}

async function stats(base: string, path: string): Promise<Stats[]> {
  const res = await fetch(`${base}${path}`);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { model_stats: Stats[] }).model_stats;
}

function irisRequest(rows: number, width = 4): string {
  const data = Array.from({ length: rows * width }, (_, i) => 1 + (i % 5));
  return JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [rows, width], data }] });
}

describe("statistics (Triton's extension) equal the requests sent", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let base: string;
  let grpc: OipGrpcClient;

  before(async () => {
    tmp = await tempDir("omaf-stats-");
    const sum = await writeSumModel(join(tmp.dir, "sum"));
    server = await startServe([iris, sum], {
      args: ["--interfaces", "oip-rest,oip-grpc", "--max-batch-size", "32", "--max-batch-time", "50", "--no-inference-log"],
    });
    base = server.url("OIP v2 REST");
    grpc = oipGrpcClient(`127.0.0.1:${server.listeners.find((l) => l.label === "OIP v2 gRPC")!.port}`);
  });
  after(async () => {
    grpc?.close();
    await server?.kill();
    await tmp?.cleanup();
  });

  it("start at zero for every served version", async () => {
    const all = await stats(base, "/v2/models/stats");
    assert.deepEqual(all.map((s) => `${s.name} ${s.version}`).sort(), ["iris-onnx 1.0.0-1", "sum-check 1.0.0-1"]);
    for (const s of all) {
      assert.equal(s.inference_count, 0);
      assert.equal(s.execution_count, 0);
      assert.equal(s.last_inference, 0);
      assert.deepEqual(s.batch_stats, []);
    }
  });

  it("count successes, failures and executions; batching merges requests into fewer executions", async () => {
    const good = 48;
    const bad = 5;
    const t0 = Date.now();
    const post = (body: string) => fetch(`${base}/v2/models/iris-onnx/infer`, { method: "POST", body }).then((r) => r.status);
    const statuses = await Promise.all([
      ...Array.from({ length: good }, () => post(irisRequest(1))),
      ...Array.from({ length: bad }, () => post(irisRequest(1, 3))),
    ]);
    assert.equal(statuses.filter((s) => s === 200).length, good);
    assert.equal(statuses.filter((s) => s === 400).length, bad);
    // Requests for the other model count there, not here.
    const sum = await fetch(`${base}/v2/models/sum-check/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [1, 2] }] }),
    });
    assert.equal(sum.status, 200);

    const [s] = await stats(base, "/v2/models/iris-onnx/versions/1.0.0-1/stats");
    const i = s.inference_stats;
    assert.equal(i.success.count, good);
    assert.equal(i.fail.count, bad);
    assert.equal(s.inference_count, good);
    for (const phase of ["queue", "compute_input", "compute_infer", "compute_output"] as const) assert.equal(i[phase].count, good, phase);
    assert.ok(i.compute_infer.ns > 0 && i.success.ns > 0);
    // The phases of a request do not overlap: together they are its whole time.
    const phases = i.queue.ns + i.compute_input.ns + i.compute_infer.ns + i.compute_output.ns;
    assert.ok(Math.abs(phases - i.success.ns) <= good * 1000, `phases ${phases} ns, success ${i.success.ns} ns`);
    assert.ok(s.last_inference >= t0 && s.last_inference <= Date.now());

    // Every execution is in batch_stats; the requests merged in them add up to the successful requests.
    const executions = s.batch_stats.reduce((n, b) => n + b.compute_infer.count, 0);
    assert.equal(s.execution_count, executions);
    assert.equal(
      s.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0),
      good,
    );
    assert.ok(s.execution_count < s.inference_count, `batching merged nothing: ${JSON.stringify(s.batch_stats)}`);

    const [other] = await stats(base, "/v2/models/sum-check/stats");
    assert.equal(other.inference_count, 1);
    assert.equal(other.execution_count, 1);
    assert.equal(other.inference_stats.fail.count, 0);
    assert.deepEqual(
      other.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, 1]],
    );

    // gRPC answers the same numbers (uint64 as decimal strings).
    const res = await grpc.ModelStatistics({ name: "iris-onnx" });
    assert.equal(res.model_stats.length, 1);
    const g = res.model_stats[0];
    assert.equal(Number(g.inference_count), good);
    assert.equal(Number(g.execution_count), s.execution_count);
    assert.equal(Number(g.inference_stats.fail.count), bad);
    assert.equal(Number(g.inference_stats.success.ns), i.success.ns);
  });

  it("an unknown model or version is not found", async () => {
    for (const path of ["/v2/models/nope/stats", "/v2/models/iris-onnx/versions/9.9.9-9/stats"]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { code: string }).code, "OMAF_ERR_MODEL_NOT_FOUND");
    }
    await assert.rejects(grpc.ModelStatistics({ name: "nope" }), (err: ServiceError) => err.code === 5);
  });
});
