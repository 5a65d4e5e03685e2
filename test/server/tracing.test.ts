// OpenTelemetry tracing end to end: a real `omaf serve --otlp-endpoint` exporting to a local OTLP/HTTP receiver on
// 127.0.0.1 (test/helpers/otlp-receiver.ts decodes the exporter's JSON). Every inference request over OIP REST, OIP gRPC,
// KServe v1 and OMI is one SERVER span, the child of the caller's `traceparent` (header or gRPC metadata), with a
// `queue` and a `model call` child; the attributes name the protocol, request id, model, version and artifact digest;
// failed requests carry their error; batched requests the size of the batch they ran in; the inference-log line carries
// the trace id; and a stop flushes the spans still buffered.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { jsonItem, omiClient } from "../helpers/omi-client.js";
import { oipGrpcClient } from "../helpers/oip-client.js";
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, STATUS_CODE, startOtlpReceiver } from "../helpers/otlp-receiver.js";
import { nodeManifest, startServe, writeSumModel, type ServeProcess } from "../helpers/serve.js";
import { freePort, http, until } from "../http/helpers.js";
import { omafVersion } from "../../src/version.js";

/** A matrix model (`slow-sum`) whose every call takes 40 ms, batched by its manifest: rows are independent. */
async function writeSlowSumModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("slow-sum", "model.mjs", {
      version: "2.0.0-1",
      serving: { max_batch_size: 16, max_batch_time_ms: 200, batch_rows: true },
    }),
    "src/model.mjs": `export const init = () => "matrix";
export async function predict_on_matrix(rows) {
  await new Promise((r) => setTimeout(r, 40));
  return [rows.map((row) => [row.reduce((a, b) => a + b, 0)]), ["sum"]];
}
`,
  });
  return dir;
}

/** A fresh W3C trace context: the caller's trace id and span id, and its `traceparent`. */
function callerContext(): { traceId: string; parentId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const parentId = randomBytes(8).toString("hex");
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
}

const MS = 1_000_000n;

describe("tracing with OpenTelemetry", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let receiver: OtlpReceiver;
  let server: ServeProcess;
  let digest: string;
  const log = () => join(tmp.dir, "inference.jsonl");

  /** The request span of the request with this id, once exported. */
  async function requestSpan(requestId: string): Promise<ReceivedSpan> {
    const find = () => receiver.spans.find((s) => s.kind === SPAN_KIND.SERVER && s.attributes["omaf.request.id"] === requestId);
    await until(() => find() !== undefined, `the span of request ${requestId}`);
    return find()!;
  }

  /** The children of `span`, by name (each name once, except `model call`, which may repeat). */
  async function childrenOf(span: ReceivedSpan, expected: string[]): Promise<ReceivedSpan[]> {
    const children = () => receiver.spans.filter((s) => s.parentSpanId === span.spanId && s.traceId === span.traceId);
    await until(() => children().length >= expected.length, `${expected.length} children of ${span.name}`);
    const found = children().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.name < b.name ? 1 : -1));
    assert.deepEqual(
      found.map((s) => s.name),
      expected,
    );
    return found;
  }

  /** The request span and its children are what one successful request of `protocol` gives. */
  async function assertRequestTree(requestId: string, protocol: string, caller: { traceId: string; parentId: string }): Promise<ReceivedSpan> {
    const span = await requestSpan(requestId);
    assert.equal(span.traceId, caller.traceId, "the request continues the caller's trace");
    assert.equal(span.parentSpanId, caller.parentId, "the request span is a child of the caller's span");
    assert.equal(span.name, "infer sum-check");
    assert.equal(span.kind, SPAN_KIND.SERVER);
    assert.equal(span.status.code, STATUS_CODE.UNSET);
    assert.deepEqual(
      {
        protocol: span.attributes["omaf.protocol"],
        model: span.attributes["omaf.model.name"],
        version: span.attributes["omaf.model.version"],
        digest: span.attributes["omaf.artifact.digest"],
        status: span.attributes["omaf.status"],
        batch: span.attributes["omaf.batch.size"],
      },
      { protocol, model: "sum-check", version: "1.0.0-1", digest, status: "ok", batch: 1 },
    );
    assert.equal(span.resource["service.name"], "omaf-test");
    assert.equal(span.resource["service.version"], omafVersion);
    assert.equal(span.scope, "omaf");
    const [queue, model] = await childrenOf(span, ["queue", "model call"]);
    assert.equal(queue.kind, SPAN_KIND.INTERNAL);
    assert.equal(model.kind, SPAN_KIND.INTERNAL);
    // The queue runs from admission to the model call; the model call ends before the request is answered.
    assert.equal(queue.start, span.start);
    assert.ok(queue.end <= model.start, "the queue ends when the model call starts");
    assert.ok(model.end <= span.end, "the model call ends inside the request");
    assert.equal(model.attributes["omaf.batch.size"], 1);
    assert.equal(model.attributes["omaf.model.name"], "sum-check");
    return span;
  }

  before(async () => {
    tmp = await tempDir("omaf-tracing-");
    receiver = await startOtlpReceiver();
    const sum = await writeSumModel(join(tmp.dir, "sum"));
    const slow = await writeSlowSumModel(join(tmp.dir, "slow"));
    server = await startServe([sum, slow], {
      args: [
        "--interfaces",
        "omi,oip-rest,oip-grpc,kserve-v1",
        "--omi-model",
        "sum-check",
        "--node-in-process",
        "--otlp-endpoint",
        receiver.url,
        "--otlp-service-name",
        "omaf-test",
        "--inference-log-file",
        log(),
      ],
      // Spans are exported every 50 ms instead of every 5 s.
      env: { OTEL_BSP_SCHEDULE_DELAY: "50" },
    });
    const meta = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
      body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [0, 0] }] },
    });
    digest = (meta.json as { parameters: { artifact_digest: string } }).parameters.artifact_digest;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  });
  after(async () => {
    await server?.kill();
    await receiver?.close();
    await tmp?.cleanup();
  });

  it("OIP REST: the request span continues the caller's traceparent, with queue and model call children", async () => {
    const caller = callerContext();
    const answer = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
      body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [1, 2] }] },
      headers: { traceparent: caller.traceparent, tracestate: "vendor=1", "x-request-id": "rest-1" },
    });
    assert.equal(answer.status, 200, answer.text);
    const span = await assertRequestTree("rest-1", "oip-rest", caller);
    assert.equal(span.attributes["http.response.status_code"], 200);
    assert.equal(receiver.requests[0].path, "/v1/traces");
    assert.match(String(receiver.requests[0].contentType), /^application\/json/);
  });

  it("OIP gRPC: traceparent in the call's metadata; the span carries the gRPC status", async () => {
    const caller = callerContext();
    const client = oipGrpcClient(`127.0.0.1:${server.listeners.find((l) => l.label === "OIP v2 gRPC")!.port}`);
    try {
      const metadata = new Metadata();
      metadata.set("traceparent", caller.traceparent);
      metadata.set("x-request-id", "grpc-1");
      await client.ModelInfer(
        { model_name: "sum-check", inputs: [{ name: "input", datatype: "FP64", shape: ["1", "2"], contents: { fp64_contents: [1, 2] } }] },
        metadata,
      );
      const span = await assertRequestTree("grpc-1", "oip-grpc", caller);
      assert.equal(span.attributes["rpc.system.name"], "grpc");
      assert.equal(span.attributes["rpc.status_code"], "OK");

      // A request the dataplane refuses (BYTES for a numeric model): INVALID_ARGUMENT, no model call.
      const failing = callerContext();
      const bad = new Metadata();
      bad.set("traceparent", failing.traceparent);
      bad.set("x-request-id", "grpc-bad");
      await assert.rejects(
        client.ModelInfer(
          { model_name: "sum-check", inputs: [{ name: "input", datatype: "BYTES", shape: ["1"], contents: { bytes_contents: [Buffer.from("x")] } }] },
          bad,
        ),
        /OMAF_ERR_BAD_INPUT/,
      );
      const refused = await requestSpan("grpc-bad");
      assert.equal(refused.parentSpanId, failing.parentId);
      assert.equal(refused.status.code, STATUS_CODE.ERROR);
      assert.equal(refused.attributes["error.type"], "OMAF_ERR_BAD_INPUT");
      assert.equal(refused.attributes["rpc.status_code"], "INVALID_ARGUMENT");
      assert.equal(refused.attributes["omaf.batch.size"], undefined, "no model call, no batch");
      await childrenOf(refused, ["queue"]);
    } finally {
      client.close();
    }
  });

  it("KServe v1 and OMI: one span per request, child of the caller's", async () => {
    const kserve = callerContext();
    const answer = await http(`${server.url("KServe v1")}/v1/models/sum-check:predict`, {
      body: { instances: [[3, 4]] },
      headers: { traceparent: kserve.traceparent, "x-request-id": "kserve-1" },
    });
    assert.equal(answer.status, 200, answer.text);
    const span = await assertRequestTree("kserve-1", "kserve-v1", kserve);
    assert.equal(span.attributes["http.response.status_code"], 200);

    const omi = callerContext();
    const client = omiClient(server.address);
    try {
      const metadata = new Metadata();
      metadata.set("traceparent", omi.traceparent);
      metadata.set("x-request-id", "omi-1");
      const run = await client.Run({ inputs: [jsonItem({ data: [[5, 6]] })] }, metadata);
      assert.equal(run.outputs[0].success, true);
      const omiSpan = await assertRequestTree("omi-1", "omi", omi);
      assert.equal(omiSpan.attributes["rpc.status_code"], undefined, "OMI answers its status inside the message");
    } finally {
      client.close();
    }
  });

  it("a request without traceparent starts a trace of its own; the inference-log line carries its trace id", async () => {
    const answer = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
      body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [2, 2] }] },
      headers: { "x-request-id": "rest-root" },
    });
    assert.equal(answer.status, 200);
    const span = await requestSpan("rest-root");
    assert.equal(span.parentSpanId, "");
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    await until(async () => (await readFile(log(), "utf8").catch(() => "")).includes('"requestId":"rest-root"'), "the inference-log line");
    const line = (await readFile(log(), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === "rest-root")!;
    assert.equal(line.traceId, span.traceId);
  });

  it("a failed model call: the request and model call spans have error status and the error's code", async () => {
    const caller = callerContext();
    const answer = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
      body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [-1, 2] }] },
      headers: { traceparent: caller.traceparent, "x-request-id": "rest-fail" },
    });
    assert.equal(answer.status, 500);
    const span = await requestSpan("rest-fail");
    assert.equal(span.parentSpanId, caller.parentId);
    assert.equal(span.status.code, STATUS_CODE.ERROR);
    assert.match(span.status.message ?? "", /^OMAF_ERR_PREDICT: .*negative values are not allowed/);
    assert.equal(span.attributes["error.type"], "OMAF_ERR_PREDICT");
    assert.equal(span.attributes["omaf.status"], "OMAF_ERR_PREDICT");
    assert.equal(span.attributes["http.response.status_code"], 500);
    const [, model] = await childrenOf(span, ["queue", "model call"]);
    assert.equal(model.status.code, STATUS_CODE.ERROR);
    assert.equal(model.attributes["error.type"], "OMAF_ERR_PREDICT");
  });

  it("a request for a model the server does not serve: a span without a model, 404", async () => {
    const caller = callerContext();
    const answer = await http(`${server.url("OIP v2 REST")}/v2/models/no-such-model/infer`, {
      body: { inputs: [] },
      headers: { traceparent: caller.traceparent, "x-request-id": "rest-unknown" },
    });
    assert.equal(answer.status, 404);
    const span = await requestSpan("rest-unknown");
    assert.equal(span.name, "infer");
    assert.equal(span.parentSpanId, caller.parentId);
    assert.equal(span.attributes["omaf.model.name"], undefined);
    assert.equal(span.attributes["error.type"], "OMAF_ERR_MODEL_NOT_FOUND");
    assert.equal(span.attributes["http.response.status_code"], 404);
  });

  it("batching: requests merged into one model call carry the batch's size on their request and model call spans", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `batch-${i}`);
    const answers = await Promise.all(
      ids.map((id, i) =>
        http(`${server.url("OIP v2 REST")}/v2/models/slow-sum/infer`, {
          body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [i, 1] }] },
          headers: { "x-request-id": id },
        }),
      ),
    );
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, a.text);
      assert.deepEqual((a.json as { outputs: { data: number[] }[] }).outputs[0].data, [i + 1]);
    });
    const spans = await Promise.all(ids.map((id) => requestSpan(id)));
    const sizes: number[] = [];
    for (const span of spans) {
      assert.equal(span.attributes["omaf.model.version"], "2.0.0-1");
      const [queue, model] = await childrenOf(span, ["queue", "model call"]);
      assert.equal(model.attributes["omaf.batch.size"], span.attributes["omaf.batch.size"]);
      // A merged call took its requests' waits in the batch queue into the queue span.
      assert.equal(queue.end, model.start);
      assert.ok(model.end - model.start >= 35n * MS, "the model call span covers the model's 40 ms");
      sizes.push(span.attributes["omaf.batch.size"] as number);
    }
    const merged = sizes.filter((n) => n > 1);
    assert.ok(merged.length >= 2, `some requests ran in a batch of more than one: sizes ${sizes.join(", ")}`);
  });
});

describe("a stop flushes the spans still buffered", () => {
  it("spans held for a long export delay reach the collector when the server stops on SIGTERM", async () => {
    const tmp = await tempDir("omaf-tracing-stop-");
    const receiver = await startOtlpReceiver();
    let server: ServeProcess | undefined;
    try {
      const sum = await writeSumModel(join(tmp.dir, "sum"));
      server = await startServe(sum, {
        args: ["--interfaces", "oip-rest", "--node-in-process", "--otlp-endpoint", `${receiver.url}/v1/traces`],
        // Nothing would be exported for 10 minutes but for the stop.
        env: { OTEL_BSP_SCHEDULE_DELAY: "600000" },
      });
      const answer = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
        body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [1, 1] }] },
        headers: { "x-request-id": "before-stop" },
      });
      assert.equal(answer.status, 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(receiver.spans.length, 0, "nothing exported before the stop");
      server.child.kill("SIGTERM");
      const exit = await server.exited;
      assert.equal(exit.code, 0, server.stderr());
      const names = receiver.spans.filter((s) => s.traceId === receiver.spans.find((x) => x.attributes["omaf.request.id"] === "before-stop")?.traceId);
      assert.deepEqual(names.map((s) => s.name).sort(), ["infer sum-check", "model call", "queue"]);
      assert.equal(receiver.spans[0].resource["service.name"], "omaf", "the default service name");
    } finally {
      await server?.kill();
      await receiver.close();
      await tmp.cleanup();
    }
  });
});

describe("a collector that cannot be reached", () => {
  it("is reported once on stderr while serving goes on", async () => {
    const tmp = await tempDir("omaf-tracing-down-");
    let server: ServeProcess | undefined;
    try {
      const sum = await writeSumModel(join(tmp.dir, "sum"));
      server = await startServe(sum, {
        args: ["--interfaces", "oip-rest", "--node-in-process", "--otlp-endpoint", `http://127.0.0.1:${await freePort()}`],
        env: { OTEL_BSP_SCHEDULE_DELAY: "20" },
      });
      for (let i = 0; i < 3; i++) {
        const answer = await http(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
          body: { inputs: [{ name: "input", datatype: "FP64", shape: [1, 2], data: [i, 1] }] },
        });
        assert.equal(answer.status, 200);
        await new Promise((r) => setTimeout(r, 100));
      }
      await until(() => /exporting \d+ trace spans to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed/.test(server!.stderr()), "the export failure on stderr");
      assert.equal(server.stderr().match(/trace spans to/g)?.length, 1, server.stderr());
    } finally {
      await server?.kill();
      await tmp.cleanup();
    }
  });
});
