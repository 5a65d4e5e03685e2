// Two python models in one `omaf serve`: each runs in worker processes of its own, and unloading one ends its
// workers while the other keeps answering from the same ones; loading it again starts new workers.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";
import { until } from "../http/helpers.js";
import { alive, PYTHON } from "./fixtures.js";

/** A matrix model `name` answering, per row, the process id of the worker that ran it. */
async function pidModel(dir: string, name: string): Promise<string> {
  await writeTree(dir, {
    "model/entrypoint.py":
      "import os\n\ndef init():\n    return 'matrix'\n\ndef predict_on_matrix(m, cols=None):\n    return [[os.getpid()] for _ in m], ['pid']\n",
  });
  const manifest = {
    binaries: { type: "python", dependencies: "conda" },
    model: { name, version: "1.0.0-1", workDir: "model", entrypoint: "entrypoint" },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "1.0.0" },
  };
  await writeFile(join(dir, "odahuflow.model.yaml"), JSON.stringify(manifest));
  return dir;
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let server: ServeProcess;
let base: string;

before(async () => {
  tmp = await tempDir("omaf-python-several-");
  const models = await Promise.all([pidModel(join(tmp.dir, "a"), "pid-a"), pidModel(join(tmp.dir, "b"), "pid-b")]);
  server = await startServe(models, { args: ["--interfaces", "kserve-v1,oip-rest"], env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" } });
  base = server.url("KServe v1");
});
after(async () => {
  await server?.kill();
  await tmp?.cleanup();
});

async function workerPid(model: string): Promise<number> {
  const res = await fetch(`${base}/v1/models/${model}:predict`, { method: "POST", body: JSON.stringify({ instances: [[1]] }) });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { predictions: number[][] }).predictions[0][0];
}

test("each python model has its own workers; an unload ends them, a load starts new ones", async () => {
  const a = await workerPid("pid-a");
  const b = await workerPid("pid-b");
  assert.notEqual(a, b, "the two models share no worker");
  assert.ok(alive(a) && alive(b));

  const unload = await fetch(`${base}/v2/repository/models/pid-b/unload`, { method: "POST" });
  assert.equal(unload.status, 200);
  await until(() => !alive(b), "pid-b's worker to exit");
  assert.equal(await workerPid("pid-a"), a, "pid-a keeps its worker");

  const load = await fetch(`${base}/v2/repository/models/pid-b/load`, { method: "POST" });
  assert.equal(load.status, 200);
  const again = await workerPid("pid-b");
  assert.notEqual(again, b);
  assert.ok(alive(again));
  assert.equal(await workerPid("pid-a"), a);
});
