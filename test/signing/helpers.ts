// Signed-artifact fixtures: a small node model packed by omaf, key pairs written by omaf keygen's library function.
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pack } from "../../src/artifact/pack.js";
import { keyIdOf, writeSigningKey, type WrittenKeyPair } from "../../src/signing/keys.js";
import { writeSumModel } from "../helpers/serve.js";

/** The sum model (`sum-check`) in `root/model`, packed to `root/<name>` with every file stored (level 0), so tests can find and flip bytes. */
export async function packedModel(root: string, name = "model.zip"): Promise<{ folder: string; zip: string; artifactDigest: string }> {
  const folder = await writeSumModel(path.join(root, "model"));
  const zip = path.join(root, name);
  const r = await pack(folder, { output: zip, level: 0 });
  return { folder, zip, artifactDigest: r.artifactDigest };
}

/** A key pair `root/<name>.key` / `.pub`. */
export function keyPair(root: string, name: string): Promise<WrittenKeyPair> {
  return writeSigningKey(path.join(root, name));
}

/**
 * The same key pair `root/<name>.key` / `.pub` every time for one `seed` (an Ed25519 private key is its 32-byte seed;
 * PKCS#8 wraps it in a fixed prefix), so that what it signs and the files naming it can be compared with snapshots.
 */
export async function seededKeyPair(root: string, name: string, seed: string): Promise<WrittenKeyPair> {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), createHash("sha256").update(seed).digest()]);
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const privateKeyFile = path.join(root, `${name}.key`);
  const publicKeyFile = path.join(root, `${name}.pub`);
  await writeFile(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  return { keyId: keyIdOf(publicKey), privateKeyFile, publicKeyFile };
}

/** Flips one bit of the byte at `offset` of the first occurrence of `marker` in `file`, in place. */
export async function flipByte(file: string, marker: string, offset = 0): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(Buffer.from(marker));
  if (at < 0) throw new Error(`${marker} not found in ${file}`);
  bytes[at + offset] ^= 0x01;
  await writeFile(file, bytes);
}
