// Run translation: InputItem bytes → JSON value for the dataplane; prediction → OutputItem with provenance.
import { OmafError } from "../../errors.js";
import type { ItemResult, JsonPrediction, Provenance } from "../../dataplane/dataplane.js";
import { parseJsonText } from "../../dataplane/json-input.js";
import { toJsonText } from "../../json.js";
import type { InputItem, OutputItem } from "./messages.js";

/** Keys of an OutputItem's map. */
export const OUTPUT_KEYS = {
  results: "results.json",
  error: "error",
  modelName: "model_name",
  modelVersion: "model_version",
  artifactDigest: "artifact_digest",
  signedBy: "signed_by",
} as const;

/** When an InputItem holds several entries, the first of these keys present is the input. */
export const INPUT_KEYS = ["input", "input.json", "data"] as const;

/**
 * The JSON value of one InputItem: its single entry, or the entry named `input`, `input.json` or `data`
 * (first found) when there are several. Anything else is OMAF_ERR_BAD_INPUT for that item only.
 */
export function readInputItem(item: InputItem | undefined, index: number): ItemResult<unknown> {
  try {
    const map = item?.input ?? {};
    const keys = Object.keys(map);
    let key: string | undefined;
    if (keys.length === 1) key = keys[0];
    else if (keys.length === 0) throw new OmafError("OMAF_ERR_BAD_INPUT", `item ${index} has no input entries`);
    else {
      key = INPUT_KEYS.find((k) => k in map);
      if (key === undefined) {
        throw new OmafError(
          "OMAF_ERR_BAD_INPUT",
          `item ${index} has ${keys.length} entries (${keys.join(", ")}); name the input one of: ${INPUT_KEYS.join(", ")}`,
        );
      }
    }
    return { ok: true, value: parseJsonText(map[key], `item ${index} (${key})`) };
  } catch (err) {
    return { ok: false, error: err as OmafError };
  }
}

/** Provenance entries, encoded once and shared by every OutputItem. */
export function provenanceEntries(p: Provenance): Record<string, Buffer> {
  return {
    [OUTPUT_KEYS.modelName]: Buffer.from(p.modelName, "utf8"),
    [OUTPUT_KEYS.modelVersion]: Buffer.from(p.modelVersion, "utf8"),
    [OUTPUT_KEYS.artifactDigest]: Buffer.from(p.artifactDigest, "utf8"),
    ...(p.signedBy ? { [OUTPUT_KEYS.signedBy]: Buffer.from(p.signedBy, "utf8") } : {}),
  };
}

/** An OutputItem for one item's result: `results.json` = {"data": {"result", "columns"?}} or `error` = {"code","message"}. */
export function toOutputItem(result: ItemResult<JsonPrediction>, provenance: Record<string, Buffer>): OutputItem {
  if (result.ok) {
    let json: string;
    try {
      json = toJsonText({ data: result.value });
    } catch (err) {
      return failedOutputItem(new OmafError("OMAF_ERR_PREDICT", `the prediction is not JSON-serialisable: ${(err as Error).message}`), provenance);
    }
    return { output: { [OUTPUT_KEYS.results]: Buffer.from(json, "utf8"), ...provenance }, success: true };
  }
  return { output: { [OUTPUT_KEYS.error]: errorBytes(result.error), ...provenance }, success: false };
}

/** An OutputItem that failed with `error`. */
export function failedOutputItem(error: OmafError, provenance: Record<string, Buffer>): OutputItem {
  return toOutputItem({ ok: false, error }, provenance);
}

function errorBytes(error: OmafError): Buffer {
  return Buffer.from(JSON.stringify({ code: error.code, message: error.message }), "utf8");
}
