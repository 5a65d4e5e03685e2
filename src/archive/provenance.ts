// The provenance record omaf stores in every artifact it writes, and the artifact digest (spec/provenance.md).
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { validateProvenance } from "../schemas/validators.js";
import { OmafError, toOmafError } from "../errors.js";
import { checkEntryName, normaliseEntryName } from "./entry-name.js";

/** Folder (at the artifact root) that holds omaf's own metadata. */
export const PROVENANCE_DIR = ".omaf";
/** Entry name of the provenance record; written as the last entry of the zip. */
export const PROVENANCE_PATH = ".omaf/provenance.json";
/**
 * Entry name of the artifact's signatures: DSSE envelopes, one JSON document per line (spec/signing.md). Like the
 * record, it describes the artifact rather than belongs to it: signing adds it without changing the content digest.
 */
export const SIGNATURE_PATH = ".omaf/signature.intoto.jsonl";
/** The most bytes of signatures read from an artifact or a detached file. */
export const MAX_SIGNATURE_BYTES = 64 * 1024 * 1024;

/** Value of the record's `format` field. */
export const PROVENANCE_FORMAT = "omaf-provenance/1";

/** A detached signatures file's bytes (at most {@link MAX_SIGNATURE_BYTES}). */
export async function readSignatureFile(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new OmafError("OMAF_ERR_USAGE", `${file} is not a file of signatures (.intoto.jsonl)`, { path: file });
    if (info.size > MAX_SIGNATURE_BYTES) {
      throw new OmafError("OMAF_ERR_TOO_LARGE", `${file} is ${info.size} bytes; signatures of at most ${MAX_SIGNATURE_BYTES} are read`, { path: file });
    }
    return await readFile(file);
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}

/**
 * True for the two entries that are not content: the provenance record and the signatures. Only these exact names are
 * left out of the file list and the content digest; anything else under `.omaf/` is content like any file.
 */
export function isMetadataPath(name: string): boolean {
  return name === PROVENANCE_PATH || name === SIGNATURE_PATH;
}

/** One file of an artifact: entry name, size in bytes and SHA-256 (lower-case hex) of its content. */
export interface FileDigest {
  path: string;
  size: number;
  sha256: string;
}

/** The provenance record (`.omaf/provenance.json`). */
export interface Provenance {
  format: typeof PROVENANCE_FORMAT;
  /** `sha256:<hex>`: {@link contentDigest} of `files`. */
  artifactDigest: string;
  /** Every file of the artifact except the record and the signatures ({@link isMetadataPath}), sorted by path in byte order. */
  files: FileDigest[];
  packer: { tool: "omaf"; version: string };
  toolchain?: { name: string; version: string };
  model?: { name: string; version: string };
  /** RFC 3339 time of packing; omitted in deterministic mode. */
  createdAt?: string;
}

/**
 * The artifact digest: `sha256:` + SHA-256 (hex) of the canonical file list, one UTF-8 line per file sorted by the
 * bytes of its path: `<sha256-hex>  <size>  <path>\n` (two spaces between fields, size in decimal). It identifies the
 * content, not the zip bytes, so re-packing the same folder gives the same digest.
 */
export function contentDigest(files: readonly FileDigest[]): string {
  return digestOfSorted(canonicalOrder(files));
}

/** {@link contentDigest} of files already in canonical order. */
function digestOfSorted(files: readonly FileDigest[]): string {
  const hash = createHash("sha256");
  // Lines go to the hash in runs of about 64 KiB: one native call per file costs more than the hashing.
  let text = "";
  for (const f of files) {
    if (/[\r\n]/.test(f.path)) {
      throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `file path ${JSON.stringify(f.path)} contains a line break`, { path: f.path });
    }
    text += `${f.sha256}  ${f.size}  ${f.path}\n`;
    if (text.length >= 65536) {
      hash.update(text, "utf8");
      text = "";
    }
  }
  hash.update(text, "utf8");
  return `sha256:${hash.digest("hex")}`;
}

/**
 * Code units from which JavaScript's string order (UTF-16 code units) and UTF-8 byte order can differ: a surrogate
 * (half of a character beyond U+FFFF) sorts before U+E000–U+FFFF in UTF-16 and after them in UTF-8. Below U+D800
 * both orders are the code points' order.
 */
const BEYOND_UTF16_ORDER = /[\uD800-\uFFFF]/;

/** JavaScript's string order: by UTF-16 code units. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two paths by their UTF-8 bytes. */
function comparePaths(a: string, b: string): number {
  if (BEYOND_UTF16_ORDER.test(a) || BEYOND_UTF16_ORDER.test(b)) return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  return byCodeUnits(a, b);
}

/** Returns a copy sorted by the UTF-8 bytes of `path`. */
export function canonicalOrder<T extends { path: string }>(files: readonly T[]): T[] {
  // Checked once for the whole list, not per comparison.
  if (!files.some((f) => BEYOND_UTF16_ORDER.test(f.path))) return [...files].sort((a, b) => byCodeUnits(a.path, b.path));
  return files
    .map((f) => ({ f, key: Buffer.from(f.path, "utf8") }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((k) => k.f);
}

/** Builds a record for `files` (sorted here) with its digest. */
export function buildProvenance(
  files: readonly FileDigest[],
  info: { packerVersion: string; toolchain?: Provenance["toolchain"]; model?: Provenance["model"]; createdAt?: Date },
): Provenance {
  const sorted = canonicalOrder(files).map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
  return {
    format: PROVENANCE_FORMAT,
    artifactDigest: contentDigest(sorted),
    packer: { tool: "omaf", version: info.packerVersion },
    ...(info.toolchain ? { toolchain: { name: info.toolchain.name, version: info.toolchain.version } } : {}),
    ...(info.model ? { model: { name: info.model.name, version: info.model.version } } : {}),
    ...(info.createdAt ? { createdAt: info.createdAt.toISOString() } : {}),
    files: sorted,
  };
}

/** Serialises a record: fixed key order, two-space indent, one line per file, trailing newline. */
export function serializeProvenance(p: Provenance): Buffer {
  const head: Record<string, unknown> = { format: p.format, artifactDigest: p.artifactDigest, packer: p.packer };
  if (p.toolchain) head.toolchain = p.toolchain;
  if (p.model) head.model = p.model;
  if (p.createdAt) head.createdAt = p.createdAt;
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const files = p.files.map((f) => `    ${JSON.stringify({ path: f.path, size: f.size, sha256: f.sha256 })}`);
  lines.push(files.length ? `  "files": [\n${files.join(",\n")}\n  ]` : `  "files": []`);
  return Buffer.from(`{\n${lines.join(",\n")}\n}\n`, "utf8");
}

function invalid(message: string, details?: Record<string, unknown>): OmafError {
  return new OmafError("OMAF_ERR_PROVENANCE_INVALID", `provenance record: ${message}`, details);
}

/**
 * Parses and checks a provenance record: JSON, its schema (schemas/provenance.schema.json), safe unique paths in
 * byte order, and `artifactDigest` equal to {@link contentDigest} of `files`. Any failure is
 * `OMAF_ERR_PROVENANCE_INVALID`.
 */
export function parseProvenance(buf: Buffer | string): Provenance {
  let data: unknown;
  try {
    data = JSON.parse(typeof buf === "string" ? buf : buf.toString("utf8"));
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`);
  }
  const validate = validateProvenance;
  if (!validate(data)) {
    const issues = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
    throw invalid(issues.join("; "), { issues });
  }
  const p = data as Provenance;
  let previous: string | undefined;
  for (const f of p.files) {
    try {
      checkEntryName(f.path);
    } catch (err) {
      throw invalid(`unsafe path ${JSON.stringify(f.path)}`, { path: f.path, cause: (err as OmafError).code });
    }
    if (isMetadataPath(f.path) || /[\r\n]/.test(f.path) || normaliseEntryName(f.path) !== f.path)
      throw invalid(`bad path ${JSON.stringify(f.path)}`, { path: f.path });
    if (previous !== undefined && comparePaths(previous, f.path) >= 0) {
      throw invalid(`files are not unique and sorted by path (at ${JSON.stringify(f.path)})`, { path: f.path });
    }
    previous = f.path;
  }
  const digest = digestOfSorted(p.files);
  if (digest !== p.artifactDigest) {
    throw invalid(`artifactDigest ${p.artifactDigest} does not match its file list (${digest})`, {
      recorded: p.artifactDigest,
      computed: digest,
    });
  }
  return p;
}
