// The transport floor for bench/serve.ts: what Node's own HTTP servers cost per request with no framework and no
// model. One process, two listeners: node:http answering a fixed JSON body, and node:http2 answering a unary gRPC call
// with a fixed message and then the status trailers, as every gRPC server on Node does (grpc-js, omaf's unary front).
// Both read the whole request and answer after a setImmediate, where onnxruntime-node answers. Their ratio is the most
// a gRPC server on node:http2 can reach against an HTTP/1.1 one. Prints `listening <http port> <http2 port>`.
//   node --import tsx bench/serve-floor.ts
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

/** An answer of about the size of omaf's iris answers. */
const JSON_ANSWER = Buffer.from(JSON.stringify({ outputs: [{ name: "label", datatype: "INT64", shape: [1], data: [0] }] }));
const MESSAGE = Buffer.alloc(64, 1);
const GRPC_ANSWER = Buffer.concat([Buffer.from([0, 0, 0, 0, MESSAGE.length]), MESSAGE]);
const GRPC_HEADERS = { ":status": 200, "content-type": "application/grpc+proto", "grpc-encoding": "identity" };
const GRPC_TRAILERS = { "grpc-status": 0, "grpc-message": "OK" };

const h1 = http.createServer((req, res) => {
  req.resume();
  req.on("end", () =>
    setImmediate(() => {
      res.writeHead(200, { "content-type": "application/json", "content-length": JSON_ANSWER.length });
      res.end(JSON_ANSWER);
    }),
  );
});

const h2 = http2.createServer();
h2.on("stream", (stream) => {
  stream.on("error", () => undefined);
  stream.resume();
  stream.on("end", () =>
    setImmediate(() => {
      if (stream.destroyed || stream.closed) return;
      stream.respond(GRPC_HEADERS, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers(GRPC_TRAILERS));
      stream.end(GRPC_ANSWER);
    }),
  );
});

await Promise.all([new Promise<void>((r) => h1.listen(0, "127.0.0.1", r)), new Promise<void>((r) => h2.listen(0, "127.0.0.1", r))]);
process.stdout.write(`listening ${(h1.address() as AddressInfo).port} ${(h2.address() as AddressInfo).port}\n`);
process.on("SIGTERM", () => process.exit(0));
