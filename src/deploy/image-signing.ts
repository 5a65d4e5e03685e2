// What an image does with the artifact's signatures. They are always kept: the build's unpack step writes them to
// /mnt/models/.omaf/signature.intoto.jsonl, where `omaf serve` reads a folder's signatures, so an operator can turn
// verification on with OMAF_REQUIRE_SIGNATURE and OMAF_TRUSTED_KEYS. With trusted keys the signatures are verified
// when the context is written (refused with the signing codes otherwise), the keys go into the context and the
// image's ENV names them, so the container checks the served content against them at every start.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { readSignatureFile } from "../archive/provenance.js";
import { OmafError } from "../errors.js";
import { IMAGE_KEYS_DIR, type ImageSignatures } from "./image-plan.js";
import { readEmbeddedSignatures, verifyArtifact } from "../signing/verify.js";
import { type PublicSigningKey, readPublicKey } from "../signing/keys.js";

/** Where the context holds the trusted keys. */
const CONTEXT_KEYS_DIR = "keys";

export interface ImageSigningOptions {
  /**
   * Public keys (SPKI PEM files) the image trusts, as `omaf serve --trusted-key`: a signature the artifact carries
   * must verify with one of them now, and the container checks it again at every start (OMAF_TRUSTED_KEYS).
   */
  trustedKeys?: readonly string[];
  /** Refuse an artifact that no trusted key signed, now and in the container (OMAF_REQUIRE_SIGNATURE=1). */
  requireSignature?: boolean;
  /** A detached `.intoto.jsonl` to keep in the image instead of the artifact's own signatures. */
  signature?: string;
}

/**
 * The trusted keys, read before anything is copied (OMAF_ERR_KEY_INVALID, OMAF_ERR_NOT_FOUND), without repeats;
 * `--require-signature` without a key is OMAF_ERR_USAGE.
 */
export async function readTrustedKeys(opts: ImageSigningOptions): Promise<PublicSigningKey[]> {
  if (opts.requireSignature && (opts.trustedKeys ?? []).length === 0) {
    throw new OmafError("OMAF_ERR_USAGE", "--require-signature needs at least one --trusted-key to verify with, now and in the container");
  }
  const keys = await Promise.all((opts.trustedKeys ?? []).map((k) => readPublicKey(k)));
  return keys.filter((k, i) => keys.findIndex((o) => o.keyId === k.keyId) === i);
}

/**
 * Puts the signatures of the artifact at `artifactFile` in the build context `root` and decides what the image does
 * with them: the detached file (as `<artifactFile>.intoto.jsonl`) and the `keys` (`keys/<key id>.pub`) are written,
 * and with keys every file's bytes and a signature by one of them over their content digest are verified, exactly as
 * they will be in the image. Throws the signing codes: OMAF_ERR_SIGNATURE_MISSING when required and unsigned,
 * OMAF_ERR_SIGNATURE_INVALID, OMAF_ERR_SIGNATURE_UNTRUSTED.
 */
export async function writeSignatures(
  root: string,
  artifactFile: string,
  keys: readonly PublicSigningKey[],
  opts: ImageSigningOptions,
): Promise<ImageSignatures> {
  const required = opts.requireSignature ?? false;
  const artifact = path.join(root, artifactFile);
  let detachedFile: string | undefined;
  if (opts.signature !== undefined) {
    detachedFile = `${artifactFile}.intoto.jsonl`;
    await writeFile(path.join(root, detachedFile), await readSignatureFile(opts.signature));
  }
  const kept = detachedFile !== undefined || (await readEmbeddedSignatures(artifact)) !== undefined;
  const signedBy =
    keys.length > 0 && (kept || required)
      ? (await verifyArtifact(artifact, { keys, ...(detachedFile ? { signature: path.join(root, detachedFile) } : {}) })).keyIds
      : [];

  const trustedKeys: ImageSignatures["trustedKeys"] = [];
  if (keys.length > 0) await mkdir(path.join(root, CONTEXT_KEYS_DIR), { recursive: true });
  for (const k of keys) {
    const file = `${CONTEXT_KEYS_DIR}/${k.keyId}.pub`;
    await writeFile(path.join(root, file), k.key.export({ type: "spki", format: "pem" }).toString());
    trustedKeys.push({ keyId: k.keyId, file, path: `${IMAGE_KEYS_DIR}/${k.keyId}.pub` });
  }
  return { kept, ...(detachedFile ? { detachedFile } : {}), required, trustedKeys, signedBy };
}
