// Every inference request — served, refused, failed, timed out — leaves exactly one inference-log line and one count
// in omaf_requests_total, with the code it was answered with, on every protocol. And bad input is the same 400 /
// INVALID_ARGUMENT everywhere. Real `omaf serve` processes, real clients, real sockets.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { OMI_SERVICE_NAME } from "../../src/protocols/omi/proto.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { jsonItem, omiClient, type OmiClient } from "../helpers/omi-client.js";
import { oipGrpcClient, type OipGrpcClient } from "../helpers/oip-client.js";
import { startServe, type ServeProcess, nodeManifest } from "../helpers/serve.js";

const ALL = "omi,oip-rest,oip-grpc,kserve-v1,odahu";

/** Rows [a, b] → [a + b]; a negative value throws; a 999 waits past any test timeout. */
async function writeAccountingModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("acct"),
    "src/model.mjs": `export function init() { return "matrix"; }
export async function predict_on_matrix(rows) {
  if (rows.some((r) => r.includes(999))) await new Promise((r) => setTimeout(r, 3000));
  if (rows.some((r) => r.some((v) => v < 0))) throw new Error("negative values are not allowed");
  return [rows.map((r) => [r[0] + r[1]]), ["sum"]];
}
export function get_info() {
  return [[{ name: "a", type: "number" }, { name: "b", type: "number" }], [{ name: "sum", type: "number" }]];
}
`,
  });
  return dir;
}

type Kind = "ok" | "bad" | "model-error" | "timeout" | "unknown-model" | "malformed" | "too-large";
const CODE: Record<Kind, string> = {
  ok: "ok",
  bad: "OMAF_ERR_BAD_INPUT",
  "model-error": "OMAF_ERR_PREDICT",
  timeout: "OMAF_ERR_TIMEOUT",
  "unknown-model": "OMAF_ERR_MODEL_NOT_FOUND",
  malformed: "OMAF_ERR_BAD_INPUT",
  "too-large": "OMAF_ERR_PAYLOAD_TOO_LARGE",
};

/** The rows each kind sends (malformed and too-large bodies are built by each protocol). */
const ROWS: Partial<Record<Kind, number[][]>> = {
  ok: [[1, 2]],
  bad: [[1, 2, 3]],
  "model-error": [[-1, 2]],
  timeout: [[999, 1]],
  "unknown-model": [[1, 2]],
};
const BIG = "x".repeat(20_000);

/** One protocol: sends a request of a kind with a request id and answers the status it saw (HTTP or gRPC). */
interface Sender {
  protocol: string;
  kinds: Kind[];
  send(kind: Kind, requestId: string): Promise<number | string>;
}

async function post(url: string, body: string, requestId: string): Promise<number> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-request-id": requestId } });
  await res.arrayBuffer();
  return res.status;
}

function metadataWith(requestId: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set("x-request-id", requestId);
  return m;
}

/** A unary call with raw request bytes; answers "OK" or the gRPC status name's number. */
function rawCall(client: grpc.Client, path: string, bytes: Buffer, requestId: string): Promise<string> {
  return new Promise((resolve) =>
    client.makeUnaryRequest<Buffer, Buffer>(
      path,
      (b) => b,
      (b) => b,
      bytes,
      metadataWith(requestId),
      (err) => resolve(err ? `grpc-${err.code}` : "OK"),
    ),
  );
}

function senders(server: ServeProcess, omi: OmiClient, oip: OipGrpcClient): Sender[] {
  const http = server.url("OIP v2 REST");
  const model = (kind: Kind) => (kind === "unknown-model" ? "nobody" : "acct");
  // Field 5 (a message) claims 9 bytes where 1 follows: neither ModelInferRequest nor RunRequest can decode it.
  const garbage = Buffer.from([0x2a, 0x09, 0x01]);
  return [
    {
      protocol: "oip-rest",
      kinds: ["ok", "bad", "model-error", "timeout", "unknown-model", "malformed", "too-large"],
      send: (kind, id) => {
        const rows = ROWS[kind] ?? [[1, 2]];
        const input = {
          name: "input",
          datatype: "FP64",
          shape: [rows.length, rows[0].length],
          data: rows.flat(),
          ...(kind === "too-large" ? { parameters: { pad: BIG } } : {}),
        };
        return post(`${http}/v2/models/${model(kind)}/infer`, kind === "malformed" ? "{not json" : JSON.stringify({ inputs: [input] }), id);
      },
    },
    {
      protocol: "kserve-v1",
      kinds: ["ok", "bad", "model-error", "timeout", "unknown-model", "malformed", "too-large"],
      send: (kind, id) => {
        const body = kind === "malformed" ? "{not json" : JSON.stringify({ instances: ROWS[kind] ?? [[1, 2]], ...(kind === "too-large" ? { pad: BIG } : {}) });
        return post(`${http}/v1/models/${model(kind)}:predict`, body, id);
      },
    },
    {
      protocol: "odahu",
      kinds: ["ok", "bad", "model-error", "timeout", "malformed", "too-large"],
      send: (kind, id) => {
        const body = kind === "malformed" ? "{not json" : JSON.stringify({ data: ROWS[kind] ?? [[1, 2]], ...(kind === "too-large" ? { pad: BIG } : {}) });
        return post(`${http}/api/model/invoke`, body, id);
      },
    },
    {
      protocol: "omi",
      kinds: ["ok", "bad", "model-error", "timeout", "malformed"],
      send: async (kind, id) => {
        if (kind === "malformed") return rawCall(omi.raw, `/${OMI_SERVICE_NAME}/Run`, garbage, id);
        const res = await omi.Run({ inputs: [jsonItem({ data: ROWS[kind] })] }, metadataWith(id));
        return res.outputs[0].success ? "OK" : "item-failed";
      },
    },
    {
      protocol: "oip-grpc",
      kinds: ["ok", "bad", "model-error", "timeout", "unknown-model", "malformed"],
      send: async (kind, id) => {
        if (kind === "malformed") return rawCall(oip.raw, "/inference.GRPCInferenceService/ModelInfer", garbage, id);
        const rows = ROWS[kind]!;
        const request = {
          model_name: model(kind),
          inputs: [{ name: "input", datatype: "FP64", shape: [rows.length, rows[0].length], contents: { fp64_contents: rows.flat() } }],
        };
        return oip.ModelInfer(request, metadataWith(id)).then(
          () => "OK",
          (err: grpc.ServiceError) => `grpc-${err.code}`,
        );
      },
    },
  ];
}

/** omaf_requests_total by `protocol status`, from a /metrics scrape. */
function requestCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^omaf_requests_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.protocol} ${labels.status}`, Number(m[2]));
  }
  return out;
}

describe("one inference-log line and one metric per request, with the code it was answered with", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let omi: OmiClient;
  let oip: OipGrpcClient;
  const logFile = () => join(tmp.dir, "inference.jsonl");

  before(async () => {
    tmp = await tempDir("omaf-accounting-");
    const dir = await writeAccountingModel(join(tmp.dir, "model"));
    server = await startServe(dir, {
      args: ["--interfaces", ALL, "--inference-log-file", logFile(), "--request-timeout-ms", "1000", "--max-body-bytes", "8192", "--max-message-bytes", "8192"],
    });
    const grpcPort = (label: string) => server.listeners.find((l) => l.label === label)!.port;
    omi = omiClient(`127.0.0.1:${grpcPort("OMI gRPC")}`);
    oip = oipGrpcClient(`127.0.0.1:${grpcPort("OIP v2 gRPC")}`);
  });
  after(async () => {
    omi?.close();
    oip?.close();
    await server?.kill();
    await tmp?.cleanup();
  });

  it("on every protocol, for every kind of request", async () => {
    const sent = new Map<string, { protocol: string; kind: Kind; answer: number | string }>();
    for (const s of senders(server, omi, oip)) {
      for (const kind of s.kinds) {
        const id = `acct-${s.protocol}-${kind}`;
        sent.set(id, { protocol: s.protocol, kind, answer: await s.send(kind, id) });
      }
    }
    // The answers themselves: HTTP statuses and gRPC codes from the error table.
    const httpStatus: Record<Kind, number> = { ok: 200, bad: 400, "model-error": 500, timeout: 504, "unknown-model": 404, malformed: 400, "too-large": 413 };
    const grpcStatus: Partial<Record<Kind, string>> = {
      ok: "OK",
      bad: "grpc-3",
      "model-error": "grpc-13",
      timeout: "grpc-4",
      "unknown-model": "grpc-5",
      malformed: "grpc-3",
    };
    for (const [id, { protocol, kind, answer }] of sent) {
      const want =
        protocol === "omi"
          ? kind === "ok"
            ? "OK"
            : kind === "malformed"
              ? "grpc-3"
              : "item-failed"
          : protocol === "oip-grpc"
            ? grpcStatus[kind]
            : httpStatus[kind];
      assert.equal(answer, want, `${id} answered ${answer}`);
    }

    // Late answers of timed-out requests must not add lines or counts.
    await new Promise((r) => setTimeout(r, 3500));
    const counts = requestCounts(await (await fetch(`${server.url("OIP v2 REST")}/metrics`)).text());
    server.child.kill("SIGTERM");
    assert.equal((await server.exited).code, 0);

    const lines = (await readFile(logFile(), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "inference");
    const expectedCounts = new Map<string, number>();
    for (const [id, { protocol, kind }] of sent) {
      const mine = lines.filter((l) => l.requestId === id);
      assert.equal(mine.length, 1, `${id}: ${mine.length} inference-log lines: ${JSON.stringify(mine)}`);
      const line = mine[0];
      assert.equal(line.protocol, protocol, id);
      assert.equal(line.status === "ok" ? "ok" : line.code, CODE[kind], `${id}: ${JSON.stringify(line)}`);
      const key = `${protocol} ${CODE[kind]}`;
      expectedCounts.set(key, (expectedCounts.get(key) ?? 0) + 1);
    }
    assert.equal(lines.length, sent.size, "no inference-log lines beyond the requests sent");
    assert.deepEqual(Object.fromEntries([...counts].sort()), Object.fromEntries([...expectedCounts].sort()));
  });
});

describe("a value out of its datatype's range is bad input on every protocol", () => {
  let server: ServeProcess;
  let omi: OmiClient;
  const iris = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));
  const row = [1e39, 3.5, 1.4, 0.2];

  before(async () => {
    server = await startServe(iris, { args: ["--interfaces", "omi,oip-rest,kserve-v1,odahu", "--no-inference-log"] });
    omi = omiClient(server.address);
  });
  after(async () => {
    omi?.close();
    await server?.kill();
  });

  it("answers 400 OMAF_ERR_BAD_INPUT over OIP REST, KServe v1 and Odahu, and a bad-input item over OMI", async () => {
    const http = server.url("OIP v2 REST");
    const oipBody = { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: row }] };
    for (const [url, body] of [
      [`${http}/v2/models/iris-onnx/infer`, oipBody],
      [`${http}/v1/models/iris-onnx:predict`, { instances: [row] }],
      [`${http}/api/model/invoke`, { data: [row] }],
    ] as const) {
      const res = await fetch(url, { method: "POST", body: JSON.stringify(body) });
      const answer = (await res.json()) as { code?: string };
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, "OMAF_ERR_BAD_INPUT", url);
    }
    const run = await omi.Run({ inputs: [jsonItem({ data: [row] })] });
    assert.equal(run.outputs[0].success, false);
    assert.match(run.outputs[0].output.error.toString(), /OMAF_ERR_BAD_INPUT.*FP32 range/);
  });
});
