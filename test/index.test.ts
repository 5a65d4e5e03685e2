// The public API: the export list is pinned, and the built package resolves through its `exports` map.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as api from "../src/index.js";
import { tempDir } from "./helpers/fixtures.js";

const EXPORTS = [
  "DEFAULT_UNPACK_LIMITS",
  "DataPlane",
  "ERROR_CODES",
  "MANIFEST_NAME",
  "MANIFEST_NAMES",
  "ModelRegistry",
  "OmafError",
  "PREDICATE_TYPE",
  "PROVENANCE_PATH",
  "SETTINGS",
  "SIGNATURE_PATH",
  "checkPythonDependencies",
  "compareVersions",
  "contentDigest",
  "createModel",
  "detachedSignaturePath",
  "fileIndex",
  "generateSigningKey",
  "isOmafError",
  "isValid",
  "keyIdOf",
  "loadSettings",
  "manifestSchema",
  "materializeArtifact",
  "openArtifact",
  "openInput",
  "openOffline",
  "pack",
  "parseManifestText",
  "parsePrivateKey",
  "parsePublicKey",
  "predictOip",
  "predictRows",
  "readManifest",
  "readPrivateKey",
  "readPublicKey",
  "resolveModelSource",
  "serveArtifact",
  "serveModels",
  "signArtifact",
  "testArtifact",
  "unpack",
  "validate",
  "validateManifest",
  "verifyArtifact",
  "writeImageContext",
  "writeSigningKey",
];

test("src/index.ts exports exactly the documented API", () => {
  assert.deepEqual(Object.keys(api).sort(), EXPORTS);
});

// These two need the build (`npm test` runs it first).
const root = fileURLToPath(new URL("..", import.meta.url));

test('the built package exports the same API through `import "omaf"`', async () => {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", 'import * as m from "omaf"; console.log(JSON.stringify(Object.keys(m).sort()))'], {
    cwd: root,
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(out), EXPORTS);
});

test("examples/toolchain packs a model in three lines with the built package", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const out = execFileSync(process.execPath, ["--import", "tsx", "examples/toolchain/pack-model.ts", dir], { cwd: root, encoding: "utf8" });
  assert.match(out, /sum-1\.0\.0-1\.zip sha256:[0-9a-f]{64} valid/);
});
