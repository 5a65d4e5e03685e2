// IEEE 754 binary16 (FP16) conversions. FP16 tensors keep their raw half bits in a Uint16Array; these convert single
// values for the wire formats that carry numbers (JSON, matrices).

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
/** Index of the word holding sign, exponent and top mantissa bits of a float64 on this host. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Unbiased binary exponent of a positive, finite, normal float64. */
function exponentOf(a: number): number {
  f64[0] = a;
  return ((f64Words[HI] >>> 20) & 0x7ff) - 1023;
}

/** Largest finite half is 65504; from 65520 (half-way to 2^16) on, round-to-nearest-even gives Infinity. */
const HALF_OVERFLOW = 65520;
const MIN_NORMAL = 2 ** -14;
/** Adding then subtracting 2^28 rounds to a multiple of 2^-24 (the subnormal step) in float64 arithmetic. */
const SUBNORMAL_ROUNDER = 2 ** 28;

/**
 * Half bits of a number, rounded to nearest, ties to even, directly from float64 (no double rounding through
 * float32). Overflow gives ±Infinity, NaN gives the quiet NaN 0x7E00, -0 keeps its sign.
 */
export function numberToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= HALF_OVERFLOW) return sign | 0x7c00;
  if (a < MIN_NORMAL) {
    // Subnormal (or zero): a multiple of 2^-24; a result of 1024 steps is the smallest normal 0x0400.
    const rounded = a + SUBNORMAL_ROUNDER - SUBNORMAL_ROUNDER;
    return sign | (rounded * 2 ** 24);
  }
  // Round to 10 mantissa bits: adding 2^(e+42) leaves exactly 10 fraction bits in float64's 52, and IEEE addition
  // rounds to nearest even. The result may carry into the next binade, so read its exponent afterwards.
  const c = 2 ** (exponentOf(a) + 42);
  const rounded = a + c - c;
  const e = exponentOf(rounded);
  const mantissa = (f64Words[HI] >>> 10) & 0x3ff;
  return sign | ((e + 15) << 10) | mantissa;
}

/** The number held by half bits (exact: every half is a float64). */
export function halfToNumber(bits: number): number {
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 2 ** -24;
  else if (exp === 0x1f) v = mant ? NaN : Infinity;
  else v = (1024 + mant) * 2 ** (exp - 25);
  return bits & 0x8000 ? -v : v;
}
