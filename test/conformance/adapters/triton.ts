// OIP v2 through NVIDIA's tritonclient (Python, from test/.venv): the client most OIP users run. Each variant is
// a way users call it — the defaults (binary tensors over HTTP, raw contents over gRPC, no outputs named), outputs
// named from the model's metadata, and JSON tensors over HTTP. test/conformance/triton/driver.py does the calls.
import { TritonDriver, venvMissing } from "../triton/client.js";
import {
  kindOfGrpcStatus,
  kindOfHttpStatus,
  predictionFromTensors,
  tensorsOf,
  type DecodedTensor,
  type ErrorKind,
  type NeutralRequest,
  type Outcome,
  type ProtocolAdapter,
} from "../harness.js";

const NO_MALFORMED = "tritonclient only sends requests it could encode";

const SUPPORTS: ProtocolAdapter["supports"] = {
  good: true,
  "good-with-version": true,
  "wrong-shape": true,
  "wrong-datatype": true,
  "unknown-model": true,
  "unknown-version": true,
  "malformed-body": NO_MALFORMED,
  "model-error": true,
  "not-ready": true,
  "other-model": true,
};

/** grpc.StatusCode names as tritonclient.grpc reports them (`StatusCode.NOT_FOUND`) → numeric codes. */
const GRPC_CODES: Record<string, number> = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  INTERNAL: 13,
  UNAVAILABLE: 14,
};

/** The error kind of a tritonclient InferenceServerException status(): an HTTP status, or a gRPC StatusCode name. */
export function kindOfTritonStatus(status: string): ErrorKind {
  if (/^\d+$/.test(status)) return kindOfHttpStatus(Number(status));
  const m = /^StatusCode\.(\w+)$/.exec(status);
  return m && m[1] in GRPC_CODES ? kindOfGrpcStatus(GRPC_CODES[m[1]]) : "other";
}

interface InferResult {
  parameters: Record<string, unknown>;
  outputs: (DecodedTensor & { datatype: string })[];
}

interface Variant {
  name: string;
  protocol: "http" | "grpc";
  /** Extra fields of the driver's infer request (absent = tritonclient's default). */
  options: { binary_input?: boolean; outputs?: { binary: boolean } };
}

const VARIANTS: Variant[] = [
  // tritonclient.http defaults: inputs as binary, no outputs named → binary_data_output for all outputs.
  { name: "triton-http-binary", protocol: "http", options: {} },
  // Binary inputs, every output named with tritonclient's default binary_data=True (per-output binary).
  { name: "triton-http-binary-outputs", protocol: "http", options: { outputs: { binary: true } } },
  // A JSON input (binary_data=False) and no outputs named: tritonclient still asks for binary_data_output.
  { name: "triton-http-json-input", protocol: "http", options: { binary_input: false } },
  // JSON tensors both ways: binary_data=False on the input and on every named output.
  { name: "triton-http-json", protocol: "http", options: { binary_input: false, outputs: { binary: false } } },
  // tritonclient.grpc defaults: raw_input_contents, no outputs named, raw_output_contents back.
  { name: "triton-grpc", protocol: "grpc", options: {} },
  // gRPC with every output named from the model's metadata.
  { name: "triton-grpc-outputs", protocol: "grpc", options: { outputs: { binary: true } } },
];

const missing = venvMissing();

function adapter(v: Variant): ProtocolAdapter {
  const iface = v.protocol === "http" ? "oip-rest" : "oip-grpc";
  return {
    name: v.name,
    interface: iface,
    supports: SUPPORTS,
    ...(missing ? { unavailable: missing } : {}),
    connect(server) {
      const driver = new TritonDriver(v.protocol, `${server.host}:${server.ports[iface]}`);
      return {
        async ready() {
          return (await driver.call<boolean>({ op: "model_ready", model: server.modelName })) === true;
        },
        async infer(request: NeutralRequest): Promise<Outcome> {
          const a = await driver.request<InferResult>({
            op: "infer",
            model: request.model,
            version: request.version,
            inputs: tensorsOf(request.input),
            ...v.options,
          });
          if (!a.ok) return { ok: false, kind: kindOfTritonStatus(a.status), detail: `tritonclient ${a.status}: ${a.message}` };
          const p = a.result.parameters;
          return {
            ok: true,
            prediction: predictionFromTensors(a.result.outputs),
            provenance: { modelName: String(p.model_name), modelVersion: String(p.model_version), artifactDigest: String(p.artifact_digest) },
          };
        },
        close: () => driver.close(),
      };
    },
  };
}

export const adapters: ProtocolAdapter[] = VARIANTS.map(adapter);
