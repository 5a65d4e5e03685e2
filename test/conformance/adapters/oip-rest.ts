// OIP v2 REST adapters: JSON tensors, and the binary tensor extension as tritonclient.http sends it (JSON header +
// raw little-endian bytes, Inference-Header-Content-Length, no Content-Type; all outputs asked for in binary).
import { INFERENCE_HEADER_CONTENT_LENGTH, parseInferResponseBody, tensorToRaw } from "../../../src/tensor/binary.js";
import { valuesFromData } from "../../../src/tensor/values.js";
import { postBytes, type RawHttpResponse } from "../../helpers/oip-client.js";
import {
  kindOfHttpStatus,
  predictionFromTensors,
  type DecodedTensor,
  tensorsOf,
  toTensor,
  type NeutralRequest,
  type Outcome,
  type ProtocolAdapter,
  type ServedModel,
  type WireProvenance,
} from "../harness.js";

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

export { toTensor };

function inferUrl(server: ServedModel, request: NeutralRequest): string {
  const base = `http://${server.host}:${server.ports["oip-rest"]}/v2/models/${encodeURIComponent(request.model)}`;
  return request.version === undefined ? `${base}/infer` : `${base}/versions/${encodeURIComponent(request.version)}/infer`;
}

function provenanceOf(parameters: Record<string, unknown> | undefined): WireProvenance {
  return {
    modelName: String(parameters?.model_name),
    modelVersion: String(parameters?.model_version),
    artifactDigest: String(parameters?.artifact_digest),
  };
}

function errorOutcome(res: RawHttpResponse): Outcome {
  return { ok: false, kind: kindOfHttpStatus(res.status), detail: `HTTP ${res.status}: ${res.body.toString("utf8")}` };
}

function variant(name: string, encode: (request: NeutralRequest) => { body: Buffer; headers: Record<string, string> }): ProtocolAdapter {
  return {
    name,
    interface: "oip-rest",
    supports: ALL,
    connect(server) {
      return {
        async ready() {
          const res = await fetch(`http://${server.host}:${server.ports["oip-rest"]}/v2/models/${server.modelName}/ready`);
          await res.arrayBuffer();
          return res.status === 200;
        },
        async infer(request) {
          const { body, headers } = encode(request);
          const res = await postBytes(inferUrl(server, request), body, headers);
          if (res.status !== 200) return errorOutcome(res);
          const headerLength = res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH) ?? undefined;
          const parsed = parseInferResponseBody(res.body, headerLength);
          const tensors: DecodedTensor[] = parsed.outputs.map((t) => ({ ...t, data: valuesFromData(t.datatype, t.data) }));
          return { ok: true, prediction: predictionFromTensors(tensors), provenance: provenanceOf(parsed.header.parameters) };
        },
        close() {},
      };
    },
  };
}

export const adapters: ProtocolAdapter[] = [
  variant("oip-rest-json", (request) => {
    if (request.malformed) return { body: Buffer.from('{"inputs": [{"name": "input", '), headers: { "content-type": "application/json" } };
    const inputs = tensorsOf(request.input).map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data }));
    return { body: Buffer.from(JSON.stringify({ inputs })), headers: { "content-type": "application/json" } };
  }),
  variant("oip-rest-binary", (request) => {
    const tensors = tensorsOf(request.input);
    const raws = tensors.map((t) => tensorToRaw(toTensor(t)));
    const inputs = tensors.map(({ name, datatype, shape }, i) => ({ name, datatype, shape, parameters: { binary_data_size: raws[i].length } }));
    const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
    const raw = Buffer.concat(raws);
    // Malformed: the header length claims more JSON than the body holds.
    const length = request.malformed ? header.length + raw.length + 10 : header.length;
    return { body: Buffer.concat([header, raw]), headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: String(length) } };
  }),
];
