// Raw tensor bytes (little-endian; BYTES as 4-byte length + bytes per element) and the OIP REST binary tensor
// extension: a JSON header followed by raw tensor bytes, its length in `Inference-Header-Content-Length`, exactly as
// tritonclient.http sends and reads it. Raw bytes become typed-array views over the body whenever alignment allows.
import { badInput } from "../errors.js";
import { bytesPerElement, checkShape, checkTensor, DATATYPE_ARRAYS, show } from "./datatype.js";
import { quotedName, readTensorHeader, tensorFromJson, tensorJsonText, withParameters } from "./json.js";
import { parseJson } from "../json.js";
import { elementCount, type Datatype, type Tensor } from "./tensor.js";

/** The HTTP header carrying the JSON header's byte length in a binary request or response. */
export const INFERENCE_HEADER_CONTENT_LENGTH = "inference-header-content-length";

/** Raw data is little-endian on the wire; on a big-endian host every multi-byte element is byte-swapped. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `size`-byte element of a fresh copy (only used on big-endian hosts). */
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  return out;
}

/**
 * Decodes raw little-endian tensor bytes. Fixed-size types must have exactly product(shape) * size bytes and come
 * back as a typed-array view over `bytes` (no copy) when its offset is aligned to the element size, a copy otherwise.
 * BOOL bytes must be 0 or 1. BYTES is a sequence of 4-byte little-endian lengths each followed by that many bytes,
 * exactly product(shape) of them; elements are views into `bytes`. Mismatches are OMAF_ERR_BAD_INPUT.
 */
export function tensorFromRaw(name: string, datatype: Datatype, shape: readonly number[], bytes: Uint8Array): Tensor {
  const where = `tensor '${name}'`;
  const dims = checkShape(shape, where);
  const count = elementCount(dims);
  if (datatype === "BYTES") return { name, datatype, shape: dims, data: bytesElements(bytes, count, where) };
  const size = bytesPerElement(datatype)!;
  if (bytes.length !== count * size) {
    throw badInput(`${where}: shape ${JSON.stringify(dims)} of ${datatype} needs ${count * size} bytes, got ${bytes.length}`, {
      tensor: name,
      expected: count * size,
      actual: bytes.length,
    });
  }
  if (datatype === "BOOL") {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] > 1) throw badInput(`${where} (BOOL) element ${i}: byte ${bytes[i]} is neither 0 nor 1`, { tensor: name, index: i });
    }
  }
  let src = bytes;
  if (!HOST_LITTLE_ENDIAN && size > 1) src = swapped(bytes, size);
  // Typed views need aligned offsets: copy into a fresh buffer (not bytes.slice(), which is a view for a Buffer).
  else if (src.byteOffset % size !== 0) src = new Uint8Array(bytes);
  const Ctor = DATATYPE_ARRAYS[datatype];
  return { name, datatype, shape: dims, data: new Ctor(src.buffer, src.byteOffset, count) };
}

function bytesElements(bytes: Uint8Array, count: number, where: string): Uint8Array[] {
  // Each element takes at least its 4-byte length: a shape claiming more cannot be real (and is not allocated for).
  if (count * 4 > bytes.length) {
    throw badInput(`${where} (BYTES): ${count} elements need at least ${count * 4} bytes, got ${bytes.length}`, { expected: count * 4, actual: bytes.length });
  }
  const out = new Array<Uint8Array>(count);
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.length) throw badInput(`${where} (BYTES): data ends before the length of element ${i}`, { index: i });
    const len = (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)) >>> 0;
    o += 4;
    if (o + len > bytes.length) {
      throw badInput(`${where} (BYTES) element ${i}: length ${len} runs past the end of the data`, { index: i });
    }
    out[i] = bytes.subarray(o, o + len);
    o += len;
  }
  if (o !== bytes.length) {
    throw badInput(`${where} (BYTES): ${bytes.length - o} bytes left after ${count} elements`, { expected: o, actual: bytes.length });
  }
  return out;
}

/**
 * A tensor's raw little-endian bytes. Fixed-size types are a view over the tensor's memory (no copy); BYTES elements
 * are each written as a 4-byte little-endian length followed by the bytes.
 */
export function tensorToRaw(t: Tensor): Buffer {
  checkTensor(t);
  if (t.datatype === "BYTES") {
    const items = t.data as Uint8Array[];
    let total = 4 * items.length;
    for (const b of items) total += b.length;
    const out = Buffer.allocUnsafe(total);
    let o = 0;
    for (const b of items) {
      out.writeUInt32LE(b.length, o);
      out.set(b, o + 4);
      o += 4 + b.length;
    }
    return out;
  }
  const data = t.data as Exclude<Tensor["data"], Uint8Array[]>;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1 ? view : Buffer.from(swapped(view, data.BYTES_PER_ELEMENT));
}

/** An output the client asked for, as the JSON request lists it. */
export interface RequestedOutput {
  name: string;
  parameters?: Record<string, unknown>;
}

/** The JSON header of an OIP REST inference request, checked for form (not against any model). */
export interface InferRequestHeader {
  id?: string;
  parameters?: Record<string, unknown>;
  /** The inputs as sent; binary ones carry `parameters.binary_data_size` and no `data`. */
  inputs: unknown[];
  outputs?: RequestedOutput[];
}

/** A parsed inference request body: its JSON header and every input decoded, in request order. */
export interface ParsedInferRequest {
  header: InferRequestHeader;
  inputs: Tensor[];
}

/** The JSON header of an OIP REST inference response. */
export interface InferResponseHeader {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: unknown[];
}

/** A parsed inference response body: its JSON header and every output decoded, in response order. */
export interface ParsedInferResponse {
  header: InferResponseHeader;
  outputs: Tensor[];
}

/**
 * Parses an OIP REST inference request body. `headerLength` is the `Inference-Header-Content-Length` value (number
 * or header text); without it the whole body is JSON. Each input with `parameters.binary_data_size` takes that many of
 * the bytes after the JSON header, in input order (and must carry no `data`); the others are JSON tensors. Sizes must
 * add up to the body length exactly. binary_data_size is not kept in the tensors' parameters. Every problem is
 * OMAF_ERR_BAD_INPUT.
 */
export function parseInferBody(body: Uint8Array, headerLength?: number | string): ParsedInferRequest {
  const { json, tensors } = parseBody(body, headerLength, "inputs", "input");
  const header = json as unknown as InferRequestHeader;
  if (header.id !== undefined && typeof header.id !== "string") throw badInput(`"id" must be a string, not ${show(header.id)}`);
  checkParameters(header.parameters, "request");
  if (header.outputs !== undefined) {
    if (!Array.isArray(header.outputs)) throw badInput(`"outputs" must be a list, not ${show(header.outputs)}`);
    header.outputs.forEach((o, i) => {
      if (o === null || typeof o !== "object" || typeof o.name !== "string" || o.name === "") {
        throw badInput(`outputs[${i}] must be an object with a non-empty "name", not ${show(o)}`);
      }
      checkParameters(o.parameters, `output '${o.name}'`);
    });
  }
  return { header, inputs: tensors };
}

/** Parses an OIP REST inference response body (the client side of encodeInferResponse; same rules as parseInferBody). */
export function parseInferResponseBody(body: Uint8Array, headerLength?: number | string): ParsedInferResponse {
  const { json, tensors } = parseBody(body, headerLength, "outputs", "output");
  return { header: json as unknown as InferResponseHeader, outputs: tensors };
}

function checkParameters(p: unknown, where: string): void {
  if (p !== undefined && p !== null && (typeof p !== "object" || Array.isArray(p))) {
    throw badInput(`${where}: parameters must be an object, not ${show(p)}`);
  }
}

function parseHeaderLength(value: number | string, bodyLength: number): number {
  const n = typeof value === "number" ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > bodyLength) {
    throw badInput(`Inference-Header-Content-Length must be an integer in [0, ${bodyLength}] (the body length), not ${show(value)}`);
  }
  return n;
}

function parseBody(
  body: Uint8Array,
  headerLength: number | string | undefined,
  key: "inputs" | "outputs",
  kind: string,
): { json: Record<string, unknown>; tensors: Tensor[] } {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const jsonLength = headerLength === undefined ? buf.length : parseHeaderLength(headerLength, buf.length);
  const json = parseJson(buf.toString("utf8", 0, jsonLength), kind === "input" ? "the inference request header" : "the inference response header");
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw badInput(`the inference header must be a JSON object, not ${show(json)}`);
  const items = (json as Record<string, unknown>)[key];
  if (!Array.isArray(items)) throw badInput(`"${key}" must be a list of tensors, not ${show(items)}`);
  let offset = jsonLength;
  const tensors = items.map((item, i) => {
    const p = (item as { parameters?: Record<string, unknown> } | null)?.parameters;
    const size = p && typeof p === "object" ? p.binary_data_size : undefined;
    if (size === undefined) return tensorFromJson(item, kind);
    const h = readTensorHeader(item, kind);
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw badInput(`${h.where}: binary_data_size must be a non-negative integer, not ${show(size)}`, { tensor: h.name });
    }
    if ((item as { data?: unknown }).data !== undefined) throw badInput(`${h.where}: carries both binary_data_size and data`, { tensor: h.name });
    if (offset + size > buf.length) {
      throw badInput(`${h.where}: binary_data_size ${size} runs past the end of the body (${buf.length - offset} bytes left)`, {
        tensor: h.name,
        index: i,
      });
    }
    const t = tensorFromRaw(h.name, h.datatype, h.shape, buf.subarray(offset, offset + size));
    offset += size;
    const { binary_data_size: _size, ...rest } = h.parameters!;
    return withParameters(t, rest);
  });
  if (offset !== buf.length) {
    throw badInput(`the body has ${buf.length - offset} bytes after the JSON header that no binary_data_size accounts for`, {
      expected: offset,
      actual: buf.length,
    });
  }
  return { json: json as Record<string, unknown>, tensors };
}

/**
 * Which outputs a request wants in binary form: per listed output `parameters.binary_data` (true: binary, false:
 * JSON); when absent, the request-level `parameters.binary_data_output`. With no outputs listed, binary_data_output
 * true means 'all'. The result is what encodeInferResponse takes.
 */
export function binaryOutputsOf(header: Pick<InferRequestHeader, "parameters" | "outputs">): Set<string> | "all" {
  const all = header.parameters?.binary_data_output === true;
  if (!header.outputs || header.outputs.length === 0) return all ? "all" : new Set();
  const names = new Set<string>();
  for (const o of header.outputs) {
    const b = o.parameters?.binary_data;
    if (b === true || (b === undefined && all)) names.add(o.name);
  }
  return names;
}

/** What a server answers for an inference; outputs are Tensors. */
export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: Tensor[];
}

/**
 * Encodes an OIP REST inference response. Outputs named in `binaryOutputs` (or all of them) go as raw bytes after the
 * JSON header, in output order, announced by `parameters.binary_data_size` (and no `data`); the rest are JSON tensors.
 * `headerLength` is set only when some output is binary: send it as `Inference-Header-Content-Length` (and
 * Content-Type application/octet-stream); otherwise the body is plain JSON. Unsafe INT64/UINT64 values in JSON
 * outputs are exact decimal strings (see tensorToJson).
 */
export function encodeInferResponse(response: InferResponse, binaryOutputs: ReadonlySet<string> | "all" = new Set()): { body: Buffer; headerLength?: number } {
  const envelope = responseEnvelope(response.model_name, response.model_version, response.parameters);
  const { body, headerLength } = encodeInferAnswer(responseStart(envelope, response.id), response.outputs, binaryOutputs);
  return { body: typeof body === "string" ? Buffer.from(body, "utf8") : body, headerLength };
}

/**
 * The text of a response's JSON header up to its outputs, less its `id`: what every answer of a model version
 * repeats, so a server serialises it once (see responseStart).
 */
export interface ResponseEnvelope {
  /** `{"model_name":…,"model_version":…` */
  head: string;
  /** `,"parameters":…,"outputs":` */
  tail: string;
}

/** The envelope of a model version's responses (`parameters`, e.g. its provenance, when given). */
export function responseEnvelope(modelName: string, modelVersion?: string, parameters?: Record<string, unknown>): ResponseEnvelope {
  const version = modelVersion === undefined ? "" : `,"model_version":${JSON.stringify(modelVersion)}`;
  const params = parameters === undefined ? "" : `,"parameters":${JSON.stringify(parameters)}`;
  return { head: `{"model_name":${JSON.stringify(modelName)}${version}`, tail: `${params},"outputs":` };
}

/** A response's JSON header up to its outputs list: model_name, model_version, id, parameters, in that order. */
export function responseStart(envelope: ResponseEnvelope, id?: string): string {
  return id === undefined ? envelope.head + envelope.tail : `${envelope.head},"id":${JSON.stringify(id)}${envelope.tail}`;
}

/**
 * encodeInferResponse for a response whose JSON header up to its outputs is already text: `start` is
 * `{"model_name":...,"outputs":` (see responseStart). An all-JSON answer comes back as text, which Node writes
 * together with the HTTP headers; with binary outputs, as bytes.
 */
export function encodeInferAnswer(
  start: string,
  outputs: readonly Tensor[],
  binaryOutputs: ReadonlySet<string> | "all",
): { body: string | Buffer; headerLength?: number } {
  let text = `${start}[`;
  const raws: Buffer[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const t = outputs[i];
    if (i > 0) text += ",";
    if (binaryOutputs !== "all" && !binaryOutputs.has(t.name)) {
      text += tensorJsonText(t);
      continue;
    }
    const raw = tensorToRaw(t);
    raws.push(raw);
    // tensorToRaw checked the tensor: shape of non-negative integers (as numbers once checkShape read them), a known datatype.
    const parameters = t.parameters ? JSON.stringify({ ...t.parameters, binary_data_size: raw.length }) : `{"binary_data_size":${raw.length}}`;
    text += `{"name":${quotedName(t.name)},"datatype":"${t.datatype}","shape":[${checkShape(t.shape).join(",")}],"parameters":${parameters}}`;
  }
  text += "]}";
  if (raws.length === 0) return { body: text };
  // One allocation for the header and every raw tensor.
  const headerLength = Buffer.byteLength(text, "utf8");
  let length = headerLength;
  for (const raw of raws) length += raw.length;
  const body = Buffer.allocUnsafe(length);
  let offset = body.write(text, 0, "utf8");
  for (const raw of raws) {
    body.set(raw, offset);
    offset += raw.length;
  }
  return { body, headerLength };
}
