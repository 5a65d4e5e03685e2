// KServe v1 REST adapter: the input rows as `instances` to `/v1/models/<name>:predict`; readiness is
// `GET /v1/models/<name>`; provenance comes from the x-omaf-* response headers.
import { kindOfHttpStatus, rowsOf, type Outcome, type ProtocolAdapter, type WireProvenance } from "../harness.js";

const NO_VERSIONS = "KServe v1 addresses models by name only";

/** The x-omaf-* provenance headers every omaf HTTP response carries. */
export function headerProvenance(headers: Headers): WireProvenance {
  return {
    modelName: String(headers.get("x-omaf-model")),
    modelVersion: String(headers.get("x-omaf-model-version")),
    artifactDigest: String(headers.get("x-omaf-artifact-digest")),
  };
}

export const adapters: ProtocolAdapter[] = [
  {
    name: "kserve-v1",
    interface: "kserve-v1",
    supports: {
      good: true,
      "good-with-version": NO_VERSIONS,
      "wrong-shape": true,
      "wrong-datatype": true,
      "unknown-model": true,
      "unknown-version": NO_VERSIONS,
      "malformed-body": true,
      "model-error": true,
      "not-ready": true,
    },
    connect(server) {
      const base = `http://${server.host}:${server.ports["kserve-v1"]}/v1/models`;
      return {
        async ready() {
          const res = await fetch(`${base}/${encodeURIComponent(server.modelName)}`);
          const body = (await res.json()) as { ready?: unknown };
          return res.status === 200 && body.ready === true;
        },
        async infer(request): Promise<Outcome> {
          const body = request.malformed ? '{"instances": [[1, 2]' : JSON.stringify({ instances: rowsOf(request.input) });
          const res = await fetch(`${base}/${encodeURIComponent(request.model)}:predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          const text = await res.text();
          if (res.status !== 200) return { ok: false, kind: kindOfHttpStatus(res.status), detail: `HTTP ${res.status}: ${text}` };
          const json = JSON.parse(text) as { predictions: unknown[][] };
          return { ok: true, prediction: { rows: json.predictions }, provenance: headerProvenance(res.headers) };
        },
        close() {},
      };
    },
  },
];
