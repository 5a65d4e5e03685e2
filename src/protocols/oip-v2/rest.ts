// Open Inference Protocol v2 REST (KServe v2, Triton, MLServer), with the binary tensor extension exactly as
// tritonclient.http uses it. A fastify plugin registered by the HTTP listener when `oip-rest` is enabled: bodies
// arrive as raw Buffers (tritonclient sends no Content-Type), errors thrown here become `{"error": ..., "code": ...}`
// through the listener's error handler, with the status from the error table.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import { OmafError } from "../../errors.js";
import { binaryOutputsOf, encodeInferResponse, INFERENCE_HEADER_CONTENT_LENGTH, parseInferBody, type InferRequestHeader } from "../../tensor/binary.js";
import { checkTensor } from "../../tensor/datatype.js";
import type { Tensor } from "../../tensor/tensor.js";
import { valuesFromData } from "../../tensor/values.js";
import { requestContext } from "../http-common.js";
import { checkModel, modelMetadata, provenanceParameters, requestedOutputNames, serverMetadata } from "./shared.js";

interface ModelParams {
  model: string;
  version?: string;
}

const JSON_TYPE = "application/json; charset=utf-8";
const BINARY_TYPE = "application/octet-stream";

/** The request body's bytes (already inflated by the HTTP listener when it came compressed). */
function bodyBytes(request: FastifyRequest): Buffer {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new OmafError("OMAF_ERR_BAD_INPUT", 'the request has no body; send {"inputs": [...]} (or the binary tensor form)');
  }
  return body;
}

const NO_BINARY: ReadonlySet<string> = new Set();

/**
 * The outputs as OIP JSON tensors: the text of `JSON.stringify(outputs.map(tensorToJson))` (same checks, same
 * values, same key order), written directly instead of through an object per tensor, on every JSON answer.
 */
export function jsonOutputsText(outputs: readonly Tensor[]): string {
  let text = "[";
  for (let i = 0; i < outputs.length; i++) {
    const t = checkTensor(outputs[i]);
    if (i > 0) text += ",";
    // checkTensor vouched for the datatype, one of a fixed set of plain names.
    text += `{"name":${JSON.stringify(t.name)},"shape":${JSON.stringify(t.shape)},"datatype":"${t.datatype}","data":${JSON.stringify(valuesFromData(t.datatype, t.data))}`;
    if (t.parameters && Object.keys(t.parameters).length > 0) text += `,"parameters":${JSON.stringify(t.parameters)}`;
    text += "}";
  }
  return `${text}]`;
}

/** Registers every OIP v2 REST endpoint on `app`. */
export async function oipRestRoutes(app: FastifyInstance, opts: { dataplane: DataPlane }): Promise<void> {
  const { dataplane } = opts;
  const provenance = provenanceParameters(dataplane.provenance);
  // The response envelope around `id` and `outputs`, in encodeInferResponse's key order.
  const envelopeHead = `{"model_name":${JSON.stringify(dataplane.provenance.modelName)},"model_version":${JSON.stringify(dataplane.provenance.modelVersion)}`;
  const envelopeParameters = `,"parameters":${JSON.stringify(provenance)},"outputs":`;
  // Server metadata never changes; serialise it once.
  const serverMetadataText = JSON.stringify(serverMetadata());

  app.get("/v2", async (_request, reply) => reply.type(JSON_TYPE).send(serverMetadataText));
  app.get("/v2/health/live", async (_request, reply) => reply.type(JSON_TYPE).send({ live: true }));
  app.get("/v2/health/ready", async (_request, reply) => {
    const ready = dataplane.probeReady();
    return reply
      .code(ready ? 200 : 503)
      .type(JSON_TYPE)
      .send({ ready });
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    return reply.type(JSON_TYPE).send(modelMetadata(dataplane, await dataplane.loadedMetadata()));
  };
  app.get("/v2/models/:model", metadata);
  app.get("/v2/models/:model/versions/:version", metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    const ready = dataplane.probeReady();
    return reply
      .code(ready ? 200 : 503)
      .type(JSON_TYPE)
      .send({ name: request.params.model, ready });
  };
  app.get("/v2/models/:model/ready", modelReady);
  app.get("/v2/models/:model/versions/:version/ready", modelReady);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    return dataplane.infer(requestContext(request), async (inference) => {
      const body = bodyBytes(request);
      const headerLength = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      const { header, inputs } = parseInferBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
      const requested = requestedOutputNames(header.outputs);
      const outputs = await inferTensors(inference, inputs, requested, header.parameters);
      return answer(reply, header, outputs);
    });
  };

  /** Writes an inference answer: all JSON (the common case), or the binary tensor form. */
  const answer = (reply: FastifyReply, header: InferRequestHeader, outputs: Tensor[]) => {
    // Binary outputs only when the request names outputs or asks for all of them in binary.
    const binary = header.outputs?.length || header.parameters?.binary_data_output === true ? binaryOutputsOf(header) : NO_BINARY;
    if (binary !== "all" && binary.size === 0) {
      // All-JSON answer (the common case): the fixed part of the envelope is serialised once, and the body goes out
      // as a string, which Node writes together with the headers.
      const id = header.id !== undefined ? `,"id":${JSON.stringify(header.id)}` : "";
      return reply.type(JSON_TYPE).send(`${envelopeHead}${id}${envelopeParameters}${jsonOutputsText(outputs)}}`);
    }
    const encoded = encodeInferResponse(
      {
        model_name: dataplane.provenance.modelName,
        model_version: dataplane.provenance.modelVersion,
        ...(header.id !== undefined ? { id: header.id } : {}),
        parameters: provenance,
        outputs,
      },
      binary,
    );
    if (encoded.headerLength === undefined) return reply.type(JSON_TYPE).send(encoded.body);
    return reply.header(INFERENCE_HEADER_CONTENT_LENGTH, encoded.headerLength).type(BINARY_TYPE).send(encoded.body);
  };
  app.post("/v2/models/:model/infer", infer);
  app.post("/v2/models/:model/versions/:version/infer", infer);
}
