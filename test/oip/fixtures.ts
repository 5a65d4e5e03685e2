// Models and servers for the OIP v2 tests: an ONNX "echo" model with one Identity per datatype (so every datatype,
// FP16 included, travels through a real onnxruntime session), and `omaf serve` with the OIP interfaces.
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { encodeOnnxModel, tensorValue } from "../../scripts/make-iris-onnx.js";
import type { Datatype } from "../../src/tensor/tensor.js";
import { writeTree } from "../helpers/fixtures.js";
import { startConformanceServer, type ConformanceServer } from "../conformance/harness.js";

export const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

/** onnx.proto TensorProto.DataType of each OIP datatype. */
const ONNX_ELEM: Record<Datatype, number> = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
};

export const ECHO_DATATYPES = Object.keys(ONNX_ELEM) as Datatype[];

/**
 * Input `x_<DT>` [-1, -1] → output `y_<DT>` (Identity) for each of `datatypes` (default: every datatype), in that
 * order; model `name` 1.0.0-1.
 */
export async function writeEchoOnnxModel(dir: string, datatypes: readonly Datatype[] = ECHO_DATATYPES, name = "echo-all"): Promise<string> {
  const graph = {
    name: "echo",
    node: datatypes.map((dt) => ({ op_type: "Identity", name: `echo_${dt}`, input: [`x_${dt}`], output: [`y_${dt}`] })),
    input: datatypes.map((dt) => tensorValue(`x_${dt}`, ONNX_ELEM[dt], ["N", "M"])),
    output: datatypes.map((dt) => tensorValue(`y_${dt}`, ONNX_ELEM[dt], ["N", "M"])),
  };
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify({
      binaries: { type: "onnx", dependencies: "none" },
      model: { name, version: "1.0.0-1", workDir: "model", entrypoint: "echo.onnx" },
      odahuflowVersion: "1.0",
      toolchain: { name: "omaf-test", version: "0.1.0" },
    }),
    "model/echo.onnx": Buffer.from(encodeOnnxModel(graph, 13)),
  });
  return dir;
}

/** `omaf serve` with OIP REST and gRPC on free ports. */
export function startOip(artifact: string): Promise<ConformanceServer> {
  return startConformanceServer(artifact, { interfaces: ["oip-rest", "oip-grpc"] });
}

/** `http://127.0.0.1:<port>` of the OIP REST listener. */
export const restBase = (s: ConformanceServer): string => `http://${s.host}:${s.ports["oip-rest"]}`;

/** `127.0.0.1:<port>` of the OIP gRPC listener. */
export const grpcAddress = (s: ConformanceServer): string => `${s.host}:${s.ports["oip-grpc"]}`;
