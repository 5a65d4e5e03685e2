// gRPC listeners do not hold connections forever: a socket that never speaks HTTP/2 (or stops answering pings) is
// closed, and a connection without calls is closed after the idle timeout — while clients that call keep working.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { fileURLToPath } from "node:url";
import { omiClient } from "../helpers/omi-client.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";

const iris = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

/** Opens a TCP connection that writes `bytes` (maybe nothing) and resolves with how long the server kept it open. */
function heldFor(port: number, bytes: string, giveUpMs: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Infinity);
    }, giveUpMs);
    socket.on("close", done);
    socket.on("error", () => undefined);
    socket.resume();
  });
}

describe("gRPC connection limits", () => {
  let server: ServeProcess;

  before(async () => {
    // The smallest keepalive the settings allow: a silent socket is closed after 1 s + 10 s.
    server = await startServe(iris, { args: ["--interfaces", "omi", "--grpc-keepalive-ms", "1000", "--grpc-idle-timeout-ms", "2000", "--no-inference-log"] });
  });
  after(() => server?.kill());

  it("closes sockets that never speak HTTP/2, or speak only the preface and go silent", async () => {
    const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    const held = await Promise.all([heldFor(server.port, "", 30_000), heldFor(server.port, preface, 30_000)]);
    for (const ms of held) assert.ok(ms < 25_000, `a silent connection was held for ${ms} ms`);
  });

  it("keeps a busy connection open past the silent-socket limit", async () => {
    const client = omiClient(server.address);
    try {
      const channel = client.raw.getChannel();
      assert.equal((await client.Status({})).status_code, 200);
      // Every state change of the channel: a dropped connection shows as READY → IDLE/CONNECTING.
      const changes: number[] = [];
      let watching = true;
      const watch = (from: grpc.connectivityState) =>
        channel.watchConnectivityState(from, Date.now() + 60_000, (err) => {
          if (err || !watching) return;
          const now = channel.getConnectivityState(false);
          if (now === from) return;
          changes.push(now);
          watch(now);
        });
      watch(channel.getConnectivityState(false));
      // Calls every 300 ms for longer than keepalive + 10 s: the connection must carry all of them without a break.
      const t0 = performance.now();
      let calls = 0;
      while (performance.now() - t0 < 13_000) {
        assert.equal((await client.Status({})).status_code, 200);
        calls++;
        await new Promise((r) => setTimeout(r, 300));
      }
      watching = false;
      assert.ok(calls > 30);
      assert.deepEqual(changes, [], "one connection, never dropped");
    } finally {
      client.close();
    }
  });

  it("closes a connection after the idle timeout, and its client simply reconnects for the next call", async () => {
    const client = omiClient(server.address);
    try {
      assert.equal((await client.Status({})).status_code, 200);
      const channel = client.raw.getChannel();
      assert.equal(channel.getConnectivityState(false), grpc.connectivityState.READY);
      // GOAWAY after 2 s without calls: the channel goes idle, and connects again for the next call. grpc-js checks
      // the idle time when its timer fires and, if the timer ran a little early, waits one more period: so the
      // connection must be kept for at least the timeout and closed within about twice it.
      const t0 = performance.now();
      while (channel.getConnectivityState(false) === grpc.connectivityState.READY && performance.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const heldMs = performance.now() - t0;
      assert.notEqual(channel.getConnectivityState(false), grpc.connectivityState.READY, "still open after 10 s");
      assert.ok(heldMs > 1500, `closed after ${heldMs} ms, before the idle timeout`);
      assert.equal((await client.Status({})).status_code, 200);
    } finally {
      client.close();
    }
  });
});
