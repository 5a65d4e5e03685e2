// Interoperability with an independent DSSE implementation: securesystemslib (PyPI, in test/.venv) verifies the
// envelopes omaf writes, and omaf verifies one securesystemslib signed with its own Ed25519 key. Skips without the
// venv (with the setup instruction); fails instead with OMAF_TEST_REQUIRE_TRITON=1, as .ci/run sets.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { signArtifact } from "../../src/signing/sign.js";
import { readPublicKey } from "../../src/signing/keys.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { SETUP_HINT, VENV_PYTHON } from "../conformance/triton/client.js";
import { keyPair, packedModel } from "./helpers.js";

const SCRIPT = fileURLToPath(new URL("./interop.py", import.meta.url));

/** Why securesystemslib cannot run here, or undefined when it can. */
function missing(): string | undefined {
  const ready = existsSync(VENV_PYTHON) && spawnSync(VENV_PYTHON, ["-c", "import securesystemslib.dsse, cryptography"]).status === 0;
  if (ready) return undefined;
  const reason = `securesystemslib is not in the test venv (${VENV_PYTHON}); ${SETUP_HINT}`;
  if (process.env.OMAF_TEST_REQUIRE_TRITON === "1") throw new Error(`OMAF_TEST_REQUIRE_TRITON=1 but ${reason}`);
  return reason;
}

/** Runs interop.py; its JSON answer, or the failure (exit code and stderr). */
function python(args: string[]): { code: number | null; out?: any; stderr: string } {
  const r = spawnSync(VENV_PYTHON, [SCRIPT, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, ...(r.status === 0 ? { out: JSON.parse(r.stdout) } : {}) };
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
const fresh = () => mkdirSync(path.join(tmp.dir, `case-${n++}`), { recursive: true })!;

describe("DSSE interoperability with securesystemslib", { skip: missing() }, () => {
  before(async () => {
    tmp = await tempDir("omaf-signing-interop-");
  });
  after(() => tmp.cleanup());

  it("securesystemslib verifies omaf's envelopes (two signers), and refuses a changed payload", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const a = await keyPair(dir, "a");
    const b = await keyPair(dir, "b");
    await signArtifact(zip, { key: a.privateKeyFile });
    const detached = await signArtifact(zip, { key: b.privateKeyFile, detached: true });

    const r = python(["verify", zip, a.publicKeyFile, a.keyId]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.verified, [a.keyId]);
    assert.equal(`sha256:${r.out.digest}`, artifactDigest, "the content digest, computed by Python from the zip");
    assert.equal(r.out.subject.name, "sum-check");
    const d = python(["verify", zip, b.publicKeyFile, b.keyId, detached.output]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.out.verified, [b.keyId]);

    const wrongKey = python(["verify", zip, b.publicKeyFile, a.keyId]);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /VerificationError/);
    const envelope = JSON.parse(await readFile(detached.output, "utf8"));
    const payload = Buffer.from(envelope.payload, "base64");
    payload[payload.indexOf(Buffer.from("sum-check"))] ^= 0x01;
    const changed = path.join(dir, "changed.jsonl");
    await writeFile(changed, `${JSON.stringify({ ...envelope, payload: payload.toString("base64") })}\n`);
    const tampered = python(["verify", zip, b.publicKeyFile, b.keyId, changed]);
    assert.notEqual(tampered.code, 0);
    assert.match(tampered.stderr, /VerificationError/);
  });

  it("omaf verifies an envelope securesystemslib signed with its own Ed25519 key", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const jsonl = path.join(dir, "python.intoto.jsonl");
    const pub = path.join(dir, "python.pub");
    const signed = python(["sign", zip, jsonl, pub]);
    assert.equal(signed.code, 0, signed.stderr);
    const ours = (await readPublicKey(pub)).keyId;
    assert.notEqual(signed.out.keyid, ours, "securesystemslib names keys its own way; the keyid is only a hint");

    const v = omaf(["verify", "--json", zip, "--pub", pub, "--signature", jsonl]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const result = JSON.parse(v.stdout);
    assert.deepEqual(result.keyIds, [ours]);
    assert.equal(result.artifactDigest, artifactDigest);
    assert.deepEqual(
      result.findings.map((f: { keyid: string; status: string }) => [f.keyid, f.status]),
      [[signed.out.keyid, "verified"]],
    );

    // The same envelope with another key given: not trusted.
    const other = await keyPair(dir, "other");
    const untrusted = omaf(["verify", "--json", zip, "--pub", other.publicKeyFile, "--signature", jsonl]);
    assert.equal(untrusted.code, 1);
    assert.equal(JSON.parse(untrusted.stdout).error.code, "OMAF_ERR_SIGNATURE_UNTRUSTED");
  });
});
