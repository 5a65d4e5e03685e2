import assert from "node:assert/strict";
import { test } from "node:test";
import { newRequestId } from "../../src/dataplane/request-id.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("request ids are distinct version-4 UUIDs, across many batches", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = newRequestId();
    assert.match(id, UUID_V4);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});

test("request ids spread over every hex digit in every random position", () => {
  // Each of the 30 positions that are not fixed (dashes, version, variant's top bits) takes all 16 digits.
  const digits = Array.from({ length: 36 }, () => new Set<string>());
  for (let i = 0; i < 4_000; i++) [...newRequestId()].forEach((c, at) => digits[at].add(c));
  for (let at = 0; at < 36; at++) {
    const expected = [8, 13, 18, 23].includes(at) ? 1 : at === 14 ? 1 : at === 19 ? 4 : 16;
    assert.equal(digits[at].size, expected, `position ${at}: ${[...digits[at]].sort().join("")}`);
  }
});
