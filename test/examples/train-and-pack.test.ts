// examples/train-and-pack end to end: the training script runs as a user runs it (its own process, in a temp
// folder), its signed artifact verifies with the library, a second seeded run gives the same digest and bytes, and a
// real `omaf serve --require-signature` answers an OIP REST inference with what the model answered in-process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { verifyArtifact } from "../../src/index.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, startServe } from "../helpers/serve.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(REPO, "examples", "train-and-pack", "train.ts");

/** The script's `--json` summary. */
interface Summary {
  artifact: string;
  artifactDigest: string;
  keyId: string;
  signedBy: string[];
  heldOut: number;
  heldOutRight: number;
  selfTest: boolean;
  request: { columns: string[]; data: number[][] };
  answer: { prediction: number[][]; columns: string[] };
  /** ml-logistic-regression's own answer to the request. */
  library: number[];
}

async function train(outDir: string, cacheDir: string, args: string[] = []): Promise<Summary> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", SCRIPT, outDir, "--json", ...args], {
    cwd: REPO,
    env: cleanEnv({ OMAF_CACHE_DIR: cacheDir }),
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Summary;
}

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

describe("examples/train-and-pack", { timeout: 300_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let first: Summary;
  let cache: string;

  before(async () => {
    tmp = await tempDir("omaf-train-and-pack-");
    cache = join(tmp.dir, "cache");
    first = await train(join(tmp.dir, "first"), cache);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("trains, packs, signs and self-tests: the entrypoint answers exactly what the library answers", () => {
    assert.equal(first.selfTest, true);
    assert.match(first.artifactDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(first.artifact, join(tmp.dir, "first", "iris-logreg-1.0.0-1.zip"));
    assert.ok(first.heldOutRight >= 0.9 * first.heldOut, `${first.heldOutRight}/${first.heldOut} held-out rows right`);
    assert.deepEqual(first.answer.columns, ["class", "p_setosa", "p_versicolor", "p_virginica"]);
    assert.deepEqual(first.answer.prediction, [first.library]);
    assert.equal(first.library[0], 0, "5.1, 3.5, 1.4, 0.2 is a setosa");
    assert.deepEqual(first.signedBy, [first.keyId]);
  });

  it("the signature verifies with the generated public key, through the library", async () => {
    const verified = await verifyArtifact(first.artifact, { keys: [join(tmp.dir, "first", "signing.pub")] });
    assert.deepEqual(verified.keyIds, [first.keyId]);
    assert.equal(verified.artifactDigest, first.artifactDigest);
  });

  it("the same seeded run with the same key gives the same artifact digest and the same bytes", async () => {
    const second = await train(join(tmp.dir, "second"), cache, ["--key", join(tmp.dir, "first", "signing.key")]);
    assert.equal(second.artifactDigest, first.artifactDigest);
    assert.equal(second.keyId, first.keyId);
    assert.equal(await sha256(second.artifact), await sha256(first.artifact));
    assert.deepEqual(second.answer, first.answer);
  });

  it("omaf serve --require-signature answers an OIP REST inference with the in-process answer", async () => {
    const server = await startServe(first.artifact, {
      args: ["--require-signature", "--trusted-key", join(tmp.dir, "first", "signing.pub")],
      env: { OMAF_INTERFACES: "oip-rest", OMAF_CACHE_DIR: cache },
    });
    try {
      const res = await fetch(`${server.url("OIP v2 REST")}/v2/models/iris-logreg/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: first.request.data[0] }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `HTTP ${res.status}: ${text}\n${server.stderr()}`);
      const body = JSON.parse(text) as {
        parameters: Record<string, unknown>;
        outputs: { name: string; datatype: string; shape: number[]; data: number[]; parameters?: { columns?: string[] } }[];
      };
      assert.equal(body.parameters.artifact_digest, first.artifactDigest);
      assert.equal(body.parameters.signed_by, first.keyId);
      assert.deepEqual(
        body.outputs.map((o) => [o.name, o.datatype, o.shape, o.parameters?.columns]),
        [["prediction", "FP64", [1, 4], first.answer.columns]],
      );
      assert.deepEqual(body.outputs[0].data, first.answer.prediction[0]);
    } finally {
      await server.kill();
    }
  });
});
