// The health port answers from its own thread: probes get their answer while one large request holds the main
// thread for seconds, and readiness follows the dataplane.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServe, type ServeProcess } from "../helpers/serve.js";

const iris = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

describe("health port", () => {
  let server: ServeProcess;
  let health: string;

  before(async () => {
    server = await startServe(iris, { args: ["--interfaces", "odahu", "--health-port", "0", "--no-inference-log"] });
    health = `http://127.0.0.1:${server.listeners.find((l) => l.label === "health")!.port}`;
  });
  after(() => server?.kill());

  it("answers /healthz and /readyz with provenance headers; other paths are 404", async () => {
    const live = await fetch(`${health}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { live: true });
    assert.equal(live.headers.get("x-omaf-model"), "iris-onnx");
    const ready = await fetch(`${health}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    const other = await fetch(`${health}/v2`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { code: string }).code, "OMAF_ERR_NOT_FOUND");
  });

  it("keeps answering while a 1,000,000-row request holds the main thread", async () => {
    const rows = Array.from({ length: 1_000_000 }, () => [5.1, 3.5, 1.4, 0.2]);
    let done = false;
    const big = fetch(`${server.url("Odahu REST")}/api/model/invoke`, { method: "POST", body: JSON.stringify({ data: rows }) }).then(async (r) => {
      await r.arrayBuffer();
      done = true;
      return r.status;
    });
    let probes = 0;
    let slowest = 0;
    while (!done) {
      const t0 = performance.now();
      const res = await fetch(`${health}/healthz`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      slowest = Math.max(slowest, performance.now() - t0);
      probes++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await big, 200);
    // The request keeps the main thread busy for seconds (spec/limits.md); probes on the health port go on.
    assert.ok(probes >= 5, `only ${probes} probes were answered during the request`);
    assert.ok(slowest < 1000, `a probe took ${Math.round(slowest)} ms`);
  });
});
