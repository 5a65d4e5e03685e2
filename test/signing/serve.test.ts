// `omaf serve` with --require-signature and --trusted-key, as real processes on 127.0.0.1: what it refuses to start
// with (and the codes), and the verified key id on OIP REST parameters, HTTP headers, OMI outputs and the inference log.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pack } from "../../src/artifact/pack.js";
import { SIGNATURE_PATH } from "../../src/archive/provenance.js";
import { putLastEntry } from "../../src/archive/zip-append.js";
import { signArtifact } from "../../src/signing/sign.js";
import { readEmbeddedSignatures } from "../../src/signing/verify.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { jsonItem, omiClient } from "../helpers/omi-client.js";
import { cleanEnv, FREE_PORT_ARGS, startServe } from "../helpers/serve.js";
import { flipByte, keyPair, packedModel } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
const fresh = () => mkdirSync(path.join(tmp.dir, `case-${n++}`), { recursive: true })!;

before(async () => {
  tmp = await tempDir("omaf-signing-serve-");
});
after(() => tmp.cleanup());

/** `omaf serve` that must refuse to start (with a cache of its own): its exit code and the error line. */
function refusal(artifact: string, args: string[], env: Record<string, string> = {}): { code: number | null; stderr: string } {
  const r = omaf(["serve", artifact, "--host", "127.0.0.1", ...FREE_PORT_ARGS, "--cache-dir", path.join(fresh(), "cache"), ...args], {
    env: cleanEnv({ OMAF_INTERFACES: "oip-rest", ...env }),
  });
  return { code: r.code, stderr: r.stderr };
}

describe("serve refuses what it cannot trust", () => {
  it("an unsigned artifact with --require-signature: OMAF_ERR_SIGNATURE_MISSING, exit 1", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const r = refusal(zip, ["--require-signature", "--trusted-key", k.publicKeyFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error OMAF_ERR_SIGNATURE_MISSING: .*holds no signature/m);
    assert.doesNotMatch(r.stderr, /omaf: serving/);
  });

  it("an artifact signed only by another key: OMAF_ERR_SIGNATURE_UNTRUSTED, with or without --require-signature (env vars too)", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const other = await keyPair(dir, "other");
    await signArtifact(zip, { key: other.privateKeyFile });
    const required = refusal(zip, [], { OMAF_REQUIRE_SIGNATURE: "1", OMAF_TRUSTED_KEYS: k.publicKeyFile });
    assert.equal(required.code, 1);
    assert.match(required.stderr, /^error OMAF_ERR_SIGNATURE_UNTRUSTED: /m);
    const optional = refusal(zip, ["--trusted-key", k.publicKeyFile]);
    assert.equal(optional.code, 1);
    assert.match(optional.stderr, /^error OMAF_ERR_SIGNATURE_UNTRUSTED: /m);
  });

  it("tampered artifacts: changed content under the old signature is OMAF_ERR_SIGNATURE_INVALID, a flipped byte OMAF_ERR_DIGEST_MISMATCH", async () => {
    const dir = fresh();
    const { folder, zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });

    const changed = path.join(dir, "changed");
    execFileSync("cp", ["-r", folder, changed]);
    const model = path.join(changed, "src", "model.mjs");
    await writeFile(model, (await readFile(model, "utf8")).replace("a + b", "a * b"));
    const repacked = path.join(dir, "repacked.zip");
    await pack(changed, { output: repacked });
    await putLastEntry(repacked, SIGNATURE_PATH, (await readEmbeddedSignatures(zip))!);
    const invalid = refusal(repacked, ["--require-signature", "--trusted-key", k.publicKeyFile]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^error OMAF_ERR_SIGNATURE_INVALID: .*not this artifact's content/m);

    const flipped = path.join(dir, "flipped.zip");
    await copyFile(zip, flipped);
    await flipByte(flipped, "negative values are not allowed");
    const mismatch = refusal(flipped, ["--require-signature", "--trusted-key", k.publicKeyFile]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /^error OMAF_ERR_DIGEST_MISMATCH: /m);
  });

  it("--require-signature without a trusted key, or an unreadable key: refused before anything is unpacked", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const noKey = refusal(zip, ["--require-signature"]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^error OMAF_ERR_SETTINGS: --require-signature needs at least one --trusted-key/m);
    const privateAsPublic = refusal(zip, ["--trusted-key", k.privateKeyFile]);
    assert.equal(privateAsPublic.code, 2);
    assert.match(privateAsPublic.stderr, /^error OMAF_ERR_KEY_INVALID: .*is a private key/m);
  });
});

describe("serve with a verified signature", () => {
  it("the key id is on OIP REST parameters, x-omaf-signed-by headers, OMI outputs and the inference log", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const other = await keyPair(dir, "other");
    await signArtifact(zip, { key: other.privateKeyFile });
    await signArtifact(zip, { key: k.privateKeyFile });
    const log = path.join(dir, "inference.jsonl");
    const proc = await startServe(zip, {
      args: [
        "--interfaces",
        "omi,oip-rest",
        "--cache-dir",
        path.join(dir, "cache"),
        "--inference-log-file",
        log,
        "--require-signature",
        "--trusted-key",
        k.publicKeyFile,
      ],
    });
    const client = omiClient(proc.address);
    try {
      assert.match(proc.stderr(), new RegExp(`omaf: signature verified: ${artifactDigest} signed by ${k.keyId}`));
      const response = await fetch(`${proc.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP64", data: [1, 2] }] }),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("x-omaf-signed-by"), k.keyId);
      assert.equal(response.headers.get("x-omaf-artifact-digest"), artifactDigest);
      const body = (await response.json()) as { parameters: Record<string, string>; outputs: Array<{ data: number[] }> };
      assert.deepEqual(body.parameters, { model_name: "sum-check", model_version: "1.0.0-1", artifact_digest: artifactDigest, signed_by: k.keyId });
      assert.deepEqual(body.outputs[0].data, [3]);
      const ready = await fetch(`${proc.url("OIP v2 REST")}/readyz`);
      assert.equal(ready.headers.get("x-omaf-signed-by"), k.keyId);

      const run = await client.Run({ inputs: [jsonItem([[2, 3]])] });
      const item = run.outputs[0];
      assert.equal(item.success, true);
      assert.equal(item.output.signed_by.toString(), k.keyId);
      assert.equal(item.output.artifact_digest.toString(), artifactDigest);

      await client.Shutdown({});
      assert.equal((await proc.exited).code, 0);
      const lines = (await readFile(log, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const inferences = lines.filter((l) => l.msg === "inference");
      assert.equal(inferences.length, 2);
      for (const l of inferences) {
        assert.equal(l.signedBy, k.keyId);
        assert.equal(l.digest, artifactDigest);
      }
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("a trusted key without --require-signature serves an unsigned artifact as before, with no signed_by", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const proc = await startServe(zip, { args: ["--interfaces", "oip-rest", "--cache-dir", path.join(dir, "cache"), "--trusted-key", k.publicKeyFile] });
    try {
      const response = await fetch(`${proc.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP64", data: [1, 2] }] }),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("x-omaf-signed-by"), null);
      const body = (await response.json()) as { parameters: Record<string, string> };
      assert.equal(body.parameters.signed_by, undefined);
    } finally {
      await proc.kill();
    }
  });
});
