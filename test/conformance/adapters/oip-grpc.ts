// OIP v2 gRPC adapters: raw_input_contents (what tritonclient.grpc sends) and typed InferTensorContents.
import type { ServiceError } from "@grpc/grpc-js";
import { parametersFromGrpc, tensorFromGrpc, tensorToGrpc, type GrpcModelInferResponse } from "../../../src/tensor/grpc-contents.js";
import { valuesFromData } from "../../../src/tensor/values.js";
import { oipGrpcClient } from "../../helpers/oip-client.js";
import { kindOfGrpcStatus, predictionFromTensors, tensorsOf, toTensor, type NeutralRequest, type Outcome, type ProtocolAdapter } from "../harness.js";

const ALL: ProtocolAdapter["supports"] = {
  good: true,
  "good-with-version": true,
  "wrong-shape": true,
  "wrong-datatype": true,
  "unknown-model": true,
  "unknown-version": true,
  "malformed-body": true,
  "model-error": true,
  "not-ready": true,
  "other-model": true,
};

/** Field 5 (inputs) announced with 5 bytes of which only one comes: protobuf cannot decode it. */
const UNDECODABLE = Buffer.from([0x2a, 0x05, 0x0a]);

function decode(res: GrpcModelInferResponse): Outcome {
  const raw = res.raw_output_contents ?? [];
  const tensors = res.outputs.map((o, i) => {
    const t = tensorFromGrpc(o, raw.length > 0 ? raw[i] : undefined);
    return { ...t, data: valuesFromData(t.datatype, t.data) };
  });
  const p = parametersFromGrpc(res.parameters ?? {});
  return {
    ok: true,
    prediction: predictionFromTensors(tensors),
    provenance: { modelName: String(p.model_name), modelVersion: String(p.model_version), artifactDigest: String(p.artifact_digest) },
  };
}

function variant(name: string, raw: boolean): ProtocolAdapter {
  return {
    name,
    interface: "oip-grpc",
    supports: ALL,
    connect(server) {
      const client = oipGrpcClient(`${server.host}:${server.ports["oip-grpc"]}`);
      return {
        async ready() {
          return (await client.ModelReady({ name: server.modelName, version: "" })).ready;
        },
        async infer(request: NeutralRequest): Promise<Outcome> {
          try {
            if (request.malformed) return decode(await client.inferBytes(UNDECODABLE));
            const encoded = tensorsOf(request.input).map((t) => tensorToGrpc(toTensor(t), { raw }));
            const res = await client.ModelInfer({
              model_name: request.model,
              model_version: request.version ?? "",
              inputs: encoded.map((e) => e.output),
              ...(raw ? { raw_input_contents: encoded.map((e) => e.raw as Buffer) } : {}),
            });
            return decode(res);
          } catch (err) {
            const e = err as ServiceError;
            if (typeof e.code !== "number") throw err;
            return { ok: false, kind: kindOfGrpcStatus(e.code), detail: `gRPC ${e.code}: ${e.details}` };
          }
        },
        close: () => client.close(),
      };
    },
  };
}

export const adapters: ProtocolAdapter[] = [variant("oip-grpc-raw", true), variant("oip-grpc-typed", false)];
