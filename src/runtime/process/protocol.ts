// The framed pipe protocol between omaf and its model worker processes (Python GPPI and Java GJPI workers;
// python/omaf_worker.py and java/OmafWorker.java document the same).
//
//   frame   = u32 length | u8 type | payload (length bytes)      all integers little-endian
//   payload = u32 request id | body
//
// Numeric matrices travel as raw float64 (body = u32 header length | JSON header | zero padding to 8 | values), so
// neither side parses numbers one by one; everything else is JSON.
import { endianness } from "node:os";

/** Frame types. Lower case: omaf → worker; upper case: worker → omaf. */
export const FrameType = {
  MatrixJson: 0x6d, // 'm'
  MatrixBinary: 0x62, // 'b'
  Objects: 0x6f, // 'o'
  Tensors: 0x74, // 't' (tensor-frames.ts)
  Ready: 0x52, // 'R'
  Failed: 0x46, // 'F'
  Error: 0x45, // 'E'
  ResultJson: 0x4a, // 'J'
  ResultBinary: 0x41, // 'A'
  ResultTensors: 0x54, // 'T' (tensor-frames.ts)
} as const;

/** One decoded frame. `body` excludes the request id. */
export interface Frame {
  type: number;
  id: number;
  body: Buffer;
}

const HEAD = 9; // length + type + id
const LITTLE_ENDIAN = endianness() === "LE";

/** A frame with request id 0; the id is stamped by `setFrameId` when the frame is dispatched. */
export function frame(type: number, bodyLength: number): Buffer {
  const buf = Buffer.allocUnsafe(HEAD + bodyLength);
  buf.writeUInt32LE(4 + bodyLength, 0);
  buf.writeUInt8(type, 4);
  buf.writeUInt32LE(0, 5);
  return buf;
}

/** Stamps the request id into an encoded frame. */
export function setFrameId(buf: Buffer, id: number): void {
  buf.writeUInt32LE(id >>> 0, 5);
}

/** A frame whose body is JSON text. */
export function jsonFrame(type: number, value: unknown): Buffer {
  const text = JSON.stringify(value);
  const length = Buffer.byteLength(text);
  const buf = frame(type, length);
  buf.write(text, HEAD, "utf8");
  return buf;
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * The request frame for a matrix: binary float64 when every value is a number (flagged `int` when all are safe
 * integers, so the worker hands the model Python ints as Odahu would), JSON otherwise (strings, booleans, nulls).
 */
export function matrixFrame(data: unknown[][], columns: string[] | undefined, allowBinary: boolean): Buffer {
  const rows = data.length;
  const cols = rows ? (data[0] as unknown[]).length : 0;
  if (allowBinary && LITTLE_ENDIAN && rows > 0 && cols > 0) {
    const values = new Float64Array(rows * cols);
    let k = 0;
    let allInts = true;
    let numeric = true;
    for (let r = 0; r < rows && numeric; r++) {
      const row = data[r] as unknown[];
      for (let c = 0; c < cols; c++) {
        const v = row[c];
        if (typeof v !== "number") {
          numeric = false;
          break;
        }
        if (allInts && !Number.isSafeInteger(v)) allInts = false;
        values[k++] = v;
      }
    }
    if (numeric) {
      const header = Buffer.from(JSON.stringify({ shape: [rows, cols], columns: columns ?? null, int: allInts }));
      // Offsets inside the body (after the id): the values start 8-aligned there.
      const at = align8(4 + header.length);
      const buf = frame(FrameType.MatrixBinary, at + values.byteLength);
      buf.writeUInt32LE(header.length, HEAD);
      header.copy(buf, HEAD + 4);
      buf.fill(0, HEAD + 4 + header.length, HEAD + at);
      Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(buf, HEAD + at);
      return buf;
    }
  }
  return jsonFrame(FrameType.MatrixJson, columns ? { data, columns } : { data });
}

/** Splits a byte stream into frames. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Feeds bytes; answers every frame completed by them. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(Math.min(this.buffered, HEAD));
      const length = head.readUInt32LE(0);
      if (length < 4) throw new Error(`bad frame length ${length}`);
      if (this.buffered < 5 + length) break;
      const whole = this.take(5 + length);
      frames.push({ type: whole[4]!, id: whole.readUInt32LE(5), body: whole.subarray(HEAD) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** What a worker answers for a matrix request. */
export interface MatrixAnswer {
  prediction: unknown;
  columns: unknown;
  /** Time the model function took inside the worker, in microseconds. */
  t: number;
}

/** Reads an 'A' body: float64 values with a JSON header; builds nested arrays of the given shape. */
export function decodeBinaryResult(body: Buffer): MatrixAnswer {
  const headerLength = body.readUInt32LE(0);
  const header = JSON.parse(body.toString("utf8", 4, 4 + headerLength)) as {
    shape: number[];
    kind: string;
    columns: unknown;
    t: number;
  };
  const at = align8(4 + headerLength);
  const count = header.shape.reduce((a, b) => a * b, 1);
  if (body.length < at + count * 8) throw new Error("binary result is shorter than its shape");
  // Float64Array needs an 8-aligned offset; copy when the frame landed unaligned in the read buffer.
  const start = body.byteOffset + at;
  const values = start % 8 === 0 ? new Float64Array(body.buffer, start, count) : new Float64Array(body.buffer.slice(start, start + count * 8));
  const kind = header.kind;
  let k = 0;
  const next = (): unknown => {
    const v = values[k++]!;
    if (kind === "b") return v !== 0;
    // JSON has no NaN or Infinity: the same null the JSON path gives.
    return Number.isFinite(v) ? v : null;
  };
  const build = (dim: number): unknown[] => {
    const n = header.shape[dim]!;
    const out = new Array<unknown>(n);
    if (dim === header.shape.length - 1) for (let i = 0; i < n; i++) out[i] = next();
    else for (let i = 0; i < n; i++) out[i] = build(dim + 1);
    return out;
  };
  return { prediction: build(0), columns: header.columns, t: header.t };
}

/** Parses a JSON body. */
export function decodeJson<T>(body: Buffer): T {
  return JSON.parse(body.toString("utf8")) as T;
}
