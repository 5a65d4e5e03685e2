// Signing and verifying artifacts through the real CLI and the library: what a signature binds (the content digest),
// what breaks it (a changed byte of a file, of the manifest, of the envelope; another key; no signature) and what
// does not (re-packing, a second signer).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pack } from "../../src/artifact/pack.js";
import { openArtifact } from "../../src/artifact/open.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { putLastEntry } from "../../src/archive/zip-append.js";
import { SIGNATURE_PATH } from "../../src/archive/provenance.js";
import { isOmafError } from "../../src/errors.js";
import { envelopeText, pae, parseEnvelopeLines, signEnvelope } from "../../src/signing/dsse.js";
import { keyIdOf, parsePrivateKey, parsePublicKey, readPublicKey } from "../../src/signing/keys.js";
import { signArtifact } from "../../src/signing/sign.js";
import { readEmbeddedSignatures, verifyArtifact } from "../../src/signing/verify.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { flipByte, keyPair, packedModel } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
/** A fresh folder under the suite's temp folder. */
const fresh = () => mkdirSync(path.join(tmp.dir, `case-${n++}`), { recursive: true })!;

before(async () => {
  tmp = await tempDir("omaf-signing-");
});
after(() => tmp.cleanup());

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

/** `omaf verify --json` → exit code and the parsed output. */
function verifyCli(args: string[]): { code: number | null; out: any } {
  const r = omaf(["verify", "--json", ...args]);
  return { code: r.code, out: JSON.parse(r.stdout) };
}

describe("keys", () => {
  it("keygen writes <name>.key (0600, PKCS#8) and <name>.pub (SPKI), refuses to overwrite without --force", async () => {
    const dir = fresh();
    const r = omaf(["keygen", "-o", path.join(dir, "ci"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal((await stat(out.privateKeyFile)).mode & 0o777, 0o600);
    assert.match(await readFile(out.privateKeyFile, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(await readFile(out.publicKeyFile, "utf8"), /^-----BEGIN PUBLIC KEY-----\n/);
    // The key id is the SHA-256 of the SPKI DER, as openssl derives it independently.
    const der = execFileSync("openssl", ["pkey", "-pubin", "-in", out.publicKeyFile, "-outform", "DER"]);
    assert.equal(out.keyId, createHash("sha256").update(der).digest("hex"));
    assert.equal((await readPublicKey(out.publicKeyFile)).keyId, out.keyId);

    const before = await readFile(out.privateKeyFile);
    const again = omaf(["keygen", "-o", path.join(dir, "ci")]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /OMAF_ERR_TARGET_EXISTS/);
    assert.deepEqual(await readFile(out.privateKeyFile), before, "the old key is untouched");
    const forced = omaf(["keygen", "-o", path.join(dir, "ci"), "--force", "--json"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(JSON.parse(forced.stdout).keyId, out.keyId);
    assert.equal((await stat(out.privateKeyFile)).mode & 0o777, 0o600);
  });

  it("refuses keys that are not Ed25519 PEM, and a private key given as the public one: OMAF_ERR_KEY_INVALID", async () => {
    const dir = fresh();
    const k = await keyPair(dir, "k");
    const privatePem = await readFile(k.privateKeyFile, "utf8");
    assert.throws(
      () => parsePublicKey(privatePem, "k.key"),
      (e) => isOmafError(e, "OMAF_ERR_KEY_INVALID") && /is a private key/.test(e.message),
    );
    assert.throws(
      () => parsePrivateKey("hello", "x"),
      (e) => isOmafError(e, "OMAF_ERR_KEY_INVALID"),
    );
    const rsa = execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]).toString();
    assert.throws(
      () => parsePrivateKey(rsa, "rsa.key"),
      (e) => isOmafError(e, "OMAF_ERR_KEY_INVALID") && /rsa key/.test(e.message),
    );
    assert.equal(parsePrivateKey(privatePem).keyId, k.keyId);
    assert.equal(keyIdOf(parsePrivateKey(privatePem).key), k.keyId);
  });

  it("PAE is the DSSE v1 encoding (the specification's example)", () => {
    assert.equal(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString(), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });
});

describe("sign and verify", () => {
  it("signing adds .omaf/signature.intoto.jsonl last, keeps every other byte and the content digest; verify exits 0", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const original = await readFile(zip);
    const s = omaf(["sign", zip, "--key", k.privateKeyFile, "--json"]);
    assert.equal(s.code, 0, s.stderr);
    const signed = JSON.parse(s.stdout);
    assert.equal(signed.keyId, k.keyId);
    assert.equal(signed.artifactDigest, artifactDigest);
    assert.equal(signed.subject, "sum-check");

    const now = await readFile(zip);
    // Everything up to the central directory (every entry's header and data) is unchanged.
    const directoryAt = original.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); // the first central-directory record
    assert.ok(directoryAt > 0);
    assert.ok(now.subarray(directoryAt).includes(original.subarray(directoryAt, original.length - 22)), "and so are the central records");
    assert.ok(now.subarray(0, directoryAt).equals(original.subarray(0, directoryAt)));
    execFileSync("unzip", ["-tq", zip]);
    const listing = execFileSync("unzip", ["-Z1", zip]).toString().trim().split("\n");
    assert.equal(listing.at(-1), SIGNATURE_PATH);

    const opened = await openArtifact(zip);
    assert.ok(opened.valid, JSON.stringify(opened.issues));
    assert.equal(opened.provenance?.artifactDigest, artifactDigest);
    assert.ok(!opened.files.some((f) => f.path.startsWith(".omaf/")), "the signature is not a file of the artifact");

    const v = verifyCli([zip, "--pub", k.publicKeyFile]);
    assert.equal(v.code, 0, JSON.stringify(v.out));
    assert.equal(v.out.verified, true);
    assert.deepEqual(v.out.keyIds, [k.keyId]);
    assert.equal(v.out.artifactDigest, artifactDigest);

    // The envelope: DSSE around an in-toto Statement v1 whose subject is the content digest.
    const [line] = parseEnvelopeLines((await readEmbeddedSignatures(zip))!);
    assert.equal(line.envelope!.payloadType, "application/vnd.in-toto+json");
    const statement = JSON.parse(Buffer.from(line.envelope!.payload, "base64").toString());
    assert.equal(statement._type, "https://in-toto.io/Statement/v1");
    assert.deepEqual(statement.subject, [{ name: "sum-check", digest: { sha256: artifactDigest.slice("sha256:".length) } }]);
    assert.equal(statement.predicateType, "https://omaf.dev/provenance/v1");
    assert.deepEqual(
      statement.predicate.files.map((f: { path: string }) => f.path),
      ["odahuflow.model.yaml", "src/model.mjs"],
    );
    assert.equal(statement.predicate.packer.tool, "omaf");
    assert.deepEqual(statement.predicate.toolchain, { name: "omaf-test", version: "0.1.0" });

    // Unpacking leaves the signature with the archive: it is neither content nor extracted.
    const out = path.join(dir, "out");
    const unpacked = await unpackArchive(zip, out);
    assert.equal(unpacked.artifactDigest, artifactDigest);
    await assert.rejects(stat(path.join(out, SIGNATURE_PATH)), { code: "ENOENT" });
  });

  it("a missing signature is OMAF_ERR_SIGNATURE_MISSING, another key's is OMAF_ERR_SIGNATURE_UNTRUSTED (exit 1)", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const other = await keyPair(dir, "other");
    const missing = verifyCli([zip, "--pub", k.publicKeyFile]);
    assert.equal(missing.code, 1);
    assert.equal(missing.out.error.code, "OMAF_ERR_SIGNATURE_MISSING");

    await signArtifact(zip, { key: k.privateKeyFile });
    const wrong = verifyCli([zip, "--pub", other.publicKeyFile]);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.out.error.code, "OMAF_ERR_SIGNATURE_UNTRUSTED");
    assert.deepEqual(
      wrong.out.error.details.signatures.map((f: { status: string; keyid: string }) => [f.status, f.keyid]),
      [["untrusted", k.keyId]],
    );
    const none = omaf(["verify", zip]);
    assert.equal(none.code, 2, "--pub is required");
  });

  it("a changed byte of a file or of the manifest in the zip: OMAF_ERR_DIGEST_MISMATCH; sign refuses such a zip", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const model = path.join(dir, "model-file.zip");
    const manifest = path.join(dir, "manifest.zip");
    await copyFile(zip, model);
    await copyFile(zip, manifest);
    await flipByte(model, "negative values are not allowed"); // inside src/model.mjs (stored)
    await flipByte(manifest, "toolchain:", 2); // inside odahuflow.model.yaml (stored)
    for (const file of [model, manifest]) {
      const v = verifyCli([file, "--pub", k.publicKeyFile]);
      assert.equal(v.code, 1);
      assert.equal(v.out.error.code, "OMAF_ERR_DIGEST_MISMATCH", JSON.stringify(v.out));
      await assert.rejects(signArtifact(file, { key: k.privateKeyFile }), (e) => isOmafError(e, "OMAF_ERR_DIGEST_MISMATCH"));
    }
  });

  it("changed content re-packed under the old signature (a file, the manifest): OMAF_ERR_SIGNATURE_INVALID", async () => {
    const dir = fresh();
    const { folder, zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const signature = (await readEmbeddedSignatures(zip))!;
    const cases: Array<[string, string, (text: string) => string]> = [
      ["src/model.mjs", "file.zip", (t) => t.replace("a + b", "a - b")],
      ["odahuflow.model.yaml", "manifest.zip", (t) => t.replace("sum-check", "sum-checj")],
    ];
    for (const [file, name, change] of cases) {
      const copy = path.join(dir, `${name}.d`);
      execFileSync("cp", ["-r", folder, copy]);
      await writeFile(path.join(copy, file), change(await readFile(path.join(copy, file), "utf8")));
      const tampered = path.join(dir, name);
      await pack(copy, { output: tampered });
      await putLastEntry(tampered, SIGNATURE_PATH, signature);
      const v = verifyCli([tampered, "--pub", k.publicKeyFile]);
      assert.equal(v.code, 1, file);
      assert.equal(v.out.error.code, "OMAF_ERR_SIGNATURE_INVALID", JSON.stringify(v.out));
      assert.match(v.out.error.message, /not this artifact's content/);
    }
  });

  it("a changed byte of the envelope (payload, signature, JSON): OMAF_ERR_SIGNATURE_INVALID", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const text = (await readEmbeddedSignatures(zip))!.toString();
    const envelope = JSON.parse(text);
    const payload = Buffer.from(envelope.payload, "base64");
    payload[payload.indexOf(Buffer.from("sum-check"))] ^= 0x01; // the subject's name: the digest still matches
    const sig = Buffer.from(envelope.signatures[0].sig, "base64");
    sig[10] ^= 0x01;
    const variants = {
      payload: JSON.stringify({ ...envelope, payload: payload.toString("base64") }),
      signature: JSON.stringify({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: sig.toString("base64") }] }),
      payloadType: JSON.stringify({ ...envelope, payloadType: "application/vnd.in-toto+jsoN" }),
      json: text.trim().replace(/}$/, ""),
      shape: JSON.stringify({ ...envelope, signatures: [] }),
    };
    for (const [what, line] of Object.entries(variants)) {
      const copy = path.join(dir, `${what}.zip`);
      await copyFile(zip, copy);
      await putLastEntry(copy, SIGNATURE_PATH, Buffer.from(`${line}\n`));
      const v = verifyCli([copy, "--pub", k.publicKeyFile]);
      assert.equal(v.code, 1, what);
      assert.equal(v.out.error.code, "OMAF_ERR_SIGNATURE_INVALID", `${what}: ${JSON.stringify(v.out)}`);
    }
  });

  it("two keys sign one artifact: either key verifies, both are reported, re-signing replaces a key's own signature", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const a = await keyPair(dir, "a");
    const b = await keyPair(dir, "b");
    await signArtifact(zip, { key: a.privateKeyFile });
    const second = await signArtifact(zip, { key: b.privateKeyFile });
    assert.equal(second.envelopes, 2);
    assert.equal(second.artifactDigest, artifactDigest);
    assert.deepEqual((await verifyArtifact(zip, { keys: [a.publicKeyFile] })).keyIds, [a.keyId]);
    assert.deepEqual((await verifyArtifact(zip, { keys: [b.publicKeyFile] })).keyIds, [b.keyId]);
    assert.deepEqual((await verifyArtifact(zip, { keys: [b.publicKeyFile, a.publicKeyFile] })).keyIds, [b.keyId, a.keyId]);
    const again = await signArtifact(zip, { key: a.privateKeyFile });
    assert.equal(again.envelopes, 2, "a's first signature gave way to its new one");
    const lines = parseEnvelopeLines((await readEmbeddedSignatures(zip))!);
    assert.deepEqual(
      lines.map((l) => l.envelope!.signatures[0].keyid),
      [b.keyId, a.keyId],
    );
    execFileSync("unzip", ["-tq", zip]);
    const cli = verifyCli([zip, "--pub", a.publicKeyFile, "--pub", b.publicKeyFile]);
    assert.equal(cli.code, 0);
    assert.deepEqual(cli.out.keyIds, [a.keyId, b.keyId]);
  });

  it("--detached leaves the zip as it was; re-packing the same folder keeps a signature valid", async () => {
    const dir = fresh();
    const { folder, zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const before = await sha256(zip);
    const s = omaf(["sign", zip, "--key", k.privateKeyFile, "--detached", "--json"]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).output, `${zip}.intoto.jsonl`);
    assert.equal(await sha256(zip), before);
    assert.equal(verifyCli([zip, "--pub", k.publicKeyFile]).out.error.code, "OMAF_ERR_SIGNATURE_MISSING", "nothing inside");
    assert.equal(verifyCli([zip, "--pub", k.publicKeyFile, "--signature", `${zip}.intoto.jsonl`]).code, 0);

    // Another zip of the same content: other compression, so other bytes; the same content digest.
    const repacked = path.join(dir, "repacked.zip");
    const r = await pack(folder, { output: repacked, level: 9 });
    assert.equal(r.artifactDigest, artifactDigest);
    assert.notEqual(await sha256(repacked), before);
    const v = verifyCli([repacked, "--pub", k.publicKeyFile, "--signature", `${zip}.intoto.jsonl`]);
    assert.equal(v.code, 0, JSON.stringify(v.out));
    // An embedded signature carries over the same way.
    await putLastEntry(repacked, SIGNATURE_PATH, await readFile(`${zip}.intoto.jsonl`));
    assert.equal(verifyCli([repacked, "--pub", k.publicKeyFile]).code, 0);
  });

  it("signs a zip written by Info-ZIP from an unpacked artifact, copying its entries unchanged", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const out = path.join(dir, "unpacked");
    await unpackArchive(zip, out);
    const info = path.join(dir, "info.zip");
    execFileSync("zip", ["-qrX", info, "."], { cwd: out });
    const original = await readFile(info);
    await signArtifact(info, { key: k.privateKeyFile });
    execFileSync("unzip", ["-tq", info]);
    const now = await readFile(info);
    const directoryAt = original.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    assert.ok(now.subarray(0, directoryAt).equals(original.subarray(0, directoryAt)));
    assert.equal((await verifyArtifact(info, { keys: [k.publicKeyFile] })).keyIds[0], k.keyId);
  });

  it("only the two documented names are metadata: any other .omaf/ entry is content the provenance must list", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile });
    const text = (await readEmbeddedSignatures(zip))!;
    await putLastEntry(zip, ".omaf/signature.intoto.jsonl.py", Buffer.from("print('hi')\n"));
    const opened = await openArtifact(zip);
    assert.ok(opened.issues.some((i) => i.code === "OMAF_ERR_PROVENANCE_INVALID" && i.path === ".omaf/signature.intoto.jsonl.py"));
    await assert.rejects(unpackArchive(zip, path.join(dir, "out")), (e) => isOmafError(e, "OMAF_ERR_PROVENANCE_INVALID"));
    const v = verifyCli([zip, "--pub", k.publicKeyFile]);
    assert.equal(v.out.error.code, "OMAF_ERR_PROVENANCE_INVALID");
    // And the signature entry, no longer last, cannot be replaced in place.
    await assert.rejects(putLastEntry(zip, SIGNATURE_PATH, envelopeText([text.toString().trim()])), (e) => isOmafError(e, "OMAF_ERR_ARCHIVE_FORMAT"));
  });

  it("an unpacked folder verifies with the signature file put back in its .omaf/, and not after a file changed", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    await signArtifact(zip, { key: k.privateKeyFile, detached: true });
    const out = path.join(dir, "out");
    await unpackArchive(zip, out);
    await copyFile(`${zip}.intoto.jsonl`, path.join(out, SIGNATURE_PATH));
    const v = await verifyArtifact(out, { keys: [k.publicKeyFile] });
    assert.equal(v.artifactDigest, artifactDigest);
    assert.deepEqual(v.keyIds, [k.keyId]);
    await writeFile(path.join(out, "src", "model.mjs"), "export const changed = true;\n");
    await assert.rejects(verifyArtifact(out, { keys: [k.publicKeyFile] }), (e) => isOmafError(e, "OMAF_ERR_DIGEST_MISMATCH"));
  });

  it("a signed statement whose predicate's files do not add up to its subject is invalid", async () => {
    const dir = fresh();
    const { zip, artifactDigest } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const key = parsePrivateKey(await readFile(k.privateKeyFile), k.privateKeyFile);
    const statement = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "sum-check", digest: { sha256: artifactDigest.slice(7) } }],
      predicateType: "https://omaf.dev/provenance/v1",
      predicate: { packer: { tool: "omaf", version: "0.1.0" }, files: [{ path: "other.bin", size: 1, sha256: "0".repeat(64) }] },
    };
    await putLastEntry(zip, SIGNATURE_PATH, envelopeText([signEnvelope(Buffer.from(JSON.stringify(statement)), key)]));
    await assert.rejects(
      verifyArtifact(zip, { keys: [k.publicKeyFile] }),
      (e) => isOmafError(e, "OMAF_ERR_SIGNATURE_INVALID") && /predicate's files add up to/.test(e.message),
    );
  });

  it("inspect shows the signature: present and unverified without keys, verified or why not with --pub", async () => {
    const dir = fresh();
    const { zip } = await packedModel(dir);
    const k = await keyPair(dir, "k");
    const other = await keyPair(dir, "other");
    assert.equal(JSON.parse(omaf(["inspect", "--json", zip]).stdout).signatures.status, "none");
    await signArtifact(zip, { key: k.privateKeyFile });
    const plain = omaf(["inspect", zip]);
    assert.match(plain.stdout, new RegExp(`^signature present, not verified \\(give --pub to verify\\): key id ${k.keyId}$`, "m"));
    const verified = JSON.parse(omaf(["inspect", "--json", zip, "--pub", k.publicKeyFile]).stdout).signatures;
    assert.deepEqual(verified, { status: "verified", file: SIGNATURE_PATH, keyIds: [k.keyId], verifiedKeyIds: [k.keyId] });
    const untrusted = omaf(["inspect", zip, "--pub", other.publicKeyFile]);
    assert.equal(untrusted.code, 0);
    assert.match(untrusted.stdout, /^signature NOT verified: OMAF_ERR_SIGNATURE_UNTRUSTED/m);
  });
});
