// KServe v1 REST adapter: the input rows as `instances` to `/v1/models/<name>:predict`; readiness is
// `GET /v1/models/<name>`; provenance comes from the x-omaf-* response headers.
import {
  kindOfHttpStatus,
  predictionFromTensors,
  rowsOf,
  tensorsOf,
  type DecodedTensor,
  type NeutralInput,
  type Outcome,
  type Prediction,
  type ProtocolAdapter,
  type WireProvenance,
} from "../harness.js";

const NO_VERSIONS = "KServe v1 addresses models by name only";

/** The x-omaf-* provenance headers every omaf HTTP response carries. */
export function headerProvenance(headers: Headers): WireProvenance {
  return {
    modelName: String(headers.get("x-omaf-model")),
    modelVersion: String(headers.get("x-omaf-model-version")),
    artifactDigest: String(headers.get("x-omaf-artifact-digest")),
  };
}

/** Dimensions of a nested list (a scalar has none). */
function shapeOf(value: unknown): number[] {
  return Array.isArray(value) ? [value.length, ...(value.length > 0 ? shapeOf(value[0]) : [])] : [];
}

/**
 * `predictions` in the matrix form. A tensor model with several outputs answers one object per instance keyed by
 * output name (TensorFlow Serving's row format): each name's values, stacked over the instances, are that output
 * tensor. Otherwise each prediction is a row (GPPI matrix models).
 */
export function predictionOfInstances(predictions: unknown[]): Prediction {
  const objects = predictions.length > 0 && predictions.every((p) => p !== null && typeof p === "object" && !Array.isArray(p));
  if (!objects) return { rows: predictions as unknown[][] };
  const names = Object.keys(predictions[0] as object);
  const tensors: DecodedTensor[] = names.map((name) => {
    const values = predictions.map((p) => (p as Record<string, unknown>)[name]);
    return { name, shape: [values.length, ...shapeOf(values[0])], data: values.flat(Infinity) };
  });
  return predictionFromTensors(tensors);
}

/** Row-format instances: each row's value, or {input_name: row} per instance for several inputs. */
function instancesOf(input: NeutralInput): unknown[] {
  const tensors = tensorsOf(input);
  if (tensors.length === 1) return rowsOf(tensors[0]);
  const rows = tensors.map((t) => rowsOf(t));
  return rows[0].map((_, r) => Object.fromEntries(tensors.map((t, k) => [t.name, rows[k][r]])));
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
      "other-model": true,
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
          const body = request.malformed ? '{"instances": [[1, 2]' : JSON.stringify({ instances: instancesOf(request.input) });
          const res = await fetch(`${base}/${encodeURIComponent(request.model)}:predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          const text = await res.text();
          if (res.status !== 200) return { ok: false, kind: kindOfHttpStatus(res.status), detail: `HTTP ${res.status}: ${text}` };
          const json = JSON.parse(text) as { predictions: unknown[] };
          return { ok: true, prediction: predictionOfInstances(json.predictions), provenance: headerProvenance(res.headers) };
        },
        close() {},
      };
    },
  },
];
