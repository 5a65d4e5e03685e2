// Adaptive batching in the dataplane: requests that arrive together share model calls, and each still gets exactly
// the answer (its rows, its requested outputs), the error and the log line it would get alone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataPlane, type BatchingOptions, type ServedArtifact } from "../../src/dataplane/dataplane.js";
import { isOmafError } from "../../src/errors.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../../src/runtime/model.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const artifact: ServedArtifact = {
  manifest: {
    binaries: { type: "onnx", dependencies: "none" },
    model: { name: "double", version: "1.0.0-1", workDir: ".", entrypoint: "m.onnx" },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "0.0.0" },
  },
  artifactDigest: `sha256:${"cd".repeat(32)}`,
  source: "/tmp/double",
};

/**
 * A tensor model with a batch axis: `x` FP64 [-1, 2] → `twice` = 2x and `sum` = the row sums. A row holding 13 makes
 * it throw. It records every call's row count and answers after `delayMs`, so calls that arrive meanwhile queue.
 */
class DoublingModel implements Model {
  calls: number[] = [];
  constructor(
    private readonly delayMs = 5,
    readonly concurrency = 1,
  ) {}
  async load(): Promise<void> {}
  metadata(): ModelMetadata {
    return {
      name: "double",
      version: "1.0.0-1",
      environment: "onnx",
      mode: "matrix",
      inputs: [{ name: "x", datatype: "FP64", shape: [-1, 2] }],
      outputs: [
        { name: "twice", datatype: "FP64", shape: [-1, 2] },
        { name: "sum", datatype: "FP64", shape: [-1] },
      ],
    };
  }
  async predictMatrix(): Promise<MatrixOutput> {
    throw new Error("tensor model");
  }
  async predictObjects(): Promise<unknown> {
    throw new Error("tensor model");
  }
  async predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const x = inputs[0].data as Float64Array;
    const rows = inputs[0].shape[0];
    this.calls.push(rows);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (x.includes(13)) throw new Error("13 is unlucky");
    const all: Tensor[] = [
      { name: "twice", datatype: "FP64", shape: [rows, 2], data: x.map((v) => v * 2) },
      { name: "sum", datatype: "FP64", shape: [rows], data: Float64Array.from({ length: rows }, (_, r) => x[2 * r] + x[2 * r + 1]) },
    ];
    return outputNames ? all.filter((t) => outputNames.includes(t.name)) : all;
  }
  async close(): Promise<void> {}
}

const plane = (model: Model, batching: Partial<BatchingOptions> = {}, timeoutMs = 5000) =>
  new DataPlane(model, artifact, {
    requestTimeoutMs: timeoutMs,
    maxInFlight: 0,
    batching: { maxBatchSize: 32, maxBatchTimeMs: 20, rows: false, ...batching },
  });

const rowsTensor = (rows: number[][]): Tensor => ({ name: "x", datatype: "FP64", shape: [rows.length, 2], data: Float64Array.from(rows.flat()) });
const ctx = (i: number) => ({ requestId: `r${i}`, protocol: "test" });
const plain = (ts: Tensor[]) => ts.map((t) => ({ name: t.name, shape: t.shape, data: Array.from(t.data as Float64Array) }));

/** Request i: (i % 3) + 1 rows of distinct values, so any mix-up between requests shows. */
const rowsOf = (i: number) => Array.from({ length: (i % 3) + 1 }, (_, r) => [i * 10 + r, -i - r]);

describe("adaptive batching", () => {
  it("requests arriving together share model calls; each gets exactly its own rows back, as without batching", async () => {
    const batched = new DoublingModel();
    const alone = new DoublingModel();
    const on = plane(batched);
    const off = plane(alone, { maxBatchSize: 0 });
    await Promise.all([on.load(), off.load()]);
    const requests = Array.from({ length: 40 }, (_, i) => i);
    const [withBatching, without] = await Promise.all([
      Promise.all(requests.map((i) => on.predictTensors([rowsTensor(rowsOf(i))], undefined, ctx(i)))),
      Promise.all(requests.map((i) => off.predictTensors([rowsTensor(rowsOf(i))], undefined, ctx(i)))),
    ]);
    assert.deepEqual(withBatching.map(plain), without.map(plain));
    assert.equal(alone.calls.length, 40, "without batching every request is its own call");
    assert.ok(batched.calls.length < 20, `40 requests took ${batched.calls.length} calls`);
    assert.ok(
      batched.calls.every((n) => n <= 32),
      `a call exceeded the batch size: ${batched.calls}`,
    );
  });

  it("merges only requests asking for the same outputs, and each gets only what it asked for", async () => {
    const model = new DoublingModel();
    const dp = plane(model);
    await dp.load();
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => dp.predictTensors([rowsTensor(rowsOf(i))], i % 2 === 0 ? ["sum"] : ["twice"], ctx(i))),
    );
    answers.forEach((ts, i) => {
      assert.deepEqual(
        ts.map((t) => t.name),
        [i % 2 === 0 ? "sum" : "twice"],
      );
      const expected =
        i % 2 === 0
          ? rowsOf(i).map(([a, b]) => a + b)
          : rowsOf(i)
              .flat()
              .map((v) => v * 2);
      assert.deepEqual(Array.from(ts[0].data as Float64Array), expected);
    });
  });

  it("a request that makes the merged call fail fails alone; its batch-mates are answered", async () => {
    const model = new DoublingModel();
    const dp = plane(model);
    await dp.load();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => dp.predictTensors([rowsTensor(i === 4 ? [[13, 0]] : rowsOf(i))], ["sum"], ctx(i))),
    );
    results.forEach((r, i) => {
      if (i === 4) {
        assert.equal(r.status, "rejected");
        assert.ok(isOmafError((r as PromiseRejectedResult).reason, "OMAF_ERR_PREDICT"));
      } else {
        assert.equal(r.status, "fulfilled", `request ${i}: ${(r as PromiseRejectedResult).reason}`);
        assert.deepEqual(
          Array.from((r as PromiseFulfilledResult<Tensor[]>).value[0].data as Float64Array),
          rowsOf(i).map(([a, b]) => a + b),
        );
      }
    });
    // A bad shape never reaches the batch: it is refused before, on its own.
    await assert.rejects(dp.predictTensors([{ name: "x", datatype: "FP64", shape: [1, 3], data: new Float64Array(3) }], undefined, ctx(99)), (e: unknown) =>
      isOmafError(e, "OMAF_ERR_BAD_INPUT"),
    );
  });

  it("a lone request does not wait for a batch to fill", async () => {
    const model = new DoublingModel(0);
    const dp = plane(model, { maxBatchTimeMs: 5000 });
    await dp.load();
    const t0 = performance.now();
    await dp.predictTensors([rowsTensor([[1, 2]])], undefined, ctx(1));
    // With nothing else on its way the first request runs at once, not after the 5 s batch time.
    assert.ok(performance.now() - t0 < 2500, `a lone request waited ${Math.round(performance.now() - t0)} ms`);
  });

  it("requests that arrive in the same turn of the event loop share one call, though the model was free for the first", async () => {
    const model = new DoublingModel(0);
    const dp = plane(model, { maxBatchTimeMs: 0 });
    await dp.load();
    // As requests read from one socket read, or from many sockets ready at once: no wait is needed to merge them.
    const requests = Array.from({ length: 8 }, (_, i) => i);
    const answers = await Promise.all(requests.map((i) => dp.predictTensors([rowsTensor(rowsOf(i))], undefined, ctx(i))));
    assert.deepEqual(model.calls, [requests.reduce((n, i) => n + rowsOf(i).length, 0)]);
    assert.deepEqual(
      answers.map((a) => Array.from(a[1].data as Float64Array)),
      requests.map((i) => rowsOf(i).map(([a, b]) => a + b)),
    );
  });

  it("a request timed out while queued is not run", async () => {
    const model = new DoublingModel(300);
    const dp = plane(model, { maxBatchSize: 1000 }, 100);
    await dp.load();
    const first = dp.predictTensors([rowsTensor([[1, 1]])], undefined, ctx(1)).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    // Queued behind the first call (capacity 1), it times out before the model is free.
    const queued = dp.predictTensors([rowsTensor([[2, 2]])], undefined, ctx(2)).catch((e: unknown) => e);
    assert.ok(isOmafError(await queued, "OMAF_ERR_TIMEOUT"));
    assert.ok(isOmafError(await first, "OMAF_ERR_TIMEOUT"));
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(model.calls, [1], "the abandoned request never reached the model");
  });

  it("matrix-mode entrypoints are merged only when their rows are declared independent", async () => {
    class RowModel implements Model {
      calls: number[] = [];
      constructor(readonly concurrency = 1) {}
      async load(): Promise<void> {}
      metadata(): ModelMetadata {
        return { name: "rows", version: "1.0.0-1", environment: "python", mode: "matrix", inputs: [], outputs: [] };
      }
      async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
        this.calls.push(input.data.length);
        await new Promise((r) => setTimeout(r, 5));
        return { prediction: input.data.map((r) => [(r as number[]).reduce((a, b) => a + b, 0)]), columns: ["sum"] };
      }
      async predictObjects(): Promise<unknown> {
        return undefined;
      }
      async close(): Promise<void> {}
    }
    for (const rows of [false, true]) {
      const model = new RowModel();
      const dp = plane(model, { rows });
      await dp.load();
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => dp.predictMatrix({ data: rowsOf(i) }, ctx(i))));
      answers.forEach((a, i) => assert.deepEqual(a, { prediction: rowsOf(i).map(([x, y]) => [x + y]), columns: ["sum"] }));
      if (rows) assert.ok(model.calls.length < 12, `12 requests took ${model.calls.length} calls`);
      else assert.equal(model.calls.length, 12, "rows not declared independent are never merged");
    }
  });
});
