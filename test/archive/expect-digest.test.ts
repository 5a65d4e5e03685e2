// unpack's expected digest (`omaf unpack --expect-digest`, what the image's build step passes): the right one unpacks;
// a wrong one is OMAF_ERR_DIGEST_MISMATCH naming both digests, and leaves nothing behind — for an artifact with a
// provenance record it is refused before any file is written.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { unpackArchive } from "../../src/archive/unpack.js";
import { isOmafError } from "../../src/errors.js";
import { tempDir } from "../helpers/fixtures.js";
import { packedModel } from "../signing/helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  tmp = await tempDir("omaf-expect-digest-");
});
after(() => tmp.cleanup());

it("the expected digest unpacks; another is refused with both digests and nothing written", async () => {
  const { zip, artifactDigest } = await packedModel(tmp.dir);
  const ok = await unpackArchive(zip, path.join(tmp.dir, "ok"), { expectDigest: artifactDigest });
  assert.equal(ok.artifactDigest, artifactDigest);

  const wrong = `sha256:${"0".repeat(64)}`;
  await assert.rejects(
    unpackArchive(zip, path.join(tmp.dir, "out", "wrong"), { expectDigest: wrong }),
    (err) => isOmafError(err, "OMAF_ERR_DIGEST_MISMATCH") && err.message.includes(artifactDigest) && err.message.includes(wrong),
  );
  assert.equal(existsSync(path.join(tmp.dir, "out")), false, "refused before anything was written, even the target's parent folder");
});
