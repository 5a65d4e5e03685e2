import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DataPlane, type ServedArtifact } from "../../src/dataplane/dataplane.js";
import { createInferenceLog } from "../../src/dataplane/inference-log.js";
import { parseMatrixBody, parseObjectsBody } from "../../src/dataplane/json-input.js";
import { inferTensors } from "../../src/dataplane/tensor-inference.js";
import { isOmafError, OmafError } from "../../src/errors.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../../src/runtime/model.js";
import { tempDir } from "../helpers/fixtures.js";

const artifact: ServedArtifact = {
  manifest: {
    binaries: { type: "node", dependencies: "none" },
    model: { name: "fake", version: "1.0.0-1", workDir: ".", entrypoint: "model.mjs" },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "0.0.0" },
  },
  artifactDigest: "sha256:" + "ab".repeat(32),
  source: "/tmp/fake",
};

/** A programmable in-memory model. */
class FakeModel implements Model {
  loads = 0;
  closed = false;
  constructor(
    private readonly behaviour: {
      mode?: "matrix" | "objects";
      load?: () => Promise<void>;
      matrix?: (input: MatrixInput) => Promise<MatrixOutput>;
      objects?: (input: unknown) => Promise<unknown>;
      inputs?: ModelMetadata["inputs"];
      outputs?: ModelMetadata["outputs"];
    } = {},
  ) {}
  async load(): Promise<void> {
    this.loads++;
    await this.behaviour.load?.();
  }
  metadata(): ModelMetadata {
    return {
      name: "fake",
      version: "1.0.0-1",
      environment: "node",
      mode: this.behaviour.mode ?? "matrix",
      inputs: this.behaviour.inputs ?? [],
      outputs: this.behaviour.outputs ?? [],
    };
  }
  predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    return this.behaviour.matrix ? this.behaviour.matrix(input) : Promise.resolve({ prediction: input.data.map((r) => [r.length]), columns: ["n"] });
  }
  predictObjects(input: unknown): Promise<unknown> {
    return this.behaviour.objects ? this.behaviour.objects(input) : Promise.resolve({ echo: input });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const ctx = { requestId: "r-1", protocol: "test" };
const plane = (model: Model, opts: Partial<ConstructorParameters<typeof DataPlane>[2]> = {}) =>
  new DataPlane(model, artifact, { requestTimeoutMs: 1000, maxInFlight: 0, ...opts });

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<OmafError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isOmafError(err), `expected an OmafError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe("DataPlane", () => {
  it("loads once for concurrent callers and reports provenance", async () => {
    let release!: () => void;
    const model = new FakeModel({ load: () => new Promise<void>((r) => (release = r)) });
    const dp = plane(model);
    const states: string[] = [];
    dp.onStateChange((s) => states.push(s));
    assert.equal(dp.state, "unloaded");
    const a = dp.load();
    const b = dp.load();
    assert.equal(dp.state, "loading");
    release();
    await Promise.all([a, b]);
    await dp.load();
    assert.equal(model.loads, 1);
    assert.equal(dp.ready, true);
    assert.deepEqual(states, ["loading", "ready"]);
    assert.ok((dp.loadTimeMs ?? -1) >= 0);
    assert.deepEqual(dp.provenance, { modelName: "fake", modelVersion: "1.0.0-1", artifactDigest: artifact.artifactDigest });
  });

  it("records a load failure, answers not-ready, and retries on the next load()", async () => {
    let fail = true;
    const dp = plane(
      new FakeModel({
        load: async () => {
          if (fail) throw new Error("weights missing");
        },
      }),
    );
    await rejectsWith(dp.load(), "OMAF_ERR_MODEL_INIT", /weights missing/);
    assert.equal(dp.state, "failed");
    assert.match(dp.loadError!.message, /weights missing/);
    await rejectsWith(dp.predictJson([[1]], ctx), "OMAF_ERR_MODEL_NOT_READY", /failed to load.*weights missing/);
    fail = false;
    await dp.load();
    assert.equal(dp.state, "ready");
    assert.equal(dp.loadError, undefined);
  });

  it("loads a model on its first request (lazy serving) and answers it; metadata() is not-ready before", async () => {
    const model = new FakeModel();
    const dp = plane(model);
    assert.throws(
      () => dp.metadata(),
      (e: unknown) => isOmafError(e, "OMAF_ERR_MODEL_NOT_READY"),
    );
    assert.equal(dp.ready, false, "reading readiness starts nothing");
    assert.equal(model.loads, 0);
    assert.deepEqual(await dp.predictMatrix({ data: [[1, 2]] }, ctx), { prediction: [[2]], columns: ["n"] });
    assert.equal(model.loads, 1);
    assert.equal(dp.state, "ready");
  });

  it("a readiness probe starts a lazy load but never waits for it or retries a failed one", async () => {
    let release!: () => void;
    let fail = true;
    const model = new FakeModel({ load: () => new Promise<void>((resolve, reject) => (release = () => (fail ? reject(new Error("no weights")) : resolve()))) });
    const dp = plane(model);
    assert.equal(dp.probeReady(), false);
    assert.equal(dp.state, "loading");
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(dp.state, "failed");
    assert.equal(dp.probeReady(), false);
    assert.equal(model.loads, 1, "a probe does not retry a failed load");
    fail = false;
    const answer = dp.predictMatrix({ data: [[1]] }, ctx);
    release();
    await answer;
    assert.equal(model.loads, 2, "a request retries it");
    assert.equal(dp.probeReady(), true);
  });

  it("times out a hanging model and keeps serving", async () => {
    let calls = 0;
    const dp = plane(
      new FakeModel({
        matrix: (input) => {
          calls++;
          return input.data[0][0] === "hang" ? new Promise(() => {}) : Promise.resolve({ prediction: [[1]] });
        },
      }),
      { requestTimeoutMs: 50 },
    );
    await dp.load();
    await rejectsWith(dp.predictMatrix({ data: [["hang"]] }, ctx), "OMAF_ERR_TIMEOUT", /50 ms/);
    assert.equal(dp.inFlightCount, 0, "a timed-out request is answered and released");
    assert.deepEqual(await dp.predictMatrix({ data: [["ok"]] }, ctx), { prediction: [[1]] });
    assert.equal(calls, 2);
  });

  it("maps model exceptions to OMAF_ERR_PREDICT and keeps OmafErrors as they are", async () => {
    const dp = plane(
      new FakeModel({
        matrix: async (input) => {
          const v = input.data[0][0];
          if (v === "throw") throw new TypeError("boom inside the model");
          if (v === "string") throw "a thrown string";
          if (v === "sync")
            return (() => {
              throw new RangeError("sync boom");
            })();
          if (v === "bad") throw new OmafError("OMAF_ERR_BAD_INPUT", "runtime says wrong dtype");
          return { prediction: [[v]] };
        },
      }),
    );
    await dp.load();
    await rejectsWith(dp.predictMatrix({ data: [["throw"]] }, ctx), "OMAF_ERR_PREDICT", /boom inside the model/);
    await rejectsWith(dp.predictMatrix({ data: [["string"]] }, ctx), "OMAF_ERR_PREDICT", /a thrown string/);
    await rejectsWith(dp.predictMatrix({ data: [["sync"]] }, ctx), "OMAF_ERR_PREDICT", /sync boom/);
    await rejectsWith(dp.predictMatrix({ data: [["bad"]] }, ctx), "OMAF_ERR_BAD_INPUT", /wrong dtype/);
    assert.deepEqual(await dp.predictMatrix({ data: [[7]] }, ctx), { prediction: [[7]] });
  });

  it("a model that throws synchronously (not a rejected promise) is mapped too", async () => {
    const model = new FakeModel();
    model.predictObjects = () => {
      throw new Error("thrown before any promise");
    };
    const dp = plane(model);
    await dp.load();
    await rejectsWith(dp.predictObjects({ a: 1 }, ctx), "OMAF_ERR_PREDICT", /thrown before any promise/);
  });

  it("checks matrix requests before calling the model", async () => {
    let called = 0;
    const dp = plane(
      new FakeModel({
        inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }],
        matrix: async () => {
          called++;
          return { prediction: [] };
        },
      }),
    );
    await dp.load();
    await rejectsWith(dp.predictMatrix({ data: [[1, 2, 3]] }, ctx), "OMAF_ERR_BAD_INPUT", /rows of 2 values.*got 3/);
    await rejectsWith(dp.predictMatrix({ data: [[1, 2], [3]] }, ctx), "OMAF_ERR_BAD_INPUT", /row 1 has 1/);
    await rejectsWith(dp.predictMatrix({ data: [] }, ctx), "OMAF_ERR_BAD_INPUT", /no rows/);
    await rejectsWith(dp.predictMatrix({ data: [1, 2] as unknown as unknown[][] }, ctx), "OMAF_ERR_BAD_INPUT", /row 0 is a number/);
    await rejectsWith(dp.predictMatrix({ data: [[1, 2]], columns: ["a"] }, ctx), "OMAF_ERR_BAD_INPUT", /names 1 columns/);
    assert.equal(called, 0);
    await dp.predictMatrix({ data: [[1, 2]], columns: ["a", "b"] }, ctx);
    assert.equal(called, 1);
  });

  it("reads JSON bodies by mode", async () => {
    const matrix = plane(new FakeModel());
    await matrix.load();
    assert.deepEqual(await matrix.predictJson({ columns: ["a", "b"], data: [[1, 2]] }, ctx), { result: [[2]], columns: ["n"] });
    assert.deepEqual(await matrix.predictJson([[1, 2, 3]], ctx), { result: [[3]], columns: ["n"] });
    await rejectsWith(matrix.predictJson({ rows: [] }, ctx), "OMAF_ERR_BAD_INPUT", /"data" must be a 2-D array/);
    await rejectsWith(matrix.predictJson("text", ctx), "OMAF_ERR_BAD_INPUT", /not a string/);

    const objects = plane(new FakeModel({ mode: "objects" }));
    await objects.load();
    assert.deepEqual(await objects.predictJson({ text: "hi" }, ctx), { result: { echo: { text: "hi" } } });
    assert.deepEqual(await objects.predictJson([1, 2], ctx), { result: { echo: [1, 2] } });
    await rejectsWith(objects.predictJson(42, ctx), "OMAF_ERR_BAD_INPUT", /object or array/);
  });

  it("runs a batch item by item: one failure does not fail the others", async () => {
    const dp = plane(
      new FakeModel({
        mode: "objects",
        objects: async (x) => {
          if ((x as { fail?: boolean }).fail) throw new Error("item failed");
          return x;
        },
      }),
    );
    await dp.load();
    const results = await dp.predictJsonBatch(
      [
        { ok: true, value: { a: 1 } },
        { ok: false, error: new OmafError("OMAF_ERR_BAD_INPUT", "not JSON") },
        { ok: true, value: { fail: true } },
        { ok: true, value: { b: 2 } },
      ],
      ctx,
    );
    assert.deepEqual(
      results.map((r) => (r.ok ? r.value : r.error.code)),
      [{ result: { a: 1 } }, "OMAF_ERR_BAD_INPUT", "OMAF_ERR_PREDICT", { result: { b: 2 } }],
    );
  });

  it("refuses new requests while draining, lets admitted ones finish, and closes the model", async () => {
    let release!: () => void;
    const model = new FakeModel({ mode: "objects", objects: (x) => new Promise((r) => (release = () => r(x))) });
    const dp = plane(model);
    await dp.load();
    const inFlight = dp.predictObjects({ slow: true }, ctx);
    await new Promise((r) => setImmediate(r));
    let drained = false;
    const drain = dp.drain().then(() => (drained = true));
    assert.equal(dp.state, "draining");
    assert.equal(dp.ready, false);
    await rejectsWith(dp.predictObjects({ late: true }, ctx), "OMAF_ERR_UNAVAILABLE", /shutting down/);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(drained, false, "drain waits for the admitted request");
    release();
    assert.deepEqual(await inFlight, { slow: true });
    await drain;
    await dp.close();
    assert.equal(model.closed, true);
    assert.equal(dp.state, "closed");
  });

  it("refuses to start loading once draining", async () => {
    const model = new FakeModel();
    const dp = plane(model);
    await dp.drain();
    await rejectsWith(dp.load(), "OMAF_ERR_UNAVAILABLE");
    assert.equal(model.loads, 0);
  });

  it("limits requests in flight", async () => {
    const releases: Array<() => void> = [];
    const dp = plane(new FakeModel({ mode: "objects", objects: (x) => new Promise((r) => releases.push(() => r(x))) }), { maxInFlight: 2 });
    await dp.load();
    const a = dp.predictObjects({ n: 1 }, ctx);
    const b = dp.predictObjects({ n: 2 }, ctx);
    await rejectsWith(dp.predictObjects({ n: 3 }, ctx), "OMAF_ERR_UNAVAILABLE", /limit 2/);
    await new Promise((r) => setImmediate(r));
    for (const r of releases) r();
    await Promise.all([a, b]);
    const c = dp.predictObjects({ n: 4 }, ctx);
    await new Promise((r) => setImmediate(r));
    releases.at(-1)!();
    assert.deepEqual(await c, { n: 4 }, "a freed slot admits the next request");
  });

  it("writes one inference log line per prediction, payloads only when asked", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const read = async (file: string) =>
        (await readFile(file, "utf8"))
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const logPayloads of [false, true]) {
        const file = join(dir, `log-${logPayloads}.jsonl`);
        const log = createInferenceLog({ file });
        const dp = plane(
          new FakeModel({
            matrix: async (input) => {
              if (input.data[0][0] === -1) throw new Error("negative");
              return { prediction: [[1]] };
            },
          }),
          { logger: log.logger, logPayloads },
        );
        await dp.load();
        await dp.predictMatrix({ data: [[5]] }, { requestId: "req-ok", protocol: "omi" });
        await dp.predictMatrix({ data: [[-1]] }, { requestId: "req-bad", protocol: "omi" }).catch(() => {});
        await log.flush();
        const lines = await read(file);
        const inference = lines.filter((l) => l.msg === "inference");
        assert.equal(inference.length, 2);
        const [ok, bad] = inference;
        for (const l of inference) {
          assert.equal(typeof l.time, "string");
          assert.equal(l.protocol, "omi");
          assert.equal(l.model, "fake");
          assert.equal(l.version, "1.0.0-1");
          assert.equal(l.digest, artifact.artifactDigest);
          assert.equal(typeof l.latencyMs, "number");
        }
        assert.equal(ok.requestId, "req-ok");
        assert.equal(ok.status, "ok");
        assert.equal(bad.requestId, "req-bad");
        assert.equal(bad.status, "error");
        assert.equal(bad.code, "OMAF_ERR_PREDICT");
        if (logPayloads) {
          assert.deepEqual(ok.input, { data: [[5]] });
          assert.deepEqual(ok.output, { prediction: [[1]] });
        } else {
          assert.equal("input" in ok, false);
          assert.equal("output" in ok, false);
        }
        assert.ok(lines.some((l) => l.msg === "model loaded"));
      }
    } finally {
      await cleanup();
    }
  });
});

describe("tensor requests to matrix models", () => {
  const rowsOf = (values: number[]) => ({ name: "input", datatype: "FP64" as const, shape: [1, values.length], data: Float64Array.from(values) });

  it("a model that answers another datatype than it declared is OMAF_ERR_PREDICT naming both, not a re-typed answer", async () => {
    const dp = plane(
      new FakeModel({
        outputs: [{ name: "prediction", datatype: "FP64", shape: [-1, 1] }],
        matrix: async (input) => ({ prediction: input.data.map((r) => [r[0] === 1 ? "one" : r[0]]) }),
      }),
    );
    await dp.load();
    const [ok] = await dp.infer(ctx, (i) => inferTensors(i, [rowsOf([2, 0])], undefined));
    assert.equal(ok.datatype, "FP64");
    assert.deepEqual(Array.from(ok.data as Float64Array), [2]);
    await rejectsWith(
      dp.infer(ctx, (i) => inferTensors(i, [rowsOf([1, 0])], undefined)),
      "OMAF_ERR_PREDICT",
      /declared output prediction FP64 \[-1,1\].*"one"/,
    );
  });

  it("null in a declared float output is NaN (how GPPI bridges answer NaN)", async () => {
    const dp = plane(new FakeModel({ outputs: [{ name: "prediction", datatype: "FP64", shape: [-1, 1] }], matrix: async () => ({ prediction: [[null]] }) }));
    await dp.load();
    const [t] = await dp.infer(ctx, (i) => inferTensors(i, [rowsOf([1])], undefined));
    assert.ok(Number.isNaN((t.data as Float64Array)[0]));
  });
});

describe("JSON request forms", () => {
  it("accepts {columns?, data} and bare 2-D arrays for matrix models", () => {
    assert.deepEqual(parseMatrixBody({ data: [[1, 2]] }), { data: [[1, 2]] });
    assert.deepEqual(parseMatrixBody({ columns: ["a", "b"], data: [[1, 2]] }), { data: [[1, 2]], columns: ["a", "b"] });
    assert.deepEqual(parseMatrixBody([[1, 2]]), { data: [[1, 2]] });
    assert.throws(() => parseMatrixBody({ columns: [1], data: [[1]] }), /"columns" must be an array of strings/);
    assert.throws(() => parseMatrixBody({ data: "x" }), /"data" must be a 2-D array/);
    assert.throws(
      () => parseMatrixBody(null),
      (e: unknown) => isOmafError(e, "OMAF_ERR_BAD_INPUT"),
    );
  });

  it("accepts any JSON object or array for objects models", () => {
    assert.deepEqual(parseObjectsBody({ a: 1 }), { a: 1 });
    assert.deepEqual(parseObjectsBody([]), []);
    assert.throws(() => parseObjectsBody("s"), /object or array, not a string/);
  });
});
