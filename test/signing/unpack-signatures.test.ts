// Unpacking with the signatures kept (`omaf unpack --keep-signatures`, `--signature <file>`): the folder then holds
// .omaf/signature.intoto.jsonl where omaf verify and omaf serve read a folder's signatures, while the files, their
// checks and the content digest are exactly those of an unpack without it. A changed signature file in the folder is
// refused by serve --require-signature, as a real process on 127.0.0.1.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SIGNATURE_PATH } from "../../src/archive/provenance.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { isOmafError } from "../../src/errors.js";
import { signArtifact } from "../../src/signing/sign.js";
import { readEmbeddedSignatures, verifyArtifact } from "../../src/signing/verify.js";
import { craftZip } from "../archive/craft.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, FREE_PORT_ARGS, startServe } from "../helpers/serve.js";
import { keyPair, packedModel } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
const fresh = () => mkdirSync(path.join(tmp.dir, `case-${n++}`), { recursive: true })!;

before(async () => {
  tmp = await tempDir("omaf-unpack-signatures-");
});
after(() => tmp.cleanup());

/** Every file under `dir` with its bytes, by posix path. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const abs = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, abs).split(path.sep).join("/")] = (await readFile(abs)).toString("base64");
  }
  return out;
}

/** A DSSE line with the first byte of its first signature changed (still an envelope, no longer a valid signature). */
function withChangedSignature(text: string): string {
  const [line, ...rest] = text.split("\n");
  const envelope = JSON.parse(line);
  const sig = Buffer.from(envelope.signatures[0].sig, "base64");
  sig[0] ^= 0x01;
  envelope.signatures[0].sig = sig.toString("base64");
  return [JSON.stringify(envelope), ...rest].join("\n");
}

describe("unpack and the signatures", () => {
  it("by default the signatures stay with the archive; kept, they land at their path and nothing else changes", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });

    const plain = await unpackArchive(zip, path.join(dir, "plain"));
    const kept = await unpackArchive(zip, path.join(dir, "kept"), { keepSignatures: true });
    assert.equal(plain.signatureFile, undefined);
    await assert.rejects(stat(path.join(dir, "plain", SIGNATURE_PATH)), { code: "ENOENT" });
    assert.equal(kept.signatureFile, path.join(dir, "kept", SIGNATURE_PATH));
    assert.deepEqual(await readFile(kept.signatureFile), await readEmbeddedSignatures(zip), "the entry's bytes, as they are");

    // The same files, checks and digest: the signatures are no content.
    assert.deepEqual(kept.files, plain.files);
    assert.equal(kept.artifactDigest, artifactDigest);
    assert.equal(plain.artifactDigest, artifactDigest);
    const [plainTree, keptTree] = [await tree(path.join(dir, "plain")), await tree(path.join(dir, "kept"))];
    assert.deepEqual(Object.keys(keptTree).sort(), [...Object.keys(plainTree), SIGNATURE_PATH].sort());
    for (const [file, bytes] of Object.entries(plainTree)) assert.equal(keptTree[file], bytes, file);
    assert.equal((await stat(kept.signatureFile)).mode & 0o777, 0o644);

    // The folder now verifies by itself, and the CLI says where the signatures went.
    assert.deepEqual((await verifyArtifact(path.join(dir, "kept"), { keys: [k.publicKeyFile] })).keyIds, [k.keyId]);
    await assert.rejects(verifyArtifact(path.join(dir, "plain"), { keys: [k.publicKeyFile] }), (e) => isOmafError(e, "OMAF_ERR_SIGNATURE_MISSING"));
    const cli = omaf(["unpack", zip, "-d", path.join(dir, "cli"), "--keep-signatures", "--expect-digest", artifactDigest, "--json"]);
    assert.equal(cli.code, 0, cli.stderr);
    const out = JSON.parse(cli.stdout);
    assert.equal(out.signatureFile, path.join(dir, "cli", SIGNATURE_PATH));
    assert.deepEqual(out.files, plain.files);
    const human = omaf(["unpack", zip, "-d", path.join(dir, "cli-text"), "--keep-signatures", "--no-progress"]);
    assert.match(human.stdout, /signatures kept in .*\.omaf\/signature\.intoto\.jsonl/);
    assert.equal(JSON.parse(omaf(["unpack", zip, "-d", path.join(dir, "cli-plain"), "--json"]).stdout).signatureFile, null);
  });

  it("an unsigned artifact unpacked with keepSignatures: no signature file", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const r = await unpackArchive(zip, path.join(dir, "out"), { keepSignatures: true });
    assert.equal(r.signatureFile, undefined);
    await assert.rejects(stat(path.join(dir, "out", SIGNATURE_PATH)), { code: "ENOENT" });
  });

  it("a detached signature file is written in place of the archive's own; a missing one leaves nothing", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const embedded = await keyPair(dir, "embedded");
    const detached = await keyPair(dir, "detached");
    await signArtifact(zip, { key: embedded.privateKeyFile });
    await signArtifact(zip, { key: detached.privateKeyFile, detached: true });

    const cli = omaf(["unpack", zip, "-d", path.join(dir, "out"), "--signature", `${zip}.intoto.jsonl`, "--json"]);
    assert.equal(cli.code, 0, cli.stderr);
    const written = path.join(dir, "out", SIGNATURE_PATH);
    assert.equal(JSON.parse(cli.stdout).signatureFile, written);
    assert.deepEqual(await readFile(written), await readFile(`${zip}.intoto.jsonl`));
    assert.deepEqual((await verifyArtifact(path.join(dir, "out"), { keys: [detached.publicKeyFile, embedded.publicKeyFile] })).keyIds, [detached.keyId]);

    const missing = omaf(["unpack", zip, "-d", path.join(dir, "missing"), "--signature", path.join(dir, "nope.intoto.jsonl")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /OMAF_ERR_NOT_FOUND/);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes("missing")),
      [],
      "no folder, no temporary folder",
    );
  });

  it("a kept signature entry is checked against its CRC-32 (no record covers it); left behind, it is not read", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const files = await tree(await unpackArchive(zip, path.join(dir, "files"), { keepSignatures: true }).then((r) => r.dest));
    const bad = path.join(dir, "bad-crc.zip");
    await writeFile(
      bad,
      craftZip(Object.entries(files).map(([name, b64]) => ({ name, data: Buffer.from(b64, "base64"), ...(name === SIGNATURE_PATH ? { crc: 0x1234 } : {}) }))),
    );
    await assert.rejects(
      unpackArchive(bad, path.join(dir, "refused"), { keepSignatures: true }),
      (e) => isOmafError(e, "OMAF_ERR_ARCHIVE_FORMAT") && /signature\.intoto\.jsonl.*CRC-32/.test(e.message),
    );
    await assert.rejects(stat(path.join(dir, "refused")), { code: "ENOENT" });
    assert.equal((await unpackArchive(bad, path.join(dir, "plain"))).signatureFile, undefined);
  });

  it("serve --require-signature serves the unpacked folder with its kept signature, and refuses it once the signature file changed", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const folder = path.join(dir, "folder");
    await unpackArchive(zip, folder, { keepSignatures: true });

    const env = { OMAF_REQUIRE_SIGNATURE: "1", OMAF_TRUSTED_KEYS: k.publicKeyFile, OMAF_INTERFACES: "oip-rest", OMAF_CACHE_DIR: path.join(dir, "cache") };
    const server = await startServe(folder, { env });
    try {
      const res = await fetch(`${server.url("OIP v2 REST")}/v2/models/sum-check/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP64", data: [1, 2] }] }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { parameters: Record<string, string> };
      assert.deepEqual(body.parameters, { model_name: "sum-check", model_version: "1.0.0-1", artifact_digest: artifactDigest, signed_by: k.keyId });
    } finally {
      await server.kill();
    }

    const file = path.join(folder, SIGNATURE_PATH);
    await writeFile(file, withChangedSignature(await readFile(file, "utf8")));
    const refused = omaf(["serve", folder, "--host", "127.0.0.1", ...FREE_PORT_ARGS], { env: cleanEnv(env) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error OMAF_ERR_SIGNATURE_INVALID: .*does not verify/m);
    assert.doesNotMatch(refused.stderr, /omaf: serving/);
  });
});
