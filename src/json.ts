// JSON as omaf reads it from the wire and writes it back: one parser with a nesting limit, one replacer for the
// values plain JSON refuses (BigInt, typed arrays). Shared by every protocol and the dataplane.
import { OmafError } from "./errors.js";

/**
 * Deepest nesting of arrays and objects a request may have. Tensors of any practical rank and ordinary documents
 * fit well inside; deeper input is refused up front, because code that walks a value recursively (JSON.stringify,
 * String(), structured clone to a worker) overflows the stack on it.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Parses JSON text (or its UTF-8 bytes). Invalid JSON, or JSON nested deeper than MAX_JSON_DEPTH, is
 * OMAF_ERR_BAD_INPUT naming `what` (e.g. "the request body").
 */
export function parseJson(text: string | Uint8Array, what: string): unknown {
  const s =
    typeof text === "string"
      ? text
      : Buffer.isBuffer(text)
        ? text.toString("utf8")
        : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch (err) {
    throw new OmafError("OMAF_ERR_BAD_INPUT", `${what} is not valid JSON: ${(err as Error).message}`);
  }
  // Only a value containing arrays or objects can be deep, and each level takes two characters: the scan is skipped
  // for scalars and for texts too short to nest past the limit (most single-row requests).
  if (value !== null && typeof value === "object" && s.length > 2 * MAX_JSON_DEPTH && nestingExceeds(s, MAX_JSON_DEPTH)) {
    throw new OmafError("OMAF_ERR_BAD_INPUT", `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`, { limit: MAX_JSON_DEPTH });
  }
  return value;
}

/** True when valid JSON text nests deeper than `limit`: one pass over the characters, strings skipped. */
function nestingExceeds(s: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x22) {
      // Skip the string; a backslash escapes the next character (the text already parsed, so it is well formed).
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    }
  }
  return false;
}

/** JSON.stringify replacer for what plain JSON refuses: BigInt (as a number when exact, else its decimal text) and typed arrays (as lists). */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>);
  return value;
}

/**
 * JSON text of a value, BigInt and typed arrays included (the replacer runs only when plain JSON refuses the value).
 * `undefined` becomes `null`. Throws what JSON.stringify throws for values that still cannot be JSON (cycles).
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return JSON.stringify(value, jsonReplacer) ?? "null";
  }
}
