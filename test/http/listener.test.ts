// What every HTTP listener does, whatever the protocol: provenance headers and request ids on every response, the
// body limit, Prometheus metrics, the request timeout and in-flight limit, readiness while draining, a graceful stop
// on SIGTERM, and opening only the listeners the chosen interfaces need.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import type { Model, ModelMetadata } from "../../src/runtime/model.js";
import { startHttpListener } from "../../src/server/http-listener.js";
import { ModelRegistry } from "../../src/registry/registry.js";
import { ServerMetrics } from "../../src/server/metrics.js";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeBehaveModel, writeSumModel } from "../helpers/serve.js";
import { assertProvenance, freePort, http, parsePrometheus, sampleValue, until } from "./helpers.js";

/** POSTs `size` bytes with chunked transfer encoding (no Content-Length), answers status and body. */
function postChunked(url: string, size: number): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    // The server may answer and close before the whole body is written.
    req.on("error", reject);
    const chunk = Buffer.alloc(1024, 0x20);
    for (let sent = 0; sent < size; sent += chunk.length) req.write(chunk);
    req.end();
  });
}

describe("HTTP listener (real omaf serve)", () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let behave: string;
  let sum: string;
  before(async () => {
    root = await tempDir("omaf-http-");
    behave = await writeBehaveModel(join(root.dir, "behave"));
    sum = await writeSumModel(join(root.dir, "sum"));
  });
  after(() => root.cleanup());

  it("puts provenance headers and the request id on every response, and refuses bodies above the limit with 413", async () => {
    const proc = await startServe(sum, { args: ["--interfaces", "kserve-v1,odahu", "--max-body-bytes", "1KiB"] });
    try {
      assert.deepEqual(
        proc.listeners.map((l) => l.label),
        ["KServe v1 + Odahu REST"],
        "odahu-port = http-port shares the listener",
      );
      const base = proc.url("KServe v1");
      const answers = await Promise.all([
        http(`${base}/`),
        http(`${base}/healthz`),
        http(`${base}/readyz`),
        http(`${base}/metrics`),
        http(`${base}/no/such/route`),
        http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[1, 2]] } }),
        http(`${base}/v1/models/sum-check:predict`, { body: "{bad" }),
        http(`${base}/api/model/invoke`, { body: { data: [[1, 2]] } }),
        http(`${base}/healthcheck`),
      ]);
      for (const a of answers) assertProvenance(a, "sum-check", "1.0.0-1");
      const ids = new Set(answers.map((a) => a.headers.get("x-request-id")));
      assert.equal(ids.size, answers.length, "each request gets its own id");
      assert.deepEqual((await http(`${base}/readyz`)).json, { ready: true, state: "ready" });
      assert.deepEqual((await http(`${base}/healthz`)).json, { live: true });

      const big = { instances: [[1, 2]], padding: "x".repeat(2048) };
      const tooLarge = await http(`${base}/v1/models/sum-check:predict`, { body: big, headers: { "x-request-id": "big-1" } });
      assert.equal(tooLarge.status, 413);
      assert.equal((tooLarge.json as { code: string }).code, "OMAF_ERR_PAYLOAD_TOO_LARGE");
      assert.equal(typeof (tooLarge.json as { error: string }).error, "string");
      assert.equal(tooLarge.headers.get("x-request-id"), "big-1");
      assertProvenance(tooLarge, "sum-check", "1.0.0-1");
      const odahuTooLarge = await http(`${base}/api/model/invoke`, { body: { data: [[1, 2]], padding: "x".repeat(2048) } });
      assert.equal(odahuTooLarge.status, 413);
      assert.equal((odahuTooLarge.json as { code: string; message: string }).code, "OMAF_ERR_PAYLOAD_TOO_LARGE");
      const chunked = await postChunked(`${base}/v1/models/sum-check:predict`, 8 * 1024);
      assert.equal(chunked.status, 413, chunked.body);
      // A body just under the limit still works.
      const fits = await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[1, 2]], padding: "x".repeat(900) } });
      assert.equal(fits.status, 200, fits.text);
    } finally {
      await proc.kill();
    }
  });

  it("serves Prometheus metrics whose counters follow the requests, with the protocol in the inference log", async () => {
    const proc = await startServe(sum, { args: ["--interfaces", "kserve-v1,odahu"] });
    try {
      const base = proc.url("KServe v1");
      const scrape = async () => {
        const res = await http(`${base}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
        return parsePrometheus(res.text);
      };
      const before = await scrape();
      assert.equal(sampleValue(before, "omaf_model_ready"), 1);
      assert.ok(sampleValue(before, "omaf_model_load_seconds") > 0);
      assert.equal(sampleValue(before, "omaf_in_flight_requests"), 0);
      assert.ok(
        before.some((s) => s.name === "process_cpu_user_seconds_total"),
        "process metrics are collected",
      );
      const ok = { protocol: "kserve-v1", status: "ok" };
      const okBefore = sampleValue(before, "omaf_requests_total", ok);

      await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[1, 2]] }, headers: { "x-request-id": "metrics-1" } });
      await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[3, 4]] } });
      await http(`${base}/v1/models/sum-check:predict`, { body: { instances: [[-3, 4]] }, headers: { "x-request-id": "metrics-err" } });
      await http(`${base}/v1/models/sum-check:predict`, { body: "[[1,", headers: { "x-request-id": "metrics-bad" } });
      await http(`${base}/api/model/invoke`, { body: { data: [[1, 1]] }, headers: { "request-id": "metrics-2" } });

      const later = await scrape();
      assert.equal(sampleValue(later, "omaf_requests_total", ok), okBefore + 2);
      assert.equal(sampleValue(later, "omaf_requests_total", { protocol: "kserve-v1", status: "OMAF_ERR_PREDICT" }), 1);
      assert.equal(sampleValue(later, "omaf_requests_total", { protocol: "kserve-v1", status: "OMAF_ERR_BAD_INPUT" }), 1);
      assert.equal(sampleValue(later, "omaf_requests_total", { protocol: "odahu", status: "ok" }), 1);
      assert.equal(sampleValue(later, "omaf_request_duration_seconds_count", ok), okBefore + 2);
      assert.equal(sampleValue(later, "omaf_request_duration_seconds_bucket", { ...ok, le: "+Inf" }), okBefore + 2);
      assert.ok(sampleValue(later, "omaf_http_responses_total", { protocol: "kserve-v1", code: "500" }) >= 1);

      // The inference log names the protocol and the request id.
      await until(() => proc.stdout().includes("metrics-2"), "the inference log to be written");
      const lines = proc
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const kserve = lines.find((l) => l.msg === "inference" && l.requestId === "metrics-1");
      assert.equal(kserve?.protocol, "kserve-v1");
      const odahu = lines.find((l) => l.msg === "inference" && l.requestId === "metrics-2");
      assert.equal(odahu?.protocol, "odahu");
      // A model error is logged once; a body refused before reaching the model is logged too.
      const failed = lines.filter((l) => l.msg === "inference" && l.requestId === "metrics-err");
      assert.deepEqual(
        failed.map((l) => l.code),
        ["OMAF_ERR_PREDICT"],
      );
      const refused = lines.filter((l) => l.msg === "inference" && l.requestId === "metrics-bad");
      assert.deepEqual(
        refused.map((l) => [l.protocol, l.status, l.code]),
        [["kserve-v1", "error", "OMAF_ERR_BAD_INPUT"]],
      );
    } finally {
      await proc.kill();
    }
  });

  it("turns metrics off with --no-metrics", async () => {
    const proc = await startServe(sum, { args: ["--interfaces", "kserve-v1", "--no-metrics", "--no-inference-log"] });
    try {
      const res = await http(`${proc.url("KServe v1")}/metrics`);
      assert.equal(res.status, 404);
    } finally {
      await proc.kill();
    }
  });

  it("answers 504 for a prediction that outlives the request timeout, 503 above the in-flight limit, and keeps serving", async () => {
    const proc = await startServe(behave, {
      args: ["--interfaces", "kserve-v1,odahu", "--request-timeout-ms", "400", "--max-in-flight", "1", "--no-inference-log"],
    });
    try {
      const base = proc.url("KServe v1");
      const hung = await http(`${base}/v1/models/behave:predict`, { body: { instances: [{ hang: true }] } });
      assert.equal(hung.status, 504, hung.text);
      assert.equal((hung.json as { code: string }).code, "OMAF_ERR_TIMEOUT");
      const odahuHung = await http(`${base}/api/model/invoke`, { body: { hang: true } });
      assert.equal(odahuHung.status, 504);
      assert.equal((odahuHung.json as { code: string; message: string }).code, "OMAF_ERR_TIMEOUT");

      const mark = join(root.dir, "limit.mark");
      const slow = http(`${base}/v1/models/behave:predict`, { body: { instances: [{ markFile: mark, sleepMs: 300 }] } });
      await until(() => existsSync(mark), "the slow request to reach the model");
      const refused = await http(`${base}/v1/models/behave:predict`, { body: { instances: [{ text: "second" }] } });
      assert.equal(refused.status, 503);
      assert.equal((refused.json as { code: string }).code, "OMAF_ERR_UNAVAILABLE");
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal((await slow).status, 200);

      const fine = await http(`${base}/v1/models/behave:predict`, { body: { instances: [{ text: "after" }] } });
      assert.equal(fine.status, 200);
      assert.deepEqual(fine.json, { predictions: [{ echo: { text: "after" } }] });
    } finally {
      await proc.kill();
    }
  });

  it("on SIGTERM lets every in-flight request finish, refuses new ones, and exits 0", async () => {
    const proc = await startServe(behave, { args: ["--interfaces", "kserve-v1,odahu", "--no-inference-log"] });
    try {
      const base = proc.url("KServe v1");
      const marks = [0, 1, 2, 3].map((i) => join(root.dir, `drain-${i}.mark`));
      const slow = marks.map((markFile, i) =>
        i % 2 === 0
          ? http(`${base}/v1/models/behave:predict`, { body: { instances: [{ markFile, sleepMs: 1500, i }] } })
          : http(`${base}/api/model/invoke`, { body: { markFile, sleepMs: 1500, i } }),
      );
      await until(() => marks.every((m) => existsSync(m)), "every slow request to reach the model");
      proc.child.kill("SIGTERM");
      await until(async () => {
        try {
          const res = await http(`${base}/v1/models/behave:predict`, { body: { instances: [{ text: "late" }] } });
          // Only a request that got in before the signal is answered normally.
          if (res.status === 200) return false;
          assert.equal(res.status, 503, res.text);
          assert.equal((res.json as { code: string }).code, "OMAF_ERR_UNAVAILABLE");
          return true;
        } catch {
          return true; // connection refused: the port is closed
        }
      }, "new requests to be refused");
      const answers = await Promise.all(slow);
      answers.forEach((a, i) => {
        assert.equal(a.status, 200, a.text);
        assertProvenance(a, "behave", "1.0.0-1");
        const echoed = i % 2 === 0 ? (a.json as { predictions: Array<{ echo: { i: number } }> }).predictions[0].echo : (a.json as { echo: { i: number } }).echo;
        assert.equal(echoed.i, i);
      });
      const { code } = await proc.exited;
      assert.equal(code, 0);
      assert.match(proc.stderr(), /omaf: stopped \(SIGTERM\)/);
      assert.doesNotMatch(proc.stderr(), /were cut/);
    } finally {
      await proc.kill();
    }
  });

  it("opens only the listeners of the chosen interfaces", async () => {
    const httpPort = await freePort();
    const omiOnly = await startServe(sum, { args: ["--interfaces", "omi", "--http-port", String(httpPort), "--no-inference-log"] });
    try {
      assert.deepEqual(
        omiOnly.listeners.map((l) => l.label),
        ["OMI gRPC"],
      );
      await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/healthz`), "no HTTP listener for omi alone");
    } finally {
      await omiOnly.kill();
    }
    // An empty INTERFACE counts as unset, so the defaults apply.
    const defaults = await startServe(sum, { env: { INTERFACE: "" }, args: ["--no-inference-log"] });
    try {
      assert.deepEqual(
        defaults.listeners.map((l) => l.label),
        ["OMI gRPC", "OIP v2 REST", "OIP v2 gRPC"],
      );
      const base = defaults.url("OIP v2 REST");
      assert.equal((await http(`${base}/readyz`)).status, 200);
      assert.equal((await http(`${base}/metrics`)).status, 200);
      assert.equal((await http(`${base}/v1/models`)).status, 404, "KServe v1 is not on by default");
    } finally {
      await defaults.kill();
    }
    const odahuOnly = await startServe(sum, { env: { INTERFACE: "odahu" }, args: ["--no-inference-log"] });
    try {
      assert.deepEqual(
        odahuOnly.listeners.map((l) => l.label),
        ["Odahu REST"],
      );
      const base = odahuOnly.url("Odahu REST");
      assert.equal((await http(`${base}/healthcheck`)).status, 200);
      assert.equal((await http(`${base}/v1/models`)).status, 404, "no KServe routes");
      assert.equal((await http(`${base}/metrics`)).status, 200, "metrics on every HTTP listener");
    } finally {
      await odahuOnly.kill();
    }
  });
});

describe("HTTP listener readiness while draining (in process)", () => {
  it("answers 503 on readiness and new predictions while in-flight ones finish; liveness stays 200", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const meta: ModelMetadata = { name: "gated", version: "1.0.0-1", environment: "node", mode: "objects", inputs: [], outputs: [] };
    const model: Model = {
      load: async () => undefined,
      metadata: () => meta,
      predictMatrix: async () => ({ prediction: [] }),
      predictObjects: async (input) => {
        await gate;
        return { done: input };
      },
      close: async () => undefined,
    };
    const manifest = { model: { name: "gated", version: "1.0.0-1" } } as OmafManifest;
    const metrics = new ServerMetrics({ processMetrics: false });
    const dataplane = new DataPlane(
      model,
      { manifest, artifactDigest: `sha256:${"ab".repeat(32)}`, source: "gated" },
      { requestTimeoutMs: 10_000, maxInFlight: 0, metrics },
    );
    metrics.watch(dataplane);
    await dataplane.load();
    const registry = ModelRegistry.fromDataPlanes([dataplane]);
    const listener = await startHttpListener({ interfaces: ["kserve-v1", "odahu"], host: "127.0.0.1", port: 0, maxBodyBytes: 1024, registry, metrics });
    const base = `http://127.0.0.1:${listener.port}`;
    try {
      const inFlight = http(`${base}/v1/models/gated:predict`, { body: { instances: [{ n: 1 }] } });
      await until(() => dataplane.inFlightCount === 1, "the request to be admitted");
      const drained = dataplane.drain();

      const readyz = await http(`${base}/readyz`);
      assert.equal(readyz.status, 503);
      assert.deepEqual(readyz.json, { ready: false, state: "draining" });
      assert.equal((await http(`${base}/healthcheck`)).status, 503);
      assert.deepEqual((await http(`${base}/healthcheck`)).json, { status: false });
      const kserveReady = await http(`${base}/v1/models/gated`);
      assert.equal(kserveReady.status, 503);
      assert.match((kserveReady.json as { error: string }).error, /shutting down/);
      assert.equal((await http(`${base}/healthz`)).status, 200);
      assert.equal((await http(`${base}/`)).status, 200, "KServe liveness stays up");
      const refused = await http(`${base}/v1/models/gated:predict`, { body: { instances: [{ n: 2 }] } });
      assert.equal(refused.status, 503);
      assert.equal((refused.json as { code: string }).code, "OMAF_ERR_UNAVAILABLE");
      const refusedOdahu = await http(`${base}/api/model/invoke`, { body: { n: 3 } });
      assert.equal(refusedOdahu.status, 503);
      assert.equal((refusedOdahu.json as { code: string; message: string }).code, "OMAF_ERR_UNAVAILABLE");
      const samples = parsePrometheus((await http(`${base}/metrics`)).text);
      assert.equal(sampleValue(samples, "omaf_in_flight_requests"), 1);
      assert.equal(sampleValue(samples, "omaf_model_ready"), 0);
      assert.equal(sampleValue(samples, "omaf_requests_total", { protocol: "kserve-v1", status: "OMAF_ERR_UNAVAILABLE" }), 1);

      release();
      const answer = await inFlight;
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json, { predictions: [{ done: { n: 1 } }] });
      await drained;
      assert.equal(sampleValue(parsePrometheus((await http(`${base}/metrics`)).text), "omaf_in_flight_requests"), 0);
    } finally {
      release();
      await listener.close();
    }
  });
});
