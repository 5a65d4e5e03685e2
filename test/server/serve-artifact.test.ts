// serveArtifact, the library's one-call server: a source given as a relative path (as spec/library.md's example
// gives "model.zip") is served like an absolute one.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { after, before, it } from "node:test";
import { serveArtifact, type ServingArtifact } from "../../src/server/serve.js";
import { loadSettings } from "../../src/settings.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeSumModel } from "../helpers/serve.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let serving: ServingArtifact | undefined;

before(async () => {
  tmp = await tempDir("omaf-serve-artifact-");
});
after(async () => {
  await serving?.server.stop("test over");
  await tmp?.cleanup();
});

it("serves a model folder given by a path relative to the working directory", { timeout: 60_000 }, async () => {
  const dir = await writeSumModel(join(tmp.dir, "model"));
  const settings = loadSettings({
    env: {},
    flags: { cacheDir: join(tmp.dir, "cache"), nodeWorkers: 1, inferenceLog: false, omiPort: 0, httpPort: 0, oipGrpcPort: 0, odahuPort: 0 },
  });
  serving = await serveArtifact(relative(process.cwd(), dir), settings);
  assert.equal(serving.dataplane.provenance.modelName, "sum-check");
  assert.equal(serving.loadError, undefined);
  const out = await serving.dataplane.predictMatrix({ data: [[1, 2]] }, { requestId: "t", protocol: "test" });
  assert.deepEqual(out.prediction, [[3]]);
});
