// The baseline for bench/serve.ts: a bare fastify server with one route that reads an OIP-style JSON request,
// runs the same onnxruntime session omaf runs (same file, same session options) and answers the outputs as JSON.
// No validation beyond what it needs, no provenance, no logging: what any hand-written model server does at minimum.
// Prints `listening <port>` on stdout once ready.
//   node --import tsx bench/serve-baseline.ts <model.onnx>
import Fastify from "fastify";
import * as ort from "onnxruntime-node";

const file = process.argv[2];
if (!file) throw new Error("usage: serve-baseline.ts <model.onnx>");

const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});
const inputName = session.inputNames[0];

interface Body {
  inputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

const app = Fastify({ logger: false });
app.post<{ Body: Body }>("/infer", async (request) => {
  const input = request.body.inputs[0];
  const results = await session.run({ [inputName]: new ort.Tensor("float32", Float32Array.from(input.data), input.shape) });
  return {
    outputs: session.outputNames.map((name) => {
      const t = results[name];
      const data = t.type === "int64" ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.data as Float32Array);
      return { name, shape: t.dims, datatype: t.type === "int64" ? "INT64" : "FP32", data };
    }),
  };
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`);
process.on("SIGTERM", () => process.exit(0));
