// Stopping a python model inside the drain timeout: the workers' stop is part of the drain budget, not added to it
// (Kubernetes sends SIGKILL once its grace period, 30 s by default, is over).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startServe } from "../helpers/serve.js";
import { until } from "../http/helpers.js";
import { modelDir, PYTHON } from "./fixtures.js";

const SLOW = `
import time

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    open(m[0][0], 'w').close()
    time.sleep(120)
    return m, cols
`;

test("SIGTERM with a python request mid-flight exits within the drain timeout", async () => {
  const { dir, cleanup } = await modelDir(SLOW);
  const serve = await startServe(dir, {
    args: ["--interfaces", "kserve-v1", "--drain-timeout-ms", "1000"],
    env: { OMAF_PYTHON: PYTHON, OMAF_PYTHON_WORKERS: "1" },
  });
  try {
    const mark = join(dir, "in-flight");
    const request = fetch(`${serve.url("KServe v1")}/v1/models/test-model:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instances: [[mark]] }),
    }).catch((err: Error) => err);
    await until(() => existsSync(mark), "the request to reach predict_on_matrix()");

    const signalled = performance.now();
    serve.child.kill("SIGTERM");
    const { code } = await serve.exited;
    const tookMs = performance.now() - signalled;
    assert.equal(code, 0, serve.stderr());
    assert.ok(tookMs >= 900, `the drain waited for the request (${tookMs.toFixed(0)} ms)`);
    assert.ok(tookMs < 1_700, `exited ${tookMs.toFixed(0)} ms after SIGTERM with a 1000 ms drain timeout`);
    await request;
  } finally {
    await serve.kill();
    await cleanup();
  }
});
