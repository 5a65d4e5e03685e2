// One sample tensor per datatype, with edge values (range limits, 64-bit integers beyond 2^53, non-finite floats,
// multi-byte UTF-8 and empty strings), and a comparison that tells typed arrays of different kinds apart.
import assert from "node:assert/strict";
import { DATATYPES, type Datatype, type Tensor } from "../../src/tensor/tensor.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Sample data per datatype; every datatype has 6 elements (shape [2, 3]) except BYTES ([6] too, as [2, 3]). */
export function sample(datatype: Datatype, name = `t_${datatype.toLowerCase()}`): Tensor {
  const shape = [2, 3];
  switch (datatype) {
    case "BOOL":
      return { name, datatype, shape, data: Uint8Array.of(1, 0, 0, 1, 1, 0) };
    case "UINT8":
      return { name, datatype, shape, data: Uint8Array.of(0, 255, 1, 128, 127, 42) };
    case "UINT16":
      return { name, datatype, shape, data: Uint16Array.of(0, 65535, 1, 32768, 256, 42) };
    case "UINT32":
      return { name, datatype, shape, data: Uint32Array.of(0, 4294967295, 1, 2147483648, 65536, 42) };
    case "UINT64":
      return { name, datatype, shape, data: BigUint64Array.of(0n, 2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 63n, 9007199254740991n, 42n) };
    case "INT8":
      return { name, datatype, shape, data: Int8Array.of(-128, 127, 0, -1, 1, 42) };
    case "INT16":
      return { name, datatype, shape, data: Int16Array.of(-32768, 32767, 0, -1, 1, 42) };
    case "INT32":
      return { name, datatype, shape, data: Int32Array.of(-2147483648, 2147483647, 0, -1, 1, 42) };
    case "INT64":
      return {
        name,
        datatype,
        shape,
        data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, -9007199254740991n, 42n),
      };
    case "FP16": // 1, -2, 65504 (max), 2^-14 (min normal), 2^-24 (min subnormal), NaN
      return { name, datatype, shape, data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x7e00) };
    case "FP32":
      return { name, datatype, shape, data: Float32Array.of(1.5, -3.4028234663852886e38, 1e-45, NaN, Infinity, 0.1) };
    case "FP64":
      return { name, datatype, shape, data: Float64Array.of(Math.PI, -1e308, 5e-324, NaN, -Infinity, 0.1) };
    case "BYTES":
      return { name, datatype, shape, data: ["", "héllo", "日本語", "🎉", "a\u0000b", "plain"].map(utf8) };
  }
}

/** Every datatype's sample. */
export const ALL_SAMPLES = (): Tensor[] => DATATYPES.map((d) => sample(d));

function plain(t: Tensor): unknown {
  const data = Array.isArray(t.data)
    ? t.data.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex"))
    : Array.from(t.data as ArrayLike<unknown>);
  const kind = Array.isArray(t.data) ? "Uint8Array[]" : t.data.constructor.name;
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], kind, data };
}

/** Same name, datatype, shape, data kind (typed array class) and values (NaN equals NaN; -0 differs from 0). */
export function assertSameTensor(actual: Tensor, expected: Tensor, message?: string): void {
  assert.deepStrictEqual(plain(actual), plain(expected), message ?? `tensor ${expected.name}`);
}

/** Asserts `fn` throws an OmafError with the code, and (optionally) a message matching `pattern`. */
export function assertOmafError(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    const e = err as { name?: string; code?: string; message?: string };
    assert.equal(e.name, "OmafError", `expected an OmafError, got ${String(err)}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    if (pattern) assert.match(e.message ?? "", pattern);
    return true;
  });
}
