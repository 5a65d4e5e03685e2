// The OMI service over real sockets, in this process: startServer() on 127.0.0.1:0 with real node-entrypoint models.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServiceError } from "@grpc/grpc-js";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import { ModelRegistry } from "../../src/registry/registry.js";
import { createModel } from "../../src/runtime/load.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { loadSettings, type SettingFlags } from "../../src/settings.js";
import { tempDir } from "../helpers/fixtures.js";
import { entryJson, jsonItem, omiClient, type OmiClient } from "../helpers/omi-client.js";
import { writeBehaveModel, writeFailingInitModel, writeSumModel } from "../helpers/serve.js";
import { parse } from "yaml";
import { readFile } from "node:fs/promises";

const DIGEST = "sha256:" + "0f".repeat(32);

interface Served {
  server: RunningServer;
  dataplane: DataPlane;
  client: OmiClient;
  close(): Promise<void>;
}

async function serve(dir: string, flags: SettingFlags = {}): Promise<Served> {
  const manifest = parse(await readFile(join(dir, "odahuflow.model.yaml"), "utf8"));
  const settings = loadSettings({ env: {}, flags: { host: "127.0.0.1", interfaces: ["omi"], omiPort: 0, lazy: true, ...flags } });
  const model = createModel({ dir, manifest, provenance: { artifactDigest: DIGEST } });
  const dataplane = new DataPlane(
    model,
    { manifest, artifactDigest: DIGEST, source: dir },
    {
      requestTimeoutMs: settings.requestTimeoutMs,
      maxInFlight: settings.maxInFlight,
    },
  );
  const server = await startServer({ settings, registry: ModelRegistry.fromDataPlanes([dataplane]) });
  const client = omiClient(`127.0.0.1:${server.listeners[0].port}`);
  return {
    server,
    dataplane,
    client,
    async close() {
      client.close();
      server.forceStop();
      await server.stop("test over");
    },
  };
}

const grpcCode = async (p: Promise<unknown>): Promise<{ code: number; details: string }> => {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  assert.fail("expected a gRPC error");
};

describe("OMI service (in process)", () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    root = await tempDir("omaf-omi-");
  });
  after(() => root.cleanup());

  describe("a matrix model that throws on negative values", () => {
    let s: Served;
    before(async () => {
      s = await serve(await writeSumModel(join(root.dir, "sum")));
    });
    after(() => s.close());

    it("is NOT_SERVING until the first Status loads it (lazy), then Status reports the model", async () => {
      assert.equal(await s.client.health(), "NOT_SERVING");
      assert.equal(await s.client.health("ModzyModel"), "NOT_SERVING");
      assert.equal(s.dataplane.state, "unloaded");

      const first = await s.client.Status({});
      assert.equal(first.status_code, 200);
      assert.equal(first.status, "OK");
      assert.equal(first.message, "Model Initialized Successfully.");
      assert.deepEqual(first.model_info, {
        model_name: "sum-check",
        model_version: "1.0.0-1",
        model_author: "",
        model_type: "node",
        source: "omaf",
      });
      assert.equal(first.description.summary, "sum-check 1.0.0-1");
      assert.match(first.description.technical, /environment: node; mode: matrix; artifact: sha256:0f0f/);
      assert.deepEqual(
        first.inputs.map((i) => [i.filename, i.accepted_media_types, i.max_size]),
        [["input", ["application/json"], "64M"]],
      );
      assert.match(first.inputs[0].description, /\[-1,2\]/);
      assert.deepEqual(
        first.outputs.map((o) => o.filename),
        ["results.json", "model_name", "model_version", "artifact_digest"],
      );
      assert.equal(first.features.batch_size, 1);
      assert.deepEqual(first.timeout, { status: "30s", run: "30s" });

      const second = await s.client.Status({});
      assert.equal(second.status_code, 200);
      assert.equal(second.message, "Model Already Initialized.");
      assert.equal(await s.client.health(), "SERVING");
      assert.equal(await s.client.health("ModzyModel"), "SERVING");
      const unknown = await grpcCode(s.client.health("NoSuchService"));
      assert.equal(unknown.code, 5);
    });

    it("answers a single item with results.json and provenance entries", async () => {
      const res = await s.client.Run({
        inputs: [
          jsonItem({
            columns: ["a", "b"],
            data: [
              [1, 2],
              [3, 4],
            ],
          }),
        ],
      });
      assert.equal(res.status_code, 200);
      assert.equal(res.status, "OK");
      assert.equal(res.outputs.length, 1);
      const [item] = res.outputs;
      assert.equal(item.success, true);
      assert.deepEqual(entryJson(item.output, "results.json"), { data: { result: [[3], [7]], columns: ["sum"] } });
      assert.equal(item.output.model_name.toString(), "sum-check");
      assert.equal(item.output.model_version.toString(), "1.0.0-1");
      assert.equal(item.output.artifact_digest.toString(), DIGEST);
    });

    it("answers each item of a multi-item Run on its own, in order", async () => {
      const res = await s.client.Run({
        inputs: [
          jsonItem([[1, 1]]),
          { input: { input: Buffer.from("{not json") } },
          jsonItem([[1, 2, 3]]),
          jsonItem([[5, -1]]),
          { input: { "meta.txt": Buffer.from("x"), "input.json": Buffer.from("[[10, 20]]") } },
          { input: { a: Buffer.from("[[1,1]]"), b: Buffer.from("[[2,2]]") } },
          { input: {} },
          jsonItem({ data: [[2, 2]] }, "data"),
        ],
      });
      assert.equal(res.status_code, 200, "per-item failures do not fail the call (as in Chassis)");
      assert.deepEqual(
        res.outputs.map((o) => o.success),
        [true, false, false, false, true, false, false, true],
      );
      const errors = res.outputs.map((o) => (o.success ? undefined : (entryJson(o.output, "error") as { code: string; message: string })));
      assert.equal(errors[1]!.code, "OMAF_ERR_BAD_INPUT");
      assert.match(errors[1]!.message, /item 1 \(input\) is not valid JSON/);
      assert.equal(errors[2]!.code, "OMAF_ERR_BAD_INPUT");
      assert.match(errors[2]!.message, /rows of 2 values/);
      assert.equal(errors[3]!.code, "OMAF_ERR_PREDICT");
      assert.match(errors[3]!.message, /negative values are not allowed/);
      assert.equal(errors[5]!.code, "OMAF_ERR_BAD_INPUT");
      assert.match(errors[5]!.message, /2 entries \(a, b\)/);
      assert.match(errors[6]!.message, /no input entries/);
      assert.deepEqual(entryJson(res.outputs[0].output, "results.json"), { data: { result: [[2]], columns: ["sum"] } });
      assert.deepEqual(entryJson(res.outputs[4].output, "results.json"), { data: { result: [[30]], columns: ["sum"] } });
      assert.deepEqual(entryJson(res.outputs[7].output, "results.json"), { data: { result: [[4]], columns: ["sum"] } });
      for (const o of res.outputs) assert.equal(o.output.artifact_digest.toString(), DIGEST);
    });

    it("answers an empty Run with no outputs", async () => {
      const res = await s.client.Run({ inputs: [] });
      assert.equal(res.status_code, 200);
      assert.deepEqual(res.outputs, []);
    });

    it("lists ModzyModel and the health service through reflection", async () => {
      const services = await s.client.listServices();
      assert.ok(services.includes("ModzyModel"), services.join(", "));
      assert.ok(services.includes("grpc.health.v1.Health"), services.join(", "));
      assert.ok((await s.client.fileContainingSymbol("ModzyModel")) >= 1);
      assert.ok((await s.client.fileContainingSymbol("RunRequest")) >= 1);
      await assert.rejects(s.client.fileContainingSymbol("NoSuch"), /not found/i);
    });
  });

  describe("an objects model that can hang", () => {
    let s: Served;
    before(async () => {
      s = await serve(await writeBehaveModel(join(root.dir, "behave")), { requestTimeoutMs: 200, lazy: false });
    });
    after(() => s.close());

    it("loads on the first Run too, times a hanging item out and keeps serving", async () => {
      const res = await s.client.Run({ inputs: [jsonItem({ hang: true }), jsonItem({ text: "hi" }), jsonItem({ throw: "model says no" })] });
      assert.equal(res.status_code, 200);
      assert.deepEqual(
        res.outputs.map((o) => o.success),
        [false, true, false],
      );
      assert.deepEqual(entryJson(res.outputs[0].output, "error"), { code: "OMAF_ERR_TIMEOUT", message: "the prediction took longer than 200 ms" });
      assert.deepEqual(entryJson(res.outputs[1].output, "results.json"), { data: { result: { echo: { text: "hi" } } } });
      assert.equal((entryJson(res.outputs[2].output, "error") as { code: string }).code, "OMAF_ERR_PREDICT");
      assert.equal(s.dataplane.inFlightCount, 0);
      const again = await s.client.Run({ inputs: [jsonItem([1, 2])] });
      assert.deepEqual(entryJson(again.outputs[0].output, "results.json"), { data: { result: { echo: [1, 2] } } });
      // Objects models take JSON objects or arrays only.
      const scalar = await s.client.Run({ inputs: [jsonItem(42)] });
      assert.equal((entryJson(scalar.outputs[0].output, "error") as { code: string }).code, "OMAF_ERR_BAD_INPUT");
    });
  });

  describe("in-flight limit", () => {
    let s: Served;
    before(async () => {
      s = await serve(await writeBehaveModel(join(root.dir, "limited")), { maxInFlight: 1, lazy: false });
    });
    after(() => s.close());

    it("answers UNAVAILABLE with the omaf code while the limit is reached, then serves again", async () => {
      const slow = s.client.Run({ inputs: [jsonItem({ sleepMs: 300 })] });
      for (let i = 0; s.dataplane.inFlightCount === 0; i++) {
        assert.ok(i < 2000, "the slow Run never reached the dataplane");
        await new Promise((r) => setTimeout(r, 5));
      }
      const refused = await grpcCode(s.client.Run({ inputs: [jsonItem({ text: "second" })] }));
      assert.equal(refused.code, 14);
      assert.match(refused.details, /^OMAF_ERR_UNAVAILABLE: too many requests in flight \(limit 1\)/);
      assert.equal((await slow).outputs[0].success, true);
      assert.equal((await s.client.Run({ inputs: [jsonItem({ text: "third" })] })).outputs[0].success, true);
    });
  });

  describe("message size limit", () => {
    let s: Served;
    before(async () => {
      s = await serve(await writeBehaveModel(join(root.dir, "small")), { maxMessageBytes: "4KiB" });
    });
    after(() => s.close());

    it("refuses a request over the limit with RESOURCE_EXHAUSTED and serves smaller ones", async () => {
      const big = await grpcCode(s.client.Run({ inputs: [jsonItem({ text: "x".repeat(8192) })] }));
      assert.equal(big.code, 8);
      const ok = await s.client.Run({ inputs: [jsonItem({ text: "x".repeat(100) })] });
      assert.equal(ok.outputs[0].success, true);
      const status = await s.client.Status({});
      assert.equal(status.inputs[0].max_size, "4K");
    });
  });

  describe("a model whose init() throws", () => {
    let s: Served;
    before(async () => {
      s = await serve(await writeFailingInitModel(join(root.dir, "broken")));
    });
    after(() => s.close());

    it("answers Status 500 with the error, keeps answering, and fails Run items as not ready", async () => {
      for (let i = 0; i < 2; i++) {
        const st = await s.client.Status({});
        assert.equal(st.status_code, 500);
        assert.equal(st.status, "Internal Server Error");
        assert.equal(st.message, "Model Failed to Initialize.");
        assert.match(st.description.details, /^OMAF_ERR_\w+: .*init failed on purpose/);
        assert.equal(st.model_info.model_name, "broken-init");
      }
      assert.equal(await s.client.health(), "NOT_SERVING");
      const run = await s.client.Run({ inputs: [jsonItem({ a: 1 }), jsonItem({ b: 2 })] });
      assert.equal(run.status_code, 500);
      assert.equal(run.message, "Model Failed to Initialize.");
      assert.deepEqual(
        run.outputs.map((o) => o.success),
        [false, false],
      );
      const err = entryJson(run.outputs[0].output, "error") as { code: string; message: string };
      assert.equal(err.code, "OMAF_ERR_MODEL_NOT_READY");
      assert.match(err.message, /init failed on purpose/);
    });
  });

  describe("Shutdown", () => {
    it("answers 200, then the server drains, closes the model and its port", async () => {
      const s = await serve(await writeBehaveModel(join(root.dir, "shutdown")), { lazy: false });
      try {
        await s.client.Status({});
        assert.equal(await s.client.health(), "SERVING");
        const res = await s.client.Shutdown({});
        assert.deepEqual(res, { status_code: 200, status: "OK", message: "Model Shutdown Successfully." });
        const stopped = await s.server.stopped;
        assert.equal(stopped.reason, "Shutdown call");
        assert.equal(stopped.forced, false);
        assert.equal(s.dataplane.state, "closed");
        const after = omiClient(s.client.raw.getChannel().getTarget().replace(/^dns:/, ""));
        const refused = await grpcCode(after.Status({}));
        assert.equal(refused.code, 14);
        after.close();
      } finally {
        await s.close();
      }
    });
  });
});
