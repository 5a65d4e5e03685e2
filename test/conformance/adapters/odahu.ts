// Odahu REST adapter: the input rows as `{"data": [...]}` to /api/model/invoke; readiness is /healthcheck;
// provenance comes from the x-omaf-* response headers.
import { kindOfHttpStatus, rowsOf, type Outcome, type ProtocolAdapter } from "../harness.js";
import { headerProvenance } from "./kserve-v1.js";

const NO_MODEL_NAME = "Odahu invoke requests name no model (a server answers Odahu with one, --odahu-model)";

export const adapters: ProtocolAdapter[] = [
  {
    name: "odahu",
    interface: "odahu",
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
      const base = `http://${server.host}:${server.ports.odahu}`;
      return {
        async ready() {
          const res = await fetch(`${base}/healthcheck`);
          const body = (await res.json()) as { status?: unknown };
          return res.status === 200 && body.status === true;
        },
        async infer(request): Promise<Outcome> {
          const body = request.malformed ? '{"data": [[1, 2]' : JSON.stringify({ data: rowsOf(request.input) });
          const res = await fetch(`${base}/api/model/invoke`, { method: "POST", headers: { "content-type": "application/json" }, body });
          const text = await res.text();
          if (res.status !== 200) return { ok: false, kind: kindOfHttpStatus(res.status), detail: `HTTP ${res.status}: ${text}` };
          const json = JSON.parse(text) as { prediction: unknown[][]; columns?: string[] };
          return {
            ok: true,
            prediction: { rows: json.prediction, ...(json.columns ? { columns: json.columns } : {}) },
            provenance: headerProvenance(res.headers),
          };
        },
        close() {},
      };
    },
  },
];
