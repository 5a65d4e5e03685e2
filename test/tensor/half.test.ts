import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { halfToNumber, numberToHalf } from "../../src/tensor/half.js";

describe("FP16 conversions", () => {
  it("encodes known values", () => {
    const cases: [number, number][] = [
      [1.0, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [0.000061035, 0x0400], // ≈ 2^-14, the smallest normal
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001], // smallest subnormal
      [0, 0x0000],
      [-0, 0x8000],
      [0.5, 0x3800],
      [0.1, 0x2e66],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [65519, 0x7bff], // below the half-way point to 2^16: rounds down to max
      [65520, 0x7c00], // half-way: ties to even (2^16) = overflow
      [1e10, 0x7c00],
      [-1e10, 0xfc00],
      [2 ** -26, 0x0000], // underflow
    ];
    for (const [value, bits] of cases) {
      assert.equal(numberToHalf(value), bits, `${value} -> 0x${bits.toString(16)} (got 0x${numberToHalf(value).toString(16)})`);
    }
  });

  it("encodes NaN as a quiet NaN and decodes every NaN pattern as NaN", () => {
    assert.equal(numberToHalf(NaN), 0x7e00);
    for (const bits of [0x7e00, 0x7c01, 0xfe00, 0x7fff]) assert.ok(Number.isNaN(halfToNumber(bits)));
  });

  it("decodes known values", () => {
    assert.equal(halfToNumber(0x3c00), 1);
    assert.equal(halfToNumber(0xc000), -2);
    assert.equal(halfToNumber(0x7bff), 65504);
    assert.equal(halfToNumber(0x0400), 2 ** -14);
    assert.equal(halfToNumber(0x0001), 2 ** -24);
    assert.equal(halfToNumber(0x7c00), Infinity);
    assert.equal(halfToNumber(0xfc00), -Infinity);
    assert.ok(Object.is(halfToNumber(0x8000), -0));
  });

  it("round-trips every non-NaN half pattern exactly", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = halfToNumber(bits);
      if (Number.isNaN(v)) continue;
      const back = numberToHalf(v);
      if (back !== bits) assert.fail(`0x${bits.toString(16)} -> ${v} -> 0x${back.toString(16)}`);
    }
  });

  it("rounds to nearest, ties to even, between every pair of adjacent finite halves", () => {
    for (let bits = 0; bits < 0x7bff; bits++) {
      const lo = halfToNumber(bits);
      const hi = halfToNumber(bits + 1);
      const mid = (lo + hi) / 2; // exact in float64
      const even = bits % 2 === 0 ? bits : bits + 1;
      if (numberToHalf(mid) !== even) assert.fail(`tie ${mid} between 0x${bits.toString(16)} and next -> 0x${numberToHalf(mid).toString(16)}`);
      const nudge = (hi - lo) / 1024;
      if (numberToHalf(mid - nudge) !== bits) assert.fail(`just below the midpoint above 0x${bits.toString(16)}`);
      if (numberToHalf(mid + nudge) !== bits + 1) assert.fail(`just above the midpoint above 0x${bits.toString(16)}`);
      if (numberToHalf(-mid) !== (even | 0x8000)) assert.fail(`negative tie near 0x${bits.toString(16)}`);
    }
  });

  it("rounds directly from float64 (no double rounding through float32)", () => {
    // Just above the tie between 1 and 1 + 2^-10 by less than float32 can hold: float32 would round it to the tie
    // itself, which then rounds to even (1.0). The correct answer is the upper neighbour.
    const v = 1 + 2 ** -11 + 2 ** -40;
    assert.equal(Math.fround(v), 1 + 2 ** -11);
    assert.equal(numberToHalf(v), 0x3c01);
  });
});
