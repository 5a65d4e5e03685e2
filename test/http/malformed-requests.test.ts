// Requests Node's HTTP parser cannot read never reach a route; they still get omaf's error body (in the listener's
// shape), a stable code and the provenance headers, like every other answer.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServe, type ServeProcess } from "../helpers/serve.js";

const iris = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

/** Sends raw bytes on a fresh connection; answers everything the server wrote before closing it. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (answer += d));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(bytes);
  });
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, body] = answer.split("\r\n\r\n");
  const [statusLine, ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
}

describe("malformed HTTP requests", () => {
  let shared: ServeProcess;
  let odahuOnly: ServeProcess;

  before(async () => {
    [shared, odahuOnly] = await Promise.all([
      startServe(iris, { args: ["--interfaces", "oip-rest,kserve-v1", "--no-inference-log"] }),
      startServe(iris, { args: ["--interfaces", "odahu", "--no-inference-log"] }),
    ]);
  });
  after(async () => {
    await Promise.all([shared?.kill(), odahuOnly?.kill()]);
  });

  const bad = [
    ["a bad Content-Length", "POST /v2/models/iris-onnx/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"],
    ["a request line that is not HTTP", "HELLO THERE\r\n\r\n"],
    ["a header without a colon", "GET /v2 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"],
  ] as const;

  for (const [what, bytes] of bad) {
    it(`${what}: 400 {"error", "code": "OMAF_ERR_BAD_INPUT"} with the provenance headers`, async () => {
      const answer = parse(await rawExchange(shared.listeners[0].port, bytes));
      assert.equal(answer.status, 400);
      assert.equal(answer.body.code, "OMAF_ERR_BAD_INPUT");
      assert.match(String(answer.body.error), /malformed/);
      assert.equal(answer.headers["x-omaf-model"], "iris-onnx");
      assert.match(answer.headers["x-omaf-artifact-digest"], /^sha256:[0-9a-f]{64}$/);
      assert.ok(answer.headers["x-request-id"]);
    });
  }

  it("an Odahu-only listener answers in Odahu's {message, code} shape", async () => {
    const answer = parse(await rawExchange(odahuOnly.listeners[0].port, bad[0][1]));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.code, "OMAF_ERR_BAD_INPUT");
    assert.equal(typeof answer.body.message, "string");
  });

  it("headers larger than Node's limit: 431 in the same shape", async () => {
    const answer = parse(await rawExchange(shared.listeners[0].port, `GET /v2 HTTP/1.1\r\nHost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`));
    assert.equal(answer.status, 431);
    assert.equal(answer.body.code, "OMAF_ERR_BAD_INPUT");
  });
});
