// The model registry in this process, with real node models read from real folders (openServedModel, as `omaf
// serve` reads them): which version a request without one reaches, what the index says, and what a reload does
// when the new artifact fails.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isOmafError, OmafError } from "../../src/errors.js";
import { ModelRegistry } from "../../src/registry/registry.js";
import { openServedModel } from "../../src/server/serve.js";
import { loadSettings } from "../../src/settings.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { nodeManifest } from "../helpers/serve.js";

/** A matrix model `name` `version` answering [[answer]]; `failInit` makes its init() throw. */
async function writeModel(dir: string, name: string, version: string, answer: number, failInit = false): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest(name, "model.mjs", { version }),
    "src/model.mjs": `export function init() { ${failInit ? 'throw new Error("init failed on purpose");' : 'return "matrix";'} }
export function predict_on_matrix(rows) { return [rows.map(() => [${answer}]), ["answer"]]; }
`,
  });
  return dir;
}

const ctx = { requestId: "t", protocol: "test" };

describe("ModelRegistry", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let registry: ModelRegistry;
  const repo = () => join(tmp.dir, "repo");

  before(async () => {
    tmp = await tempDir("omaf-registry-unit-");
    await writeModel(join(repo(), "m-1"), "m", "1.2.0-1", 1);
    await writeModel(join(repo(), "m-2"), "m", "1.10.0-1", 2);
    await writeModel(join(repo(), "other"), "other", "0.1-1", 3);
    const settings = loadSettings({ env: {}, flags: { cacheDir: join(tmp.dir, "cache"), nodeWorkers: 1 } });
    registry = new ModelRegistry({ open: (source) => openServedModel(source, settings), repository: repo(), unloadTimeoutMs: 5000 });
    await registry.start([]);
    await registry.loadAll();
  });
  after(async () => {
    await registry?.close();
    await tmp?.cleanup();
  });

  const answer = async (name: string, version?: string) => {
    const out = await registry.resolve(name, version).predictMatrix({ data: [[0]] }, ctx);
    return (out.prediction as number[][])[0][0];
  };

  it("a request without a version reaches the highest served one; a named version reaches that one", async () => {
    assert.equal(await answer("m"), 2, "1.10.0-1 is above 1.2.0-1");
    assert.equal(await answer("m", "1.2.0-1"), 1);
    assert.deepEqual(registry.versionsOf("m"), ["1.10.0-1", "1.2.0-1"]);
    assert.equal(registry.ready, true);
    assert.throws(
      () => registry.resolve("m", "9.0.0-1"),
      (err) => isOmafError(err, "OMAF_ERR_MODEL_NOT_FOUND") && /has version '1\.10\.0-1', '1\.2\.0-1'/.test(err.message),
    );
    assert.throws(
      () => registry.resolve("nope"),
      (err) => isOmafError(err, "OMAF_ERR_MODEL_NOT_FOUND"),
    );
  });

  it("after the highest version is unloaded, requests without a version reach the next one", async () => {
    await registry.unload("m");
    assert.throws(
      () => registry.resolve("m"),
      (err) => isOmafError(err, "OMAF_ERR_MODEL_NOT_READY") && /is unloaded/.test(err.message),
    );
    assert.deepEqual(registry.names(), ["other"]);
    assert.equal(registry.ready, true, "unloaded models do not count for readiness");
    await registry.load("m");
    assert.equal(await answer("m"), 2);
    assert.deepEqual(
      registry.index().map((r) => `${r.name} ${r.version} ${r.state}`),
      ["m 1.10.0-1 READY", "m 1.2.0-1 READY", "other 0.1-1 READY"],
    );
  });

  it("a changed artifact that fails to load leaves the served version serving; a good change replaces it", async () => {
    const before = registry.resolve("other");
    await writeModel(join(repo(), "other"), "other", "0.1-1", 4, true);
    await assert.rejects(registry.load("other"), /init failed on purpose/);
    assert.equal(registry.resolve("other"), before, "the old dataplane still serves");
    assert.equal(await answer("other"), 3);
    assert.equal(registry.index().find((r) => r.name === "other")?.state, "READY");

    await writeModel(join(repo(), "other"), "other", "0.1-1", 5);
    await registry.load("other");
    assert.equal(await answer("other"), 5);
    assert.notEqual(registry.resolve("other"), before);
    await until(() => before.state === "closed");
  });

  it("a new repository entry holding a name and version already served is refused and listed with its reason", async () => {
    await writeModel(join(repo(), "m-copy"), "m", "1.2.0-1", 9);
    await assert.rejects(registry.load("m-copy"), (err) => isOmafError(err, "OMAF_ERR_MODEL_DUPLICATE"));
    const row = registry.index().find((r) => r.name === "m-copy");
    assert.equal(row?.state, "UNAVAILABLE");
    assert.match(row?.reason ?? "", /^OMAF_ERR_MODEL_DUPLICATE: .*m-copy holds model 'm' version '1\.2\.0-1'/);
    assert.equal(registry.ready, false, "a source that cannot be served keeps the server not ready");
    assert.equal(await answer("m", "1.2.0-1"), 1, "the served one is untouched");
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

describe("ModelRegistry start-up", () => {
  it("opens sources two at a time and keeps them in order; the first source that fails stops the start", async () => {
    const tmp = await tempDir("omaf-registry-open-");
    try {
      const repo = join(tmp.dir, "repo");
      const names = ["a", "b", "c", "d", "e", "f", "g"];
      for (const n of names) await writeTree(join(repo, n), { "odahuflow.model.yaml": "unread" });
      let open = 0;
      let most = 0;
      const registry = new ModelRegistry({
        repository: repo,
        open: async (source) => {
          most = Math.max(most, ++open);
          await new Promise((r) => setTimeout(r, 30));
          open--;
          throw new OmafError("OMAF_ERR_NO_ARTIFACT", `cannot read ${source}`);
        },
      });
      await registry.start([]);
      assert.equal(most, 2, "two at once");
      assert.deepEqual(
        registry.index().map((r) => `${r.name} ${r.state}`),
        names.map((n) => `${n} UNAVAILABLE`),
      );
      await registry.close();

      const given = new ModelRegistry({
        open: async (source) => {
          await new Promise((r) => setTimeout(r, source.endsWith("slow") ? 60 : 0));
          throw new OmafError("OMAF_ERR_NO_ARTIFACT", `cannot read ${source}`);
        },
      });
      await assert.rejects(given.start([join(tmp.dir, "slow"), join(tmp.dir, "fast")]), /cannot read .*slow$/);
      await given.close();
    } finally {
      await tmp.cleanup();
    }
  });
});
