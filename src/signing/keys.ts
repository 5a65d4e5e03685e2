// Ed25519 signing keys in PEM (SPKI public keys, PKCS#8 private keys), as node:crypto, openssl, cryptography and
// securesystemslib read and write them, and omaf's key id: the SHA-256 (hex) of the public key's SPKI DER bytes.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { chmod, link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { OmafError, toOmafError } from "../errors.js";

/** A public key that verifies signatures. */
export interface PublicSigningKey {
  key: KeyObject;
  /** {@link keyIdOf} the key. */
  keyId: string;
  /** Where it was read from, for messages. */
  source?: string;
}

/** A private key that signs, with its public half. */
export interface PrivateSigningKey extends PublicSigningKey {
  privateKey: KeyObject;
}

/** A fresh key pair as PEM text. */
export interface GeneratedKeyPair {
  keyId: string;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  privateKeyPem: string;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  publicKeyPem: string;
}

/**
 * omaf's key id: the lower-case hex SHA-256 of the public key's SubjectPublicKeyInfo DER encoding — the same as
 * `openssl pkey -pubin -in key.pub -outform DER | sha256sum`. It depends only on the key, not on the PEM's layout.
 */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** Generates an Ed25519 key pair. */
export function generateSigningKey(): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

function keyError(source: string, message: string): OmafError {
  return new OmafError("OMAF_ERR_KEY_INVALID", `${source}: ${message}`, { path: source });
}

/** Reads an Ed25519 public key from SPKI PEM text; a private key is refused (it does not belong where keys are shared). */
export function parsePublicKey(pem: string | Buffer, source = "public key"): PublicSigningKey {
  const text = pem.toString();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw keyError(source, "is a private key; give the public key (.pub) here");
  if (!text.includes("-----BEGIN PUBLIC KEY-----")) throw keyError(source, "is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch (err) {
    throw keyError(source, `cannot be read as a public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw keyError(source, `is a ${key.asymmetricKeyType} key; omaf signs and verifies with Ed25519`);
  return { key, keyId: keyIdOf(key), source };
}

/** Reads an Ed25519 private key from PKCS#8 PEM text (unencrypted). */
export function parsePrivateKey(pem: string | Buffer, source = "private key"): PrivateSigningKey {
  const text = pem.toString();
  if (!text.includes("-----BEGIN PRIVATE KEY-----")) throw keyError(source, "is not an unencrypted PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: "pem" });
  } catch (err) {
    throw keyError(source, `cannot be read as a private key (${(err as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw keyError(source, `is a ${privateKey.asymmetricKeyType} key; omaf signs with Ed25519`);
  const key = createPublicKey(privateKey);
  return { privateKey, key, keyId: keyIdOf(key), source };
}

async function readKeyFile(file: string): Promise<Buffer> {
  return readFile(file).catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
}

/** Reads a public key file (SPKI PEM). */
export async function readPublicKey(file: string): Promise<PublicSigningKey> {
  return parsePublicKey(await readKeyFile(file), file);
}

/** Reads a private key file (PKCS#8 PEM). */
export async function readPrivateKey(file: string): Promise<PrivateSigningKey> {
  return parsePrivateKey(await readKeyFile(file), file);
}

/** What {@link writeSigningKey} wrote. */
export interface WrittenKeyPair {
  keyId: string;
  /** `<base>.key`, mode 0600. */
  privateKeyFile: string;
  /** `<base>.pub`. */
  publicKeyFile: string;
}

/**
 * Generates a key pair and writes `<base>.key` (PKCS#8 PEM, mode 0600) and `<base>.pub` (SPKI PEM). Existing files
 * are refused with OMAF_ERR_TARGET_EXISTS unless `force`. Each file is written to a temporary file and moved into
 * place, so neither is ever seen half-written.
 */
export async function writeSigningKey(base: string, opts: { force?: boolean } = {}): Promise<WrittenKeyPair> {
  const pair = generateSigningKey();
  const privateKeyFile = path.resolve(`${base}.key`);
  const publicKeyFile = path.resolve(`${base}.pub`);
  await place(privateKeyFile, pair.privateKeyPem, 0o600, opts.force ?? false);
  try {
    await place(publicKeyFile, pair.publicKeyPem, 0o644, opts.force ?? false);
  } catch (err) {
    // Without its public half a new private key is of no use, and it would block the next try.
    await unlink(privateKeyFile).catch(() => {});
    throw err;
  }
  return { keyId: pair.keyId, privateKeyFile, publicKeyFile };
}

/** Writes `text` to `file` with `mode` through a temporary file; without `force` an existing file is never replaced. */
async function place(file: string, text: string, mode: number, force: boolean): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, text, { flag: "wx", mode });
    await chmod(tmp, mode); // the umask may have taken bits away from a public key's mode; never adds any to 0600
    if (force) await rename(tmp, file);
    else {
      // link() fails with EEXIST instead of replacing.
      await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${file} already exists (use --force to replace it)`, { path: file });
        throw err;
      });
    }
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
