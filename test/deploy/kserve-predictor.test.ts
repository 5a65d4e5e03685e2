// `omaf serve` as a KServe predictor: the model folder KServe fills at /mnt/models (an unpacked artifact, one with a
// leading folder, or the artifact file itself) is served with the artifact's own digest, and --model-name /
// OMAF_MODEL_NAME / MODEL_NAME (what the ServingRuntime passes as {{.Name}}) renames the model on every protocol.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { unpackArchive } from "../../src/archive/unpack.js";
import { pack } from "../../src/artifact/pack.js";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeSumModel } from "../helpers/serve.js";

const INTERFACES = ["--interfaces", "oip-rest,kserve-v1"];

describe("omaf serve as a KServe predictor", { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let zip: string;
  let digest: string;

  before(async () => {
    tmp = await tempDir("omaf-kserve-predictor-");
    zip = path.join(tmp.dir, "sum-check.zip");
    digest = (await pack(await writeSumModel(path.join(tmp.dir, "src")), { output: zip })).artifactDigest;
  });
  after(async () => {
    await tmp?.cleanup();
  });

  /** Serves `source`, checks the model answers under `name` with the artifact's digest, and stops the server. */
  async function servesAs(source: string, name: string, opts: { args?: string[]; env?: Record<string, string> } = {}) {
    const server = await startServe(source, { args: [...INTERFACES, "--cache-dir", path.join(tmp.dir, "cache"), ...(opts.args ?? [])], env: opts.env });
    try {
      const base = server.url("OIP v2 REST");
      const meta = await fetch(`${base}/v2/models/${name}`);
      assert.equal(meta.status, 200, await meta.clone().text());
      assert.equal(((await meta.json()) as { name: string }).name, name);
      assert.equal(meta.headers.get("x-omaf-artifact-digest"), digest);
      const infer = await fetch(`${base}/v2/models/${name}/infer`, {
        method: "POST",
        body: JSON.stringify({
          inputs: [
            { name: "a", shape: [1], datatype: "FP64", data: [2] },
            { name: "b", shape: [1], datatype: "FP64", data: [3] },
          ],
        }),
      });
      const answer = (await infer.json()) as { model_name: string; outputs: Array<{ data: number[] }> };
      assert.equal(infer.status, 200, JSON.stringify(answer));
      assert.equal(answer.model_name, name);
      assert.deepEqual(answer.outputs[0].data, [5]);
      assert.equal(infer.headers.get("x-omaf-model"), name);
      return server;
    } catch (err) {
      await server.kill();
      throw err;
    }
  }

  it("serves the unpacked artifact at the folder's root, in its only sub-folder, or the artifact file in the folder", async () => {
    const unpacked = path.join(tmp.dir, "mnt-unpacked", "models");
    await unpackArchive(zip, unpacked);
    const nested = path.join(tmp.dir, "mnt-nested", "models");
    await unpackArchive(zip, path.join(nested, "sum-check-1.0.0"));
    const file = path.join(tmp.dir, "mnt-file", "models");
    await mkdir(file, { recursive: true });
    await copyFile(zip, path.join(file, "sum-check.zip"));
    for (const models of [unpacked, nested, file]) {
      const server = await servesAs(models, "sum-check");
      await server.kill();
    }
  });

  it("a folder without an artifact stops serve with OMAF_ERR_NO_ARTIFACT and exit code 2", async () => {
    const empty = path.join(tmp.dir, "mnt-empty", "models");
    await mkdir(empty, { recursive: true });
    await assert.rejects(startServe(empty, { args: INTERFACES, timeoutMs: 60_000 }), /error OMAF_ERR_NO_ARTIFACT: .*holds no artifact.*it is empty/);
  });

  it("--model-name, OMAF_MODEL_NAME and MODEL_NAME rename the model on every route, answer and log line; the manifest's name is then unknown", async () => {
    const cases: Array<{ name: string; args?: string[]; env?: Record<string, string> }> = [
      { name: "iris-prod", args: ["--model-name", "iris-prod"] },
      { name: "from-omaf-env", env: { OMAF_MODEL_NAME: "from-omaf-env" } },
      { name: "from-chassis-env", env: { MODEL_NAME: "from-chassis-env" } },
    ];
    for (const [i, c] of cases.entries()) {
      const logFile = path.join(tmp.dir, `inference-${i}.log`);
      const server = await servesAs(zip, c.name, { ...c, args: [...(c.args ?? []), "--inference-log-file", logFile] });
      try {
        const base = server.url("OIP v2 REST");
        assert.equal((await fetch(`${base}/v2/models/sum-check`)).status, 404, "the manifest's name is no longer served");
        const v1 = await fetch(`${base}/v1/models/${c.name}:predict`, { method: "POST", body: JSON.stringify({ instances: [[1, 2]] }) });
        assert.equal(v1.status, 200, await v1.clone().text());
        assert.deepEqual(((await v1.json()) as { predictions: unknown }).predictions, [[3]]);
        const status = await fetch(`${base}/v1/models/${c.name}`);
        assert.deepEqual(await status.json(), { name: c.name, ready: true });
        // The inference log names the served model (written out by a graceful stop).
        server.child.kill("SIGTERM");
        assert.equal((await server.exited).code, 0);
        const lines = (await readFile(logFile, "utf8"))
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { model?: string; protocol?: string; msg?: string });
        const logged = lines.filter((l) => l.msg === "inference");
        assert.equal(logged.length, 2, JSON.stringify(lines));
        for (const l of logged) assert.equal(l.model, c.name);
      } finally {
        await server.kill();
      }
    }
  });

  it("a bad --model-name is a settings error before anything is served", async () => {
    await assert.rejects(startServe(zip, { args: [...INTERFACES, "--model-name", "no spaces"], timeoutMs: 60_000 }), /OMAF_ERR_SETTINGS.*modelName/);
  });
});
