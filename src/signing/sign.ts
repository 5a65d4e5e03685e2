// Signing an artifact: after its files' bytes are checked against its provenance record, an in-toto statement about
// its content digest is signed in a DSSE envelope and stored as a line of `.omaf/signature.intoto.jsonl` (the zip is
// rewritten with that entry last, every other byte kept) or of a detached `<zip>.intoto.jsonl`.
import { randomBytes } from "node:crypto";
import { readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { digestArchiveFiles } from "../archive/entry-digests.js";
import { PROVENANCE_PATH, SIGNATURE_PATH, parseProvenance, type Provenance } from "../archive/provenance.js";
import { openArchive } from "../archive/read.js";
import { putLastEntry } from "../archive/zip-append.js";
import { OmafError, toOmafError } from "../errors.js";
import { envelopeText, parseEnvelopeLines, signEnvelope, signatureVerifies } from "./dsse.js";
import { readPrivateKey, type PrivateSigningKey } from "./keys.js";
import { buildStatement, serializeStatement } from "./statement.js";
import { MAX_SIGNATURE_BYTES, readEmbeddedSignatures } from "./verify.js";

export interface SignOptions {
  /** The private key, or the path of its PKCS#8 PEM file. */
  key: PrivateSigningKey | string;
  /** Write `<zip>.intoto.jsonl` beside the artifact instead of changing it. */
  detached?: boolean;
}

export interface SignResult {
  artifact: string;
  /** The file that now holds the signature: the artifact itself, or the detached `.intoto.jsonl`. */
  output: string;
  /** omaf's key id of the signing key. */
  keyId: string;
  /** The content digest the statement binds (`sha256:<hex>`), unchanged by signing. */
  artifactDigest: string;
  /** The subject's name in the statement. */
  subject: string;
  /** Envelopes the signature file holds now (this one and other keys'). */
  envelopes: number;
  /** Lines of the old signature file that were not envelopes and were left out. */
  dropped: number;
}

/** The detached signature file of an artifact: `<artifact>.intoto.jsonl`. */
export function detachedSignaturePath(artifact: string): string {
  return `${artifact}.intoto.jsonl`;
}

/**
 * Signs a ZIP artifact packed with a provenance record. The files' bytes are hashed and must match the record first
 * (a signature vouches for what is there). An earlier signature by the same key is replaced; other keys' signatures
 * stay, so several keys can sign one artifact. The artifact's content digest never changes.
 */
export async function signArtifact(artifact: string, opts: SignOptions): Promise<SignResult> {
  const key = typeof opts.key === "string" ? await readPrivateKey(opts.key) : opts.key;
  const zip = path.resolve(artifact);
  const info = await stat(zip).catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  if (info.isDirectory()) throw new OmafError("OMAF_ERR_USAGE", `${artifact} is a folder; sign takes an artifact .zip (omaf pack makes one)`);
  const provenance = await provenanceOf(zip, artifact);
  const files = await digestArchiveFiles(zip);
  const actual = new Map(files.map((f) => [f.path, f]));
  const mismatch = provenance.files.find((f) => actual.get(f.path)?.sha256 !== f.sha256 || actual.get(f.path)?.size !== f.size);
  if (mismatch || files.length !== provenance.files.length) {
    throw new OmafError(
      "OMAF_ERR_DIGEST_MISMATCH",
      `${artifact}: the files differ from its provenance record${mismatch ? ` (${mismatch.path})` : ""}; nothing was signed`,
      {
        path: mismatch?.path,
      },
    );
  }

  const subject = provenance.model?.name ?? path.basename(zip).replace(/\.zip$/i, "");
  const envelope = signEnvelope(serializeStatement(buildStatement(provenance, subject)), key);
  const output = opts.detached ? detachedSignaturePath(zip) : zip;
  const old = opts.detached ? await readDetached(output) : await readEmbeddedSignatures(zip);
  const lines = old === undefined ? [] : parseEnvelopeLines(old);
  // Other keys' envelopes stay as they were, byte for byte; this key's earlier ones give way to the new one.
  const kept = lines.filter((l) => l.envelope && !l.envelope.signatures.some((s) => s.keyid === key.keyId || signatureVerifies(l.envelope!, s, key)));
  const text = envelopeText([...kept.map((l) => l.text), envelope]);
  if (opts.detached) await writeAtomically(output, text);
  else await putLastEntry(zip, SIGNATURE_PATH, text);
  return {
    artifact: zip,
    output,
    keyId: key.keyId,
    artifactDigest: provenance.artifactDigest,
    subject,
    envelopes: kept.length + 1,
    dropped: lines.filter((l) => !l.envelope).length,
  };
}

async function provenanceOf(zip: string, shown: string): Promise<Provenance> {
  const reader = await openArchive(zip);
  try {
    if (!reader.entries.some((e) => e.type === "file" && e.name === PROVENANCE_PATH)) {
      throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `${shown} has no provenance record (${PROVENANCE_PATH}); pack it with omaf pack, then sign it`, {
        path: zip,
      });
    }
    return parseProvenance(await reader.readEntry(PROVENANCE_PATH, MAX_SIGNATURE_BYTES));
  } finally {
    await reader.close();
  }
}

async function readDetached(file: string): Promise<Buffer | undefined> {
  return readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw toOmafError(err, "OMAF_ERR_IO");
  });
}

/** Writes `file` through a temporary file beside it, synced and renamed into place. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, data, { flag: "wx", flush: true });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}
