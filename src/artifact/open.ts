// Opening an artifact — a ZIP, an Odahu gzip tar, or a folder — as manifest + file list + provenance + issues.
// For archives only the central directory, the local headers and the small manifest/provenance entries are read.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { OmafError, toOmafError, type ValidationIssue } from "../errors.js";
import { openArchive, type ArchiveEntry, type ArchiveReader } from "../archive/read.js";
import { listFolder, type FolderFile } from "../archive/folder.js";
import { checkArchive } from "../archive/safety.js";
import { DEFAULT_UNPACK_LIMITS } from "../archive/limits.js";
import { PROVENANCE_PATH, isMetadataPath, parseProvenance, type Provenance } from "../archive/provenance.js";
import { MANIFEST_NAMES, MAX_MANIFEST_BYTES, findManifestName, parseManifestText } from "../manifest/parse.js";
import { fileIndex, resolveInside, type FileIndex } from "../manifest/file-index.js";
import { resolveEntrypoint } from "../manifest/entrypoint.js";
import { jarIssues } from "./jar.js";
import { isValid, validateManifest } from "../manifest/validate.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { contractFileIssues } from "./contract-check.js";

export interface ArtifactFile {
  /** Posix path relative to the artifact root. */
  path: string;
  size: number;
  /** Stored size inside the archive (archives only). */
  compressedSize?: number;
  /** SHA-256 hex from the provenance record, when the artifact has one. */
  sha256?: string;
}

export interface OpenedArtifact {
  /** The path that was opened. */
  source: string;
  kind: "folder" | "zip" | "tar.gz";
  /** Name of the manifest file used, when one was found. */
  manifestName?: string;
  /** The parsed manifest as found (check `valid` before trusting its shape). */
  manifest?: unknown;
  files: ArtifactFile[];
  provenance?: Provenance;
  /** Every issue found: manifest, cross-checks against the files, unsafe entries, provenance. */
  issues: ValidationIssue[];
  /** True when no issue is an error. */
  valid: boolean;
}

/** The manifest of an artifact already known to be valid. */
export function manifestOf(artifact: OpenedArtifact): OmafManifest {
  if (!artifact.valid) throw invalidError(artifact);
  return artifact.manifest as OmafManifest;
}

/** The error that refuses an invalid artifact, listing every issue. */
export function invalidError(artifact: Pick<OpenedArtifact, "source" | "issues">): OmafError {
  const errors = artifact.issues.filter((i) => i.severity === "error");
  const lines = errors.map((i) => `  ${i.code} ${i.path ? `${i.path}: ` : ""}${i.message}`);
  return new OmafError(
    "OMAF_ERR_MANIFEST_INVALID",
    `${artifact.source} is not a valid artifact (${errors.length} error${errors.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
    {
      issues: artifact.issues,
    },
  );
}

/**
 * Reads an artifact's manifest, file list and provenance, and validates them together.
 * Throws only when the source cannot be read at all (missing path, not an archive); problems with the content are
 * returned as `issues`.
 */
export async function openArtifact(source: string): Promise<OpenedArtifact> {
  const info = await stat(source).catch((err) => {
    throw toOmafError(err);
  });
  return info.isDirectory() ? openFolder(source) : openArchiveArtifact(source);
}

/** Describes a model folder from its listing (as `listFolder` gives it), so callers that list once can reuse it. */
export async function openFolder(dir: string, listed?: FolderFile[]): Promise<OpenedArtifact> {
  listed ??= await listFolder(dir);
  const files = listed.map((f) => ({ path: f.path, size: f.size }));
  const { manifestName, manifest, issues } = await readManifest(
    files.map((f) => f.path),
    (name) => readFile(path.join(dir, name)),
  );
  const read = (name: string) => readFile(path.join(dir, name));
  return withContractCheck(await finish({ source: dir, kind: "folder", manifestName, manifest, files, issues }, read), read);
}

async function openArchiveArtifact(file: string): Promise<OpenedArtifact> {
  const reader = await openArchive(file);
  try {
    const issues = entryIssues(reader);
    const fileEntries = reader.entries.filter((e) => e.type === "file" && !isMetadataPath(e.name));
    const dirs = reader.entries.filter((e) => e.type === "directory").map((e) => e.name);

    let provenance: Provenance | undefined;
    if (reader.entries.some((e) => e.name === PROVENANCE_PATH)) {
      try {
        provenance = parseProvenance(await reader.readEntry(PROVENANCE_PATH, MAX_MANIFEST_BYTES * 64));
        issues.push(...provenanceIssues(provenance, fileEntries));
      } catch (err) {
        const e = toOmafError(err, "OMAF_ERR_PROVENANCE_INVALID");
        issues.push({ code: e.code, severity: "error", path: PROVENANCE_PATH, message: e.message });
      }
    }
    const digests = new Map(provenance?.files.map((f) => [f.path, f.sha256]));
    const files = fileEntries.map((e) => ({ path: e.name, size: e.size, compressedSize: e.compressedSize, sha256: digests.get(e.name) }));
    const read = (name: string) => reader.readEntry(name, MAX_MANIFEST_BYTES);
    const manifestPart = await readManifest(
      files.map((f) => f.path),
      read,
    );
    const opened = await finish(
      {
        source: file,
        kind: reader.format,
        ...manifestPart,
        files,
        provenance,
        issues: [...issues, ...manifestPart.issues],
        dirs,
      },
      (name) => reader.readEntry(name, MAX_JAR_BYTES),
    );
    return await withContractCheck(opened, (name, maxBytes) => reader.readEntry(name, maxBytes));
  } finally {
    await reader.close();
  }
}

/** Largest JAR read into memory for its check when it sits inside an archive. */
const MAX_JAR_BYTES = 1024 * 1024 * 1024;

async function finish(a: Omit<OpenedArtifact, "valid"> & { dirs?: string[] }, read: (name: string) => Promise<Buffer>): Promise<OpenedArtifact> {
  const { dirs, ...artifact } = a;
  if (artifact.manifest !== undefined) {
    const files = fileIndex(
      artifact.files.map((f) => f.path),
      dirs,
    );
    artifact.issues.push(...validateManifest(artifact.manifest, files));
    artifact.issues.push(...(await javaIssues(artifact.manifest, artifact.issues, files, read)));
  }
  return { ...artifact, valid: isValid(artifact.issues) };
}

/** A java model's JAR must open as a ZIP and hold the class its manifest names; checked once the manifest is valid. */
async function javaIssues(manifest: unknown, issues: ValidationIssue[], files: FileIndex, read: (name: string) => Promise<Buffer>): Promise<ValidationIssue[]> {
  const m = manifest as OmafManifest;
  if (m.binaries?.type !== "java" || !isValid(issues)) return [];
  const dir = resolveInside(m.model.workDir);
  const jar = dir === undefined ? undefined : resolveEntrypoint(files, "java", dir, m.model.entrypoint);
  if (!jar) return [];
  let bytes: Buffer;
  try {
    bytes = await read(jar);
  } catch (err) {
    return [{ code: "OMAF_ERR_JAR", severity: "error", path: "model.entrypoint", message: `${jar} cannot be read: ${(err as Error).message}` }];
  }
  return jarIssues(bytes, jar);
}

/** A valid artifact's declared contract checked against its model file (see contract-check.ts). */
async function withContractCheck(artifact: OpenedArtifact, read: (name: string, maxBytes: number) => Promise<Uint8Array>): Promise<OpenedArtifact> {
  if (!artifact.valid) return artifact;
  const more = await contractFileIssues(artifact.manifest as OmafManifest, artifact.files, read);
  if (more.length === 0) return artifact;
  const issues = [...artifact.issues, ...more];
  return { ...artifact, issues, valid: isValid(issues) };
}

async function readManifest(
  paths: string[],
  read: (name: string) => Promise<Buffer>,
): Promise<{ manifestName?: string; manifest?: unknown; issues: ValidationIssue[] }> {
  const { name, ignored } = findManifestName(paths.filter((p) => !p.includes("/")));
  const issues: ValidationIssue[] = ignored.map((other) => ({
    code: "OMAF_WARN_MANIFEST_ALTERNATE",
    severity: "warning",
    path: other,
    message: `${other} is ignored: ${name} takes precedence`,
  }));
  if (!name) {
    issues.push({
      code: "OMAF_ERR_MANIFEST_MISSING",
      severity: "error",
      path: "",
      message: `no manifest at the artifact root (expected ${MANIFEST_NAMES.join(", ")})`,
    });
    return { issues };
  }
  try {
    return { manifestName: name, manifest: parseManifestText((await read(name)).toString("utf8"), name), issues };
  } catch (err) {
    const e = toOmafError(err, "OMAF_ERR_MANIFEST_PARSE");
    issues.push({ code: e.code, severity: "error", path: name, message: e.message });
    return { manifestName: name, issues };
  }
}

/**
 * What unpack would refuse, as seen in the listing: overlapping entries, local names that differ, unsafe names, links,
 * duplicates, bomb limits.
 */
function entryIssues(reader: ArchiveReader): ValidationIssue[] {
  return checkArchive(reader, DEFAULT_UNPACK_LIMITS).map((e) => ({
    code: e.code,
    severity: "error",
    path: typeof e.details?.entry === "string" ? e.details.entry : "",
    message: e.message,
  }));
}

/** The provenance must list exactly the archive's files, with their sizes. Digests are checked on unpack. */
function provenanceIssues(p: Provenance, entries: ArchiveEntry[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const recorded = new Map(p.files.map((f) => [f.path, f]));
  for (const e of entries) {
    const r = recorded.get(e.name);
    if (!r)
      issues.push({
        code: "OMAF_ERR_PROVENANCE_INVALID",
        severity: "error",
        path: e.name,
        message: `${e.name} is in the archive but not in the provenance record`,
      });
    else if (r.size !== e.size)
      issues.push({
        code: "OMAF_ERR_DIGEST_MISMATCH",
        severity: "error",
        path: e.name,
        message: `${e.name} is ${e.size} bytes; the provenance records ${r.size}`,
      });
    recorded.delete(e.name);
  }
  for (const missing of recorded.keys()) {
    issues.push({
      code: "OMAF_ERR_PROVENANCE_INVALID",
      severity: "error",
      path: missing,
      message: `${missing} is in the provenance record but not in the archive`,
    });
  }
  return issues;
}

/** Reads one small file of an artifact (folder or archive) by its path relative to the root. */
export async function readArtifactFile(source: string, relPath: string, maxBytes = MAX_MANIFEST_BYTES * 16): Promise<Buffer> {
  const info = await stat(source).catch((err) => {
    throw toOmafError(err);
  });
  if (info.isDirectory()) return readFile(path.join(source, relPath));
  const reader = await openArchive(source);
  try {
    return await reader.readEntry(relPath, maxBytes);
  } finally {
    await reader.close();
  }
}
