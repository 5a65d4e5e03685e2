// OMI (Chassis ModzyModel) adapter: one Run with one InputItem holding the rows as JSON; readiness is Status 200.
import type { ServiceError } from "@grpc/grpc-js";
import { omiClient } from "../../helpers/omi-client.js";
import { kindOfGrpcStatus, kindOfOmafCode, rowsOf, type Outcome, type ProtocolAdapter } from "../harness.js";

const NO_MODEL_NAME = "OMI requests name no model (a server answers OMI with one, --omi-model)";

export const adapters: ProtocolAdapter[] = [
  {
    name: "omi",
    interface: "omi",
    supports: {
      good: true,
      "good-with-version": NO_MODEL_NAME,
      "wrong-shape": true,
      "wrong-datatype": true,
      "unknown-model": NO_MODEL_NAME,
      "unknown-version": NO_MODEL_NAME,
      "malformed-body": true,
      "model-error": true,
      "not-ready": true,
      "other-model": NO_MODEL_NAME,
    },
    connect(server) {
      const client = omiClient(`${server.host}:${server.ports.omi}`);
      return {
        async ready() {
          return (await client.Status({})).status_code === 200;
        },
        async infer(request): Promise<Outcome> {
          const bytes = request.malformed ? Buffer.from('{"data": [[1, 2]') : Buffer.from(JSON.stringify(rowsOf(request.input)));
          let res: Awaited<ReturnType<typeof client.Run>>;
          try {
            res = await client.Run({ inputs: [{ input: { input: bytes } }] });
          } catch (err) {
            const e = err as ServiceError;
            return { ok: false, kind: kindOfGrpcStatus(e.code), detail: `gRPC ${e.code}: ${e.details}` };
          }
          const item = res.outputs[0];
          if (!item) return { ok: false, kind: "other", detail: `Run ${res.status_code} ${res.message} answered no item` };
          const out = item.output;
          if (!item.success) {
            const error = JSON.parse(out.error.toString("utf8")) as { code: string; message: string };
            return { ok: false, kind: kindOfOmafCode(error.code), detail: `Run ${res.status_code}, item ${error.code}: ${error.message}` };
          }
          const body = JSON.parse(out["results.json"].toString("utf8")) as { data: { result: unknown[][]; columns?: string[] } };
          return {
            ok: true,
            prediction: { rows: body.data.result, ...(body.data.columns ? { columns: body.data.columns } : {}) },
            provenance: {
              modelName: out.model_name.toString("utf8"),
              modelVersion: out.model_version.toString("utf8"),
              artifactDigest: out.artifact_digest.toString("utf8"),
            },
          };
        },
        close: () => client.close(),
      };
    },
  },
];
