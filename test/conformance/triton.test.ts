// Health, readiness, metadata and extension requests through tritonclient (http and grpc, from test/.venv), for
// every conformance environment: what a Triton user's client asks besides inference. Expected metadata comes from
// the model itself, loaded in this process.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { createModel } from "../../src/runtime/load.js";
import type { ModelMetadata } from "../../src/runtime/model.js";
import { tempDir } from "../helpers/fixtures.js";
import { ENVIRONMENTS } from "./environments.js";
import { startConformanceServer, tensorsOf, type ConformanceEnvironment, type ConformanceServer } from "./harness.js";
import { kindOfTritonStatus } from "./adapters/triton.js";
import { TritonDriver, venvMissing } from "./triton/client.js";
import { writeFailingInitModel, writeNoColumnsModel, writeSumModel } from "../helpers/serve.js";

const missing = venvMissing();

interface TensorMeta {
  name: string;
  datatype: string;
  shape: (number | string)[];
}
interface ModelMeta {
  name: string;
  versions?: string[];
  platform?: string;
  inputs?: TensorMeta[];
  outputs?: TensorMeta[];
}

/** The model's own metadata, loaded in this process (not through any protocol). */
async function ownMetadata(env: ConformanceEnvironment, artifact: string, cacheDir: string): Promise<ModelMetadata> {
  const art = await materializeArtifact(artifact, { cacheDir });
  const model = createModel({ ...env.modelOptions, dir: art.dir, manifest: art.manifest, provenance: { artifactDigest: art.artifactDigest } });
  await model.load();
  try {
    return model.metadata();
  } finally {
    await model.close();
  }
}

/** Tensor metadata as tritonclient handed it back; gRPC's int64 dims arrive as JSON strings. */
const tensors = (list: TensorMeta[] | undefined) => (list ?? []).map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) }));

for (const env of ENVIRONMENTS) {
  describe(`tritonclient health, metadata and extensions (${env.name} model)`, { skip: missing }, () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    let server: ConformanceServer;
    let broken: ConformanceServer;
    let own: ModelMetadata;

    before(async () => {
      tmp = await tempDir(`omaf-triton-${env.name}-`);
      const [artifact, brokenArtifact] = await Promise.all([env.artifact(tmp.dir), env.broken(tmp.dir)]);
      const interfaces = ["oip-rest", "oip-grpc"];
      [server, broken, own] = await Promise.all([
        startConformanceServer(artifact, { interfaces, env: env.env }),
        startConformanceServer(brokenArtifact, { interfaces, env: env.env }),
        ownMetadata(env, artifact, join(tmp.dir, "cache")),
      ]);
    });
    after(async () => {
      await Promise.all([server?.stop(), broken?.stop()]);
      await tmp?.cleanup();
    });

    for (const protocol of ["http", "grpc"] as const) {
      describe(`tritonclient.${protocol}`, () => {
        let client: TritonDriver;
        let brokenClient: TritonDriver;
        before(() => {
          const iface = protocol === "http" ? "oip-rest" : "oip-grpc";
          client = new TritonDriver(protocol, `${server.host}:${server.ports[iface]}`);
          brokenClient = new TritonDriver(protocol, `${broken.host}:${broken.ports[iface]}`);
        });
        after(async () => {
          await Promise.all([client?.close(), brokenClient?.close()]);
        });

        it("is_server_live and is_server_ready are true; is_model_ready is true with and without the version", async () => {
          assert.equal(await client.call({ op: "live" }), true);
          assert.equal(await client.call({ op: "server_ready" }), true);
          assert.equal(await client.call({ op: "model_ready", model: server.modelName }), true);
          assert.equal(await client.call({ op: "model_ready", model: server.modelName, version: server.modelVersion }), true);
        });

        it("a server whose model failed to load is live but neither it nor its model is ready", async () => {
          assert.equal(await brokenClient.call({ op: "live" }), true);
          assert.equal(await brokenClient.call({ op: "server_ready" }), false);
          assert.equal(await brokenClient.call({ op: "model_ready", model: broken.modelName }), false);
        });

        it("get_server_metadata names the server and lists its extensions", async () => {
          const meta = await client.call<{ name: string; version: string; extensions?: string[] }>({ op: "server_metadata" });
          assert.equal(typeof meta.name, "string");
          assert.ok(meta.name.length > 0, `server name is empty: ${JSON.stringify(meta)}`);
          assert.equal(typeof meta.version, "string");
          assert.ok(Array.isArray(meta.extensions ?? []), `extensions is not a list: ${JSON.stringify(meta)}`);
        });

        it("get_model_metadata answers the model's name, version and tensors", async () => {
          for (const version of [undefined, server.modelVersion]) {
            const meta = await client.call<ModelMeta>({ op: "model_metadata", model: server.modelName, version });
            assert.equal(meta.name, server.modelName);
            assert.ok(meta.versions?.includes(server.modelVersion), `versions ${JSON.stringify(meta.versions)} lack ${server.modelVersion}`);
            assert.equal(typeof meta.platform, "string");
            const spec = (list: ModelMetadata["inputs"]) => list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
            assert.deepEqual(tensors(meta.inputs), spec(own.inputs));
            assert.deepEqual(tensors(meta.outputs), spec(own.outputs));
          }
        });

        it("outputs asked for with class_count (the classification extension, which omaf does not offer) are refused, not answered unclassified", async () => {
          const a = await client.request<{ outputs: { name: string; datatype: string; shape: number[] }[] }>({
            op: "infer",
            model: server.modelName,
            inputs: tensorsOf(env.good),
            outputs: { binary: true, class_count: 1 },
          });
          assert.equal(
            a.ok,
            false,
            `expected a refusal, got outputs ${JSON.stringify(a.ok && a.result.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })))}`,
          );
          if (!a.ok) assert.equal(kindOfTritonStatus(a.status), "bad_input", `status ${a.status}: ${a.message}`);
        });

        it("get_model_metadata of an unknown model or version fails with not found", async () => {
          for (const req of [{ model: "no-such-model" }, { model: server.modelName, version: "9.9.9-0" }]) {
            const a = await client.request({ op: "model_metadata", ...req });
            assert.equal(a.ok, false, `expected an error for ${JSON.stringify(req)}, got ${JSON.stringify(a)}`);
            if (!a.ok) assert.ok(a.status === "404" || a.status === "StatusCode.NOT_FOUND", `status ${a.status}: ${a.message}`);
          }
        });
      });
    }
  });
}

interface Duration {
  count: number;
  ns: number;
}
interface ModelStats {
  name: string;
  version: string;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, Duration>;
  batch_stats: { batch_size: number; compute_infer: Duration }[];
}
interface IndexRow {
  name: string;
  version: string;
  state: string;
  reason: string;
}

describe("tritonclient model repository and statistics (several node models)", { skip: missing }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ConformanceServer;

  before(async () => {
    tmp = await tempDir("omaf-triton-repo-");
    const repo = join(tmp.dir, "repo");
    await Promise.all([writeSumModel(join(repo, "sum")), writeNoColumnsModel(join(repo, "first")), writeFailingInitModel(join(repo, "broken"))]);
    server = await startConformanceServer([], { interfaces: ["oip-rest", "oip-grpc"], args: ["--model-repository", repo] });
  });
  after(async () => {
    await server?.stop();
    await tmp?.cleanup();
  });

  for (const protocol of ["http", "grpc"] as const) {
    describe(`tritonclient.${protocol}`, () => {
      let client: TritonDriver;
      before(() => {
        client = new TritonDriver(protocol, `${server.host}:${server.ports[protocol === "http" ? "oip-rest" : "oip-grpc"]}`);
      });
      after(() => client?.close());

      const sumInput = (width: number) => ({ name: "input", datatype: "FP64", shape: [1, width], data: Array.from({ length: width }, (_, i) => i + 1) });
      const statsOf = async (model: string) => (await client.call<{ model_stats: ModelStats[] }>({ op: "statistics", model })).model_stats;

      it("get_model_repository_index lists every model, a failed one with its reason", async () => {
        const rows = await client.call<IndexRow[]>({ op: "repository_index" });
        const by = (name: string) => rows.find((r) => r.name === name);
        assert.deepEqual(by("sum-check"), { name: "sum-check", version: "1.0.0-1", state: "READY", reason: "" });
        assert.deepEqual(by("first-value"), { name: "first-value", version: "1.0.0-1", state: "READY", reason: "" });
        assert.equal(by("broken-init")?.state, "UNAVAILABLE");
        assert.match(by("broken-init")?.reason ?? "", /init failed on purpose/);
      });

      it("get_inference_statistics counts the requests sent: successes, failures and executions", async () => {
        const [before] = await statsOf("sum-check");
        const good = 4;
        const bad = 2;
        for (let i = 0; i < good; i++) assert.equal((await client.request({ op: "infer", model: "sum-check", inputs: [sumInput(2)] })).ok, true);
        for (let i = 0; i < bad; i++) assert.equal((await client.request({ op: "infer", model: "sum-check", inputs: [sumInput(3)] })).ok, false);
        const [after] = await statsOf("sum-check");
        assert.equal(after.name, "sum-check");
        assert.equal(after.version, "1.0.0-1");
        assert.equal(after.inference_stats.success.count - before.inference_stats.success.count, good);
        assert.equal(after.inference_stats.fail.count - before.inference_stats.fail.count, bad);
        assert.equal(after.inference_count - before.inference_count, good);
        assert.equal(after.execution_count - before.execution_count, good, "no batching: one execution per request");
        assert.ok(after.inference_stats.compute_infer.ns > before.inference_stats.compute_infer.ns);
        const all = await client.call<{ model_stats: ModelStats[] }>({ op: "statistics" });
        assert.deepEqual(all.model_stats.map((s) => s.name).sort(), ["broken-init", "first-value", "sum-check"]);
        const versioned = await client.call<{ model_stats: ModelStats[] }>({ op: "statistics", model: "sum-check", version: "1.0.0-1" });
        assert.equal(versioned.model_stats[0].inference_count, after.inference_count);
      });

      it("unload_model and load_model: the model goes and comes back, the others keep answering", async () => {
        await client.call({ op: "unload", model: "first-value" });
        assert.equal(await client.call({ op: "model_ready", model: "first-value" }), false);
        const rows = await client.call<IndexRow[]>({ op: "repository_index" });
        assert.deepEqual(
          rows.find((r) => r.name === "first-value"),
          { name: "first-value", version: "1.0.0-1", state: "UNAVAILABLE", reason: "unloaded" },
        );
        assert.equal((await client.request({ op: "infer", model: "first-value", inputs: [sumInput(2)] })).ok, false);
        assert.equal((await client.request({ op: "infer", model: "sum-check", inputs: [sumInput(2)] })).ok, true);
        await client.call({ op: "load", model: "first-value" });
        assert.equal(await client.call({ op: "model_ready", model: "first-value" }), true);
        const a = await client.request({ op: "load", model: "no-such-model" });
        assert.equal(a.ok, false);
        if (!a.ok) assert.ok(a.status === "404" || a.status === "StatusCode.NOT_FOUND", `status ${a.status}: ${a.message}`);
      });
    });
  }
});
