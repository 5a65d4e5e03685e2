// An HTTP app over a loaded model in this process, for handler tests through fastify's inject() (no socket), and the
// ONNX models those tests serve: the answers they expect come from onnxruntime-node running the same file.
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type * as Ort from "onnxruntime-node";
import { stringify } from "yaml";
import { encodeOnnxModel, floatTensor, ONNX_TYPE, tensorValue, type GraphObject } from "../../scripts/make-iris-onnx.js";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import { ModelRegistry } from "../../src/registry/registry.js";
import { createModel, type CreateModelOptions } from "../../src/runtime/load.js";
import { buildHttpApp, type HttpInterfaceName } from "../../src/server/http-listener.js";
import { writeTree } from "../helpers/fixtures.js";

export interface InProcessApp {
  app: FastifyInstance;
  dataplane: DataPlane;
  /** POSTs `body` as JSON; answers the status and the parsed body. */
  post(url: string, body: unknown): Promise<{ status: number; json: any; text: string }>;
  get(url: string): Promise<{ status: number; json: any; text: string }>;
  close(): Promise<void>;
}

/** Serves the artifact at `dir` (loaded before it answers) with `interfaces` on an app that does not listen. */
export async function inProcessApp(
  dir: string,
  interfaces: HttpInterfaceName[],
  cacheDir: string,
  modelOptions: Pick<CreateModelOptions, "pythonOptions"> = {},
): Promise<InProcessApp> {
  const artifact = await materializeArtifact(dir, { cacheDir });
  const model = createModel({ ...modelOptions, dir: artifact.dir, manifest: artifact.manifest, provenance: { artifactDigest: artifact.artifactDigest } });
  const dataplane = new DataPlane(model, artifact, { requestTimeoutMs: 30_000, maxInFlight: 0 });
  await dataplane.load();
  const registry = ModelRegistry.fromDataPlanes([dataplane]);
  const app = await buildHttpApp({ interfaces, host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20, registry });
  const answer = (res: { statusCode: number; body: string }) => {
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, text: res.body };
  };
  return {
    app,
    dataplane,
    post: async (url, body) =>
      answer(
        await app.inject({
          method: "POST",
          url,
          headers: { "content-type": "application/json" },
          payload: typeof body === "string" ? body : JSON.stringify(body),
        }),
      ),
    get: async (url) => answer(await app.inject({ method: "GET", url })),
    async close() {
      await app.close();
      await dataplane.close();
    },
  };
}

const onnxManifest = (name: string) =>
  stringify({
    binaries: { type: "onnx", dependencies: "none" },
    model: { name, version: "1.0.0-1", workDir: "model", entrypoint: "model.onnx" },
    odahuflowVersion: "1.0",
    toolchain: { name: "omaf-test", version: "0.1.0" },
  });

async function writeOnnxArtifact(dir: string, name: string, graph: GraphObject): Promise<string> {
  await writeTree(dir, { "odahuflow.model.yaml": onnxManifest(name), "model/model.onnx": Buffer.from(encodeOnnxModel(graph, 13)) });
  return dir;
}

/** `scores`: input `x` FP32 [N, 4] → MatMul → output `y` FP32 [N, 3] (one input, one output). */
export function writeScoresOnnx(dir: string): Promise<string> {
  const weights = [0.5, -1, 2, 1.5, 0.25, -0.75, -2, 1, 0.125, 3, -0.5, 1];
  return writeOnnxArtifact(dir, "scores", {
    name: "scores",
    node: [{ op_type: "MatMul", name: "linear", input: ["x", "W"], output: ["y"] }],
    initializer: [floatTensor("W", [4, 3], weights)],
    input: [tensorValue("x", ONNX_TYPE.FLOAT, ["N", 4])],
    output: [tensorValue("y", ONNX_TYPE.FLOAT, ["N", 3])],
  });
}

/**
 * `pair`: inputs `a` and `b` FP32 [N, 2] and `ids` INT64 [N] → outputs `sum` = a + b FP32 [N, 2] and `ids_out` =
 * ids INT64 [N] (several inputs and outputs, a 1-D one among each).
 */
export function writePairOnnx(dir: string): Promise<string> {
  return writeOnnxArtifact(dir, "pair", {
    name: "pair",
    node: [
      { op_type: "Add", name: "add", input: ["a", "b"], output: ["sum"] },
      { op_type: "Identity", name: "echo", input: ["ids"], output: ["ids_out"] },
    ],
    input: [tensorValue("a", ONNX_TYPE.FLOAT, ["N", 2]), tensorValue("b", ONNX_TYPE.FLOAT, ["N", 2]), tensorValue("ids", ONNX_TYPE.INT64, ["N"])],
    output: [tensorValue("sum", ONNX_TYPE.FLOAT, ["N", 2]), tensorValue("ids_out", ONNX_TYPE.INT64, ["N"])],
  });
}

/** A nested-list view of one ONNX input, for running the model directly. */
export interface OrtFeed {
  type: "float32" | "int64";
  dims: number[];
  data: number[] | bigint[];
}

/**
 * Runs `file` with onnxruntime-node directly (not through omaf) and answers each output as nested lists, numbers as
 * JavaScript numbers (int64 beyond 2^53 as exact decimal strings, omaf's JSON convention).
 */
export async function runOnnx(file: string, feeds: Record<string, OrtFeed>): Promise<Record<string, unknown>> {
  const ort = (await import("onnxruntime-node")) as typeof Ort;
  const session = await ort.InferenceSession.create(file);
  try {
    const inputs: Record<string, Ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      const data = f.type === "float32" ? Float32Array.from(f.data as number[]) : BigInt64Array.from(f.data as bigint[]);
      inputs[name] = new ort.Tensor(f.type, data, f.dims);
    }
    const out = await session.run(inputs);
    const answer: Record<string, unknown> = {};
    for (const name of session.outputNames) answer[name] = nestValues(Array.from(out[name].data as ArrayLike<number | bigint>, jsonNumber), out[name].dims);
    return answer;
  } finally {
    await session.release();
  }
}

function jsonNumber(v: number | bigint): number | string {
  if (typeof v === "number") return v;
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}

function nestValues(flat: unknown[], dims: readonly number[]): unknown {
  if (dims.length === 0) return flat[0];
  const [d, ...rest] = dims;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: d }, (_, i) => nestValues(flat.slice(i * stride, (i + 1) * stride), rest));
}

/** The artifact's ONNX file (the manifest's entrypoint under its workDir). */
export const onnxFile = (dir: string, entrypoint = "model.onnx", workDir = "model") => join(dir, workDir, entrypoint);
