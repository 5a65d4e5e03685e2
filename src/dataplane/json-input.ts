// Turns a JSON request body into what a Model takes. Shared by every protocol that carries JSON
// (OMI Run items, Odahu REST invoke, KServe v1 instances).
import { badInput } from "../errors.js";
import { parseJson } from "../json.js";
import type { MatrixInput } from "../runtime/model.js";

/**
 * A matrix request: `{"columns"?: [...], "data": [[...], ...]}` (the Odahu invoke body) or a bare 2-D array.
 * Checks the form only; row widths are checked against the model by the dataplane.
 */
export function parseMatrixBody(body: unknown): MatrixInput {
  if (Array.isArray(body)) return { data: body as unknown[][] };
  if (body === null || typeof body !== "object") {
    throw badInput(`a matrix request is {"columns"?: [...], "data": [[...]]} or a 2-D array, not ${describe(body)}`);
  }
  const { data, columns } = body as { data?: unknown; columns?: unknown };
  if (!Array.isArray(data)) throw badInput(`"data" must be a 2-D array (rows of values), not ${describe(data)}`);
  if (columns === undefined || columns === null) return { data: data as unknown[][] };
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
    throw badInput(`"columns" must be an array of strings, not ${describe(columns)}`);
  }
  return { data: data as unknown[][], columns: columns as string[] };
}

/** An objects-mode request: any JSON object or array. */
export function parseObjectsBody(body: unknown): unknown {
  if (body === null || typeof body !== "object") {
    throw badInput(`an objects-mode request must be a JSON object or array, not ${describe(body)}`);
  }
  return body;
}

/** Parses JSON text (or UTF-8 bytes) into a value; bad or too deeply nested JSON is OMAF_ERR_BAD_INPUT. */
export function parseJsonText(text: string | Uint8Array, what = "input"): unknown {
  return parseJson(text, what);
}

/** A short description of a JSON value's kind, for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
