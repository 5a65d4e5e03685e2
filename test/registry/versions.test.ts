// How versions order: semver where both parse, natural order otherwise, and always a total order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareVersions, naturalCompare } from "../../src/registry/versions.js";

const sorted = (list: string[]) => [...list].sort(compareVersions);

describe("compareVersions", () => {
  it("orders manifest versions (<semver>-<suffix>) by semver", () => {
    assert.deepEqual(sorted(["1.10.0-1", "1.9.0-7", "1.0.0-10", "1.0.0-9", "2.0.0-1"]), ["1.0.0-9", "1.0.0-10", "1.9.0-7", "1.10.0-1", "2.0.0-1"]);
    // semver's rule: a pre-release part (here the suffix) is lower than the plain version.
    assert.ok(compareVersions("1.0.0-1", "1.0.0") < 0);
  });

  it("falls back to natural order when either side is not semver", () => {
    assert.deepEqual(sorted(["1.10-1", "1.9-2", "1.9-10", "1.2"]), ["1.2", "1.9-2", "1.9-10", "1.10-1"]);
    assert.ok(compareVersions("1.0-3", "1.0.0-1") < 0, "'-' sorts before '.' as text");
    assert.ok(naturalCompare("v2", "v10") < 0);
    assert.ok(naturalCompare("1.0-99999999999999999999", "1.0-100000000000000000000") < 0, "long digit runs compare by value");
  });

  it("is a total order: different texts never compare equal", () => {
    assert.notEqual(compareVersions("1.0-01", "1.0-1"), 0);
    assert.equal(Math.sign(compareVersions("1.0-01", "1.0-1")), -Math.sign(compareVersions("1.0-1", "1.0-01")));
    assert.equal(compareVersions("1.0.0-1", "1.0.0-1"), 0);
  });
});
