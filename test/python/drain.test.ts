// Stopping a python model inside the drain timeout: the workers' stop is part of the drain budget, not added to it
// (Kubernetes sends SIGKILL once its grace period, 30 s by default, is over).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isOmafError } from "../../src/errors.js";
import { startServe } from "../helpers/serve.js";
import { until } from "../http/helpers.js";
import { modelDir, PYTHON, tempModel } from "./fixtures.js";

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

const SLEEPS = `
import time

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    time.sleep(m[0][0])
    return m, cols
`;

test("close(grace) lets a running request finish within the grace; close() cuts it at once", async () => {
  const graceful = await tempModel(SLEEPS, { workers: 1 });
  const cut = await tempModel(SLEEPS, { workers: 1 });
  try {
    await Promise.all([graceful.model.load(), cut.model.load()]);

    const finishing = graceful.model.predictMatrix({ data: [[0.5]] });
    await new Promise((r) => setTimeout(r, 100));
    let t0 = performance.now();
    await graceful.model.close(5_000);
    const gracefulMs = performance.now() - t0;
    assert.deepEqual((await finishing).prediction, [[0.5]]);
    assert.ok(gracefulMs < 2_000, `close(5000) returned ${gracefulMs.toFixed(0)} ms after, once the request was answered`);

    const running = cut.model.predictMatrix({ data: [[30]] });
    running.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const [pid] = cut.model.workerPids();
    t0 = performance.now();
    await cut.model.close();
    const cutMs = performance.now() - t0;
    assert.ok(cutMs < 500, `close() took ${cutMs.toFixed(0)} ms`);
    await assert.rejects(running, (err) => isOmafError(err, "OMAF_ERR_UNAVAILABLE") && /shutting down/.test(err.message));
    assert.throws(() => process.kill(pid!, 0), "the worker process is gone");
  } finally {
    await Promise.all([graceful.done(), cut.done()]);
  }
});
