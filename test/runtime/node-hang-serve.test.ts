// End to end: `omaf serve` with a node model whose predict_on_matrix() never returns (`for (;;) {}`). While it
// spins, health checks over HTTP and gRPC answer; past the request timeout the call answers OMAF_ERR_TIMEOUT, its
// worker thread is replaced and the request queued behind it is served; SIGTERM stops the process within the drain
// timeout with a spinning request in flight.
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { oipGrpcClient } from "../helpers/oip-client.js";
import { startServe, nodeManifest } from "../helpers/serve.js";
import { until } from "../http/helpers.js";

const REQUEST_TIMEOUT_MS = 3000;
const DRAIN_TIMEOUT_MS = 1000;

const { dir: root, cleanup } = await tempDir("omaf-node-hang-");
after(cleanup);

const artifact = join(root, "spin");
await writeTree(artifact, {
  "odahuflow.model.yaml": nodeManifest("spin"),
  "src/model.mjs": `import { writeFileSync } from "node:fs";
import { join } from "node:path";
export const init = () => "matrix";
export function predict_on_matrix(rows) {
  if (rows[0][0] === 777) {
    writeFileSync(join(process.env.MODEL_LOCATION, "spinning"), "");
    for (;;) {}
  }
  return [rows.map((r) => [r[0] * 2]), ["double"]];
}
`,
});
const spinningMark = join(artifact, "src", "spinning");

/** A GET that must answer within a second, as a liveness probe would. */
const probe = (url: string) => fetch(url, { signal: AbortSignal.timeout(1000) });

test("a node model spinning forever leaves health, queued requests and SIGTERM working", async () => {
  const serve = await startServe(artifact, {
    args: ["--interfaces", "oip-rest,oip-grpc,odahu", "--request-timeout-ms", String(REQUEST_TIMEOUT_MS), "--drain-timeout-ms", String(DRAIN_TIMEOUT_MS)],
    env: { OMAF_NODE_WORKERS: "1" },
  });
  const base = serve.url("Odahu");
  const invoke = (value: number) =>
    fetch(`${base}/api/model/invoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: [[value]] }),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as { prediction?: unknown; code?: string } }));
  const grpc = oipGrpcClient(serve.url("OIP v2 gRPC").replace("http://", ""));
  try {
    assert.deepEqual((await invoke(1)).body.prediction, [[2]]);

    const started = performance.now();
    const spinning = invoke(777);
    spinning.catch(() => {}); // awaited below; a failure before then must not also surface as an unhandled rejection
    await until(() => existsSync(spinningMark), "predict_on_matrix() to start spinning");

    // Liveness over every protocol while the model spins.
    assert.equal((await probe(`${serve.url("OIP v2 REST")}/healthz`)).status, 200);
    assert.equal((await probe(`${base}/healthcheck`)).status, 200);
    assert.deepEqual(await grpc.ServerLive({}), { live: true });

    // One worker: a second request queues behind the spinning one, and is served once its thread is replaced.
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS / 2 - (performance.now() - started)));
    const queued = invoke(5);
    queued.catch(() => {});
    const timedOut = await spinning;
    assert.equal(timedOut.status, 504);
    assert.equal(timedOut.body.code, "OMAF_ERR_TIMEOUT");
    const served = await queued;
    assert.equal(served.status, 200, JSON.stringify(served.body));
    assert.deepEqual(served.body.prediction, [[10]]);
    assert.deepEqual((await invoke(6)).body.prediction, [[12]]);
    assert.match(serve.stderr(), /\[node worker 0\] predict_on_matrix\(\) ran longer than 3000 ms; killing the worker/);

    // SIGTERM with a spinning request in flight: the process is gone within the drain timeout.
    rmSync(spinningMark);
    void invoke(777).catch(() => {});
    await until(() => existsSync(spinningMark), "the second spinning request");
    const signalled = performance.now();
    serve.child.kill("SIGTERM");
    const { code } = await serve.exited;
    const tookMs = performance.now() - signalled;
    assert.equal(code, 0, serve.stderr());
    assert.ok(tookMs < DRAIN_TIMEOUT_MS + 700, `exited ${tookMs.toFixed(0)} ms after SIGTERM (drain timeout ${DRAIN_TIMEOUT_MS} ms)`);
  } finally {
    grpc.close();
    await serve.kill();
  }
});
