// Verification: a given public key → a DSSE envelope → the in-toto statement it signs → the statement's subject
// digest, which must be the artifact's content digest → every file's bytes (spec/signing.md).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { digestArchiveFiles } from "../archive/entry-digests.js";
import { listFolder } from "../archive/folder.js";
import { hashFile } from "../archive/hash.js";
import {
  MAX_SIGNATURE_BYTES,
  readSignatureFile,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  contentDigest,
  parseProvenance,
  type FileDigest,
  type Provenance,
} from "../archive/provenance.js";
import { openArchive } from "../archive/read.js";
import { checkFolderProvenance } from "../artifact/materialize.js";
import { OmafError, toOmafError } from "../errors.js";
import { INTOTO_PAYLOAD_TYPE, parseEnvelopeLines, payloadOf, signatureVerifies } from "./dsse.js";
import { readPublicKey, type PublicSigningKey } from "./keys.js";
import { hexOf, parseStatement } from "./statement.js";

export { MAX_SIGNATURE_BYTES };

/** What became of one signature (or of a line that holds none). */
export interface SignatureFinding {
  /** Line of the `.intoto.jsonl` text. */
  line: number;
  /** The key id the signature names (an unsigned hint). */
  keyid?: string;
  /**
   * `verified`: a given key verifies it and the statement is about this artifact. `invalid`: the line is not an
   * envelope, the signature by a given key does not verify, or the statement is about other content. `untrusted`:
   * none of the given keys made it. `unchecked`: no keys were given.
   */
  status: "verified" | "invalid" | "untrusted" | "unchecked";
  /** omaf's key id of the given key that verified it. */
  verifiedBy?: string;
  message?: string;
}

/** Every signature of a `.intoto.jsonl` text judged against the given keys and the artifact's content digest. */
export interface SignatureReport {
  /** Envelopes found (well-formed or not). */
  envelopes: number;
  findings: SignatureFinding[];
  /** omaf's key ids of the given keys that verified a signature, in the order the keys were given. */
  verifiedKeyIds: string[];
}

/**
 * Judges every signature in `text` (JSON lines of DSSE envelopes; undefined = none) with `keys`. Each signature is
 * tried with every key, as DSSE's `keyid` is only a hint; one that verifies must sign an omaf statement whose subject
 * digest is `artifactDigest`. A signature that names a given key's id and does not verify is `invalid` (the payload
 * or the signature changed), as is any line that is not an envelope.
 */
export function checkSignatures(text: Buffer | string | undefined, keys: readonly PublicSigningKey[], artifactDigest: string): SignatureReport {
  const lines = text === undefined ? [] : parseEnvelopeLines(text);
  const findings: SignatureFinding[] = [];
  const verified = new Set<string>();
  for (const l of lines) {
    if (!l.envelope) {
      findings.push({ line: l.line, status: "invalid", message: l.error });
      continue;
    }
    const envelope = l.envelope;
    for (const signature of envelope.signatures) {
      const hint = signature.keyid ? { keyid: signature.keyid } : {};
      if (keys.length === 0) {
        findings.push({ line: l.line, ...hint, status: "unchecked" });
        continue;
      }
      const by = keys.find((k) => signatureVerifies(envelope, signature, k));
      if (!by) {
        const named = keys.find((k) => k.keyId === signature.keyid);
        findings.push(
          named
            ? { line: l.line, ...hint, status: "invalid", message: `the signature by ${named.keyId} does not verify: the payload or the signature was changed` }
            : { line: l.line, ...hint, status: "untrusted", message: "made by none of the given keys" },
        );
        continue;
      }
      const problem = statementProblem(envelope.payloadType, payloadOf(envelope), artifactDigest);
      if (problem) findings.push({ line: l.line, ...hint, status: "invalid", verifiedBy: by.keyId, message: problem });
      else {
        findings.push({ line: l.line, ...hint, status: "verified", verifiedBy: by.keyId });
        verified.add(by.keyId);
      }
    }
  }
  return { envelopes: lines.length, findings, verifiedKeyIds: keys.map((k) => k.keyId).filter((id) => verified.has(id)) };
}

/** Why a verified payload does not vouch for this artifact, or undefined when it does. */
function statementProblem(payloadType: string, payload: Buffer, artifactDigest: string): string | undefined {
  if (payloadType !== INTOTO_PAYLOAD_TYPE) return `the payload type is ${JSON.stringify(payloadType)}, not ${INTOTO_PAYLOAD_TYPE}`;
  try {
    const statement = parseStatement(payload);
    const want = hexOf(artifactDigest);
    if (!statement.subject.some((s) => s.digest.sha256 === want)) {
      return `the signed statement is about sha256:${statement.subject[0].digest.sha256}, not this artifact's content (${artifactDigest})`;
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The refusal a report calls for, or undefined: OMAF_ERR_SIGNATURE_MISSING when there is no envelope and one is
 * `required`; OMAF_ERR_SIGNATURE_INVALID when any line or signature is `invalid`; OMAF_ERR_SIGNATURE_UNTRUSTED when
 * keys were given and none verified a signature.
 */
export function signatureError(report: SignatureReport, opts: { required: boolean; keys: number; where: string }): OmafError | undefined {
  const details = { signatures: report.findings };
  if (report.envelopes === 0) {
    return opts.required ? new OmafError("OMAF_ERR_SIGNATURE_MISSING", `${opts.where} holds no signature`, details) : undefined;
  }
  const bad = report.findings.find((f) => f.status === "invalid");
  if (bad) return new OmafError("OMAF_ERR_SIGNATURE_INVALID", `${opts.where}, line ${bad.line}: ${bad.message}`, details);
  if (opts.keys > 0 && report.verifiedKeyIds.length === 0) {
    const named = [...new Set(report.findings.map((f) => f.keyid ?? "(no key id)"))].join(", ");
    return new OmafError("OMAF_ERR_SIGNATURE_UNTRUSTED", `${opts.where} is signed by ${named}: none of them is a key given to verify with`, details);
  }
  return undefined;
}

/** The signatures stored in an artifact (a zip's `.omaf/signature.intoto.jsonl` entry, or that file in a folder). */
export async function readEmbeddedSignatures(source: string): Promise<Buffer | undefined> {
  const info = await stat(source).catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  if (info.isDirectory()) {
    return readFile(path.join(source, SIGNATURE_PATH)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw toOmafError(err, "OMAF_ERR_IO");
    });
  }
  const reader = await openArchive(source);
  try {
    if (!reader.entries.some((e) => e.type === "file" && e.name === SIGNATURE_PATH)) return undefined;
    return await reader.readEntry(SIGNATURE_PATH, MAX_SIGNATURE_BYTES);
  } finally {
    await reader.close();
  }
}

/** Where signatures were read from: `--signature <file>`, else the artifact itself. */
async function signaturesOf(source: string, signatureFile: string | undefined): Promise<{ text: Buffer | undefined; where: string }> {
  if (signatureFile === undefined) return { text: await readEmbeddedSignatures(source), where: `${source} (${SIGNATURE_PATH})` };
  return { text: await readSignatureFile(signatureFile), where: signatureFile };
}

export interface VerifyOptions {
  /** Public keys (or paths of SPKI PEM files) to verify with; a signature by any one of them is enough. */
  keys: ReadonlyArray<PublicSigningKey | string>;
  /** A detached `.intoto.jsonl` to read the signatures from instead of the artifact's own. */
  signature?: string;
}

export interface VerifyResult {
  source: string;
  /** The artifact's content digest, computed from its files' actual bytes. */
  artifactDigest: string;
  /** Files whose bytes were hashed. */
  files: number;
  /** Where the signatures were read from. */
  signatures: string;
  /** omaf's key ids of the given keys that verified (at least one). */
  keyIds: string[];
  findings: SignatureFinding[];
}

/**
 * Verifies an artifact (ZIP, gzip tar or folder): every file's bytes are hashed and must match its provenance record
 * (`OMAF_ERR_DIGEST_MISMATCH`, `OMAF_ERR_PROVENANCE_INVALID`), and a signature by one of `keys` must sign a statement
 * whose subject digest is the content digest those bytes give. Resolves when all of that holds; otherwise rejects
 * with the code of what failed (`OMAF_ERR_SIGNATURE_MISSING`, `_INVALID`, `_UNTRUSTED`, …), the findings in `details`.
 */
export async function verifyArtifact(source: string, opts: VerifyOptions): Promise<VerifyResult> {
  if (opts.keys.length === 0) throw new OmafError("OMAF_ERR_USAGE", "give at least one public key to verify with (--pub <file>)");
  const keys = await loadPublicKeys(opts.keys);
  const { artifactDigest, files } = await recomputedDigest(source);
  const { text, where } = await signaturesOf(source, opts.signature);
  const report = checkSignatures(text, keys, artifactDigest);
  const error = signatureError(report, { required: true, keys: keys.length, where });
  if (error) throw error;
  return { source, artifactDigest, files, signatures: where, keyIds: report.verifiedKeyIds, findings: report.findings };
}

/** Keys as given, files read. */
export async function loadPublicKeys(keys: ReadonlyArray<PublicSigningKey | string>): Promise<PublicSigningKey[]> {
  return Promise.all(keys.map((k) => (typeof k === "string" ? readPublicKey(k) : k)));
}

/**
 * The content digest of the artifact's actual bytes: every file hashed and, when it has a provenance record,
 * checked against it (the same set of files, sizes and SHA-256s).
 */
async function recomputedDigest(source: string): Promise<{ artifactDigest: string; files: number }> {
  const info = await stat(source).catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  if (info.isDirectory()) {
    const files = await Promise.all((await listFolder(source)).map(async (f) => ({ path: f.path, size: f.size, sha256: await hashFile(f.absPath) })));
    const provenance = await checkFolderProvenance(source, files);
    return { artifactDigest: provenance?.artifactDigest ?? contentDigest(files), files: provenance?.files.length ?? files.length };
  }
  const files = await digestArchiveFiles(source);
  const provenance = await archiveProvenance(source);
  if (provenance) matchProvenance(files, provenance);
  return { artifactDigest: contentDigest(files), files: files.length };
}

async function archiveProvenance(archive: string): Promise<Provenance | undefined> {
  const reader = await openArchive(archive);
  try {
    if (!reader.entries.some((e) => e.type === "file" && e.name === PROVENANCE_PATH)) return undefined;
    return parseProvenance(await reader.readEntry(PROVENANCE_PATH, MAX_SIGNATURE_BYTES));
  } finally {
    await reader.close();
  }
}

/** The files must be exactly the recorded ones, with the recorded sizes and SHA-256s. */
function matchProvenance(files: readonly FileDigest[], provenance: Provenance): void {
  const recorded = new Map(provenance.files.map((f) => [f.path, f]));
  for (const f of files) {
    const want = recorded.get(f.path);
    if (!want) throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `${f.path} is in the archive but not in its provenance record`, { path: f.path });
    if (want.size !== f.size || want.sha256 !== f.sha256) {
      throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `${f.path} differs from its provenance record`, {
        path: f.path,
        expected: { size: want.size, sha256: want.sha256 },
        actual: { size: f.size, sha256: f.sha256 },
      });
    }
    recorded.delete(f.path);
  }
  const missing = [...recorded.keys()];
  if (missing.length > 0) {
    throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `the provenance record lists files the archive lacks: ${missing.slice(0, 5).join(", ")}`, { missing });
  }
}

/**
 * The check `omaf serve` makes once the artifact is materialised (its served bytes checked against `artifactDigest`):
 * with `required`, a signature by one of `keys` over this digest must be there; otherwise, a signature that is there
 * must verify with one of them. Resolves with the key id that verified, or undefined when unsigned and not required.
 */
export async function verifyServedSignature(
  source: string,
  artifactDigest: string,
  opts: { keys: readonly PublicSigningKey[]; required: boolean },
): Promise<string | undefined> {
  const where = `${source} (${SIGNATURE_PATH})`;
  const report = checkSignatures(await readEmbeddedSignatures(source), opts.keys, artifactDigest);
  const error = signatureError(report, { required: opts.required, keys: opts.keys.length, where });
  if (error) throw error;
  return report.verifiedKeyIds[0];
}
