// Open Inference Protocol v2 REST (KServe v2, Triton, MLServer), with the binary tensor extension exactly as
// tritonclient.http uses it, and Triton's model repository and statistics extensions. A fastify plugin registered by
// the HTTP listener when `oip-rest` is enabled: bodies arrive as raw Buffers (tritonclient sends no Content-Type),
// errors thrown here become `{"error": ..., "code": ...}` through the listener's error handler, with the status from
// the error table. Each request finds its model in the registry.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { inferTensors } from "../../dataplane/tensor-inference.js";
import { OmafError } from "../../errors.js";
import type { ModelRegistry } from "../../registry/registry.js";
import {
  binaryOutputsOf,
  encodeInferAnswer,
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseInferBody,
  responseEnvelope,
  responseStart,
  type InferRequestHeader,
  type ResponseEnvelope,
} from "../../tensor/binary.js";
import type { Tensor } from "../../tensor/tensor.js";
import { readOptionalJsonBody, requestContext } from "../http-common.js";
import { modelMetadata, modelReady, modelStatistics, provenanceParameters, refuseLoadOverrides, requestedOutputNames, serverMetadata } from "./shared.js";

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

/** Each model version's response envelope (name, version, provenance parameters), serialised once. */
const envelopes = new WeakMap<DataPlane, ResponseEnvelope>();

function envelopeOf(dataplane: DataPlane): ResponseEnvelope {
  let e = envelopes.get(dataplane);
  if (!e) {
    const p = dataplane.provenance;
    envelopes.set(dataplane, (e = responseEnvelope(p.modelName, p.modelVersion, provenanceParameters(p))));
  }
  return e;
}

/** Registers every OIP v2 REST endpoint on `app`. */
export async function oipRestRoutes(app: FastifyInstance, opts: { registry: ModelRegistry }): Promise<void> {
  const { registry } = opts;
  // Server metadata never changes; serialise it once.
  const serverMetadataText = JSON.stringify(serverMetadata());
  /** The request's model; remembered on the request for its provenance headers and inference-log line. */
  const modelOf = (request: FastifyRequest<{ Params: ModelParams }>): DataPlane => {
    const dataplane = registry.resolve(request.params.model, request.params.version);
    request.omafModel = dataplane;
    return dataplane;
  };

  app.get("/v2", async (_request, reply) => reply.type(JSON_TYPE).send(serverMetadataText));
  app.get("/v2/health/live", async (_request, reply) => reply.type(JSON_TYPE).send({ live: true }));
  app.get("/v2/health/ready", async (_request, reply) => {
    const ready = registry.probeReady();
    return reply
      .code(ready ? 200 : 503)
      .type(JSON_TYPE)
      .send({ ready });
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const dataplane = modelOf(request);
    const meta = await dataplane.loadedMetadata();
    return reply.type(JSON_TYPE).send(modelMetadata(dataplane, meta, registry.versionsOf(request.params.model)));
  };
  app.get("/v2/models/:model", metadata);
  app.get("/v2/models/:model/versions/:version", metadata);

  const readiness = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const ready = modelReady(registry, request.params.model, request.params.version);
    return reply
      .code(ready ? 200 : 503)
      .type(JSON_TYPE)
      .send({ name: request.params.model, ready });
  };
  app.get("/v2/models/:model/ready", readiness);
  app.get("/v2/models/:model/versions/:version/ready", readiness);

  // Triton's statistics extension. `/v2/models/stats` is a route of its own, so a model named "stats" has no
  // metadata at /v2/models/stats (as on Triton).
  const statistics = async (request: FastifyRequest<{ Params: Partial<ModelParams> }>, reply: FastifyReply) =>
    reply.type(JSON_TYPE).send(modelStatistics(registry, request.params.model, request.params.version));
  app.get("/v2/models/stats", statistics);
  app.get("/v2/models/:model/stats", statistics);
  app.get("/v2/models/:model/versions/:version/stats", statistics);

  // Triton's model repository extension: POSTs that are not inference requests (no inference-log line).
  const notInference = { config: { inference: false } };
  app.post("/v2/repository/index", notInference, async (request, reply) => {
    const body = readOptionalJsonBody(request) as { ready?: unknown } | undefined;
    if (body?.ready !== undefined && typeof body.ready !== "boolean") throw new OmafError("OMAF_ERR_BAD_INPUT", '"ready" must be true or false');
    return reply.type(JSON_TYPE).send(registry.index(body?.ready === true));
  });
  app.post<{ Params: ModelParams }>("/v2/repository/models/:model/load", notInference, async (request, reply) => {
    refuseLoadOverrides((readOptionalJsonBody(request) as { parameters?: unknown } | undefined)?.parameters);
    await registry.load(request.params.model);
    return reply.type(JSON_TYPE).send({});
  });
  app.post<{ Params: ModelParams }>("/v2/repository/models/:model/unload", notInference, async (request, reply) => {
    readOptionalJsonBody(request);
    await registry.unload(request.params.model);
    return reply.type(JSON_TYPE).send({});
  });

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const dataplane = modelOf(request);
    return dataplane.infer(requestContext(request), async (inference) => {
      const body = bodyBytes(request);
      const headerLength = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      const { header, inputs } = parseInferBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
      const requested = requestedOutputNames(header.outputs);
      const outputs = await inferTensors(inference, inputs, requested, header.parameters);
      // Not returned: a reply is a thenable, and settling a promise with one costs another promise job per request.
      answer(reply, envelopeOf(dataplane), header, outputs);
    });
  };

  /** Writes an inference answer: all JSON (the common case), or the binary tensor form. */
  const answer = (reply: FastifyReply, envelope: ResponseEnvelope, header: InferRequestHeader, outputs: Tensor[]) => {
    // Binary outputs only when the request names outputs or asks for all of them in binary.
    const binary = header.outputs?.length || header.parameters?.binary_data_output === true ? binaryOutputsOf(header) : NO_BINARY;
    const { body, headerLength } = encodeInferAnswer(responseStart(envelope, header.id), outputs, binary);
    if (headerLength === undefined) return reply.type(JSON_TYPE).send(body);
    return reply.header(INFERENCE_HEADER_CONTENT_LENGTH, headerLength).type(BINARY_TYPE).send(body);
  };
  app.post("/v2/models/:model/infer", infer);
  app.post("/v2/models/:model/versions/:version/infer", infer);
}
