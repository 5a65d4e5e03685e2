// Open Inference Protocol v2 REST (KServe v2, Triton, MLServer), with the binary tensor extension exactly as
// tritonclient.http uses it. A fastify plugin registered by the HTTP listener when `oip-rest` is enabled: bodies
// arrive as raw Buffers (tritonclient sends no Content-Type), errors thrown here become `{"error": ..., "code": ...}`
// through the listener's error handler, with the status from the error table.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import { OmafError } from "../../errors.js";
import { binaryOutputsOf, encodeInferResponse, INFERENCE_HEADER_CONTENT_LENGTH, parseInferBody } from "../../tensor/binary.js";
import { ensureLoaded, kickLoad, requestContext } from "../http-common.js";
import { checkModel, modelMetadata, provenanceParameters, serverMetadata } from "./shared.js";

/** Protocol name in the inference log and metrics. */
export const OIP_REST_PROTOCOL = "oip-rest";

interface ModelParams {
  model: string;
  version?: string;
}

const JSON_TYPE = "application/json; charset=utf-8";
const BINARY_TYPE = "application/octet-stream";

/** Registers every OIP v2 REST endpoint on `app`. */
export async function oipRestRoutes(app: FastifyInstance, opts: { dataplane: DataPlane }): Promise<void> {
  const { dataplane } = opts;
  const provenance = provenanceParameters(dataplane.provenance);
  // Server metadata never changes; serialise it once.
  const serverMetadataText = JSON.stringify(serverMetadata());

  app.get("/v2", async (_request, reply) => reply.type(JSON_TYPE).send(serverMetadataText));
  app.get("/v2/health/live", async (_request, reply) => reply.type(JSON_TYPE).send({ live: true }));
  app.get("/v2/health/ready", async (_request, reply) => {
    kickLoad(dataplane);
    const ready = dataplane.ready;
    return reply.code(ready ? 200 : 503).type(JSON_TYPE).send({ ready });
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    await ensureLoaded(dataplane);
    return reply.type(JSON_TYPE).send(modelMetadata(dataplane));
  };
  app.get("/v2/models/:model", metadata);
  app.get("/v2/models/:model/versions/:version", metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    kickLoad(dataplane);
    const ready = dataplane.ready;
    return reply.code(ready ? 200 : 503).type(JSON_TYPE).send({ name: request.params.model, ready });
  };
  app.get("/v2/models/:model/ready", modelReady);
  app.get("/v2/models/:model/versions/:version/ready", modelReady);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(dataplane, request.params.model, request.params.version);
    await ensureLoaded(dataplane);
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new OmafError("OMAF_ERR_BAD_INPUT", 'the request has no body; send {"inputs": [...]} (or the binary tensor form)');
    }
    const headerLength = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
    const { header, inputs } = parseInferBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
    const requested = header.outputs && header.outputs.length > 0 ? header.outputs.map((o) => o.name) : undefined;
    const outputs = await inferTensors(dataplane, inputs, requested, requestContext(request));
    const encoded = encodeInferResponse(
      {
        model_name: dataplane.provenance.modelName,
        model_version: dataplane.provenance.modelVersion,
        ...(header.id !== undefined ? { id: header.id } : {}),
        parameters: provenance,
        outputs,
      },
      binaryOutputsOf(header),
    );
    if (encoded.headerLength === undefined) return reply.type(JSON_TYPE).send(encoded.body);
    return reply.header(INFERENCE_HEADER_CONTENT_LENGTH, encoded.headerLength).type(BINARY_TYPE).send(encoded.body);
  };
  app.post("/v2/models/:model/infer", infer);
  app.post("/v2/models/:model/versions/:version/infer", infer);
}
