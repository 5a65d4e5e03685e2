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
