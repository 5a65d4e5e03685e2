// materialize: turn an artifact (ZIP, gzip tar or folder) into a validated folder on disk that a runtime can load.
// Archives are unpacked safely into a cache keyed by their digest, so a restart does not unpack again; a cached copy
// is checked against the artifact before it is reused (src/artifact/cache.ts).
import { lstat, mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { listFolder } from "../archive/folder.js";
import { runPool } from "../archive/stream-util.js";
import { PROVENANCE_PATH, contentDigest, parseProvenance, type FileDigest, type Provenance } from "../archive/provenance.js";
import { unpackArchive } from "../archive/unpack.js";
import { OmafError, toOmafError, type ValidationIssue } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { readCacheRecord, sealedRecord, verifyCachedFolder, writeCacheRecord, type CacheCheck, type CacheRecord } from "./cache.js";
import { invalidError, manifestOf, openArtifact, type OpenedArtifact } from "./open.js";
import { hashFile } from "../archive/hash.js";

export interface MaterializedArtifact {
  /** Folder holding the artifact's files (the manifest at its root). */
  dir: string;
  manifest: OmafManifest;
  /** `sha256:<hex>` content digest: from the provenance record, or computed from the files. */
  artifactDigest: string;
  /** What was given: the archive or folder path. */
  source: string;
  provenance?: Provenance;
  /** What a server should log: e.g. `OMAF_WARN_CACHE_TAMPERED` when a cached copy had changed and was unpacked again. */
  warnings: ValidationIssue[];
}

export interface MaterializeOptions {
  /** Where archives are unpacked; default $OMAF_CACHE_DIR or ~/.cache/omaf. */
  cacheDir?: string;
  /** How a cached copy is checked before reuse (default `full`; see {@link CacheCheck}). */
  cacheCheck?: CacheCheck;
}

/** Default cache folder for unpacked artifacts. */
export function defaultCacheDir(): string {
  return process.env.OMAF_CACHE_DIR || path.join(os.homedir(), ".cache", "omaf");
}

/**
 * Validates the artifact and makes its files available in a folder. A folder is used in place (checked against its
 * own `.omaf/provenance.json` when it has one); an archive is unpacked (with every unpack defence) into
 * `<cacheDir>/<key>`, reused when a copy there still matches the artifact and unpacked again, with a warning, when
 * it does not.
 */
export async function materializeArtifact(source: string, opts: MaterializeOptions = {}): Promise<MaterializedArtifact> {
  const artifact = await openArtifact(source);
  if (!artifact.valid) throw invalidError(artifact);
  const manifest = manifestOf(artifact);

  if (artifact.kind === "folder") {
    const files = await Promise.all((await listFolder(source)).map(async (f) => ({ path: f.path, size: f.size, sha256: await hashFile(f.absPath) })));
    const provenance = await checkFolderProvenance(source, files);
    const artifactDigest = provenance?.artifactDigest ?? contentDigest(files);
    return { dir: path.resolve(source), manifest, artifactDigest, source, ...(provenance ? { provenance } : {}), warnings: [] };
  }

  // With provenance the content digest is known from the central directory alone; without it, the archive's own
  // bytes name the cache entry and the content digest is computed while unpacking.
  const recorded = artifact.provenance?.artifactDigest;
  const key = recorded ? recorded.replace(/^sha256:/, "") : `archive-${await hashFile(source)}`;
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const dir = path.join(cacheDir, key);
  const recordFile = `${dir}.json`;
  const warnings: ValidationIssue[] = [];
  const done = (artifactDigest: string): MaterializedArtifact => ({ dir, manifest, artifactDigest, source, provenance: artifact.provenance, warnings });

  const cached = await readCacheRecord(recordFile);
  if (cached) {
    const expected = expectedCachedFiles(artifact, cached);
    const verdict = Array.isArray(expected) ? await verifyCachedFolder(dir, expected, cached, opts.cacheCheck ?? "full") : { problem: expected, hashed: 0 };
    if (!verdict.problem) {
      if (verdict.resealed) await writeCacheRecord(recordFile, { ...cached, ...verdict.resealed }).catch(() => {});
      return done(cached.artifactDigest);
    }
    warnings.push({
      code: "OMAF_WARN_CACHE_TAMPERED",
      severity: "warning",
      path: verdict.problem.path ? path.join(dir, verdict.problem.path) : dir,
      message: `the cached copy in ${dir} no longer matches ${source}: ${verdict.problem.message}; unpacked again`,
    });
  }

  await mkdir(cacheDir, { recursive: true });
  // Into a temporary folder renamed over `dir`: a concurrent unpack of the same artifact ends with one whole copy.
  const result = await unpackArchive(source, dir, { force: true });
  const files: FileDigest[] = [...result.files];
  if (result.provenance) {
    const file = path.join(dir, PROVENANCE_PATH);
    files.push({ path: PROVENANCE_PATH, size: (await lstat(file)).size, sha256: await hashFile(file) });
  }
  await writeCacheRecord(recordFile, sealedRecord(dir, files, { artifactDigest: result.artifactDigest, source: path.resolve(source) }));
  return done(result.artifactDigest);
}

/**
 * Every file a cached copy of `artifact` must hold, or why the record cannot vouch for one. With a provenance record
 * the artifact itself says what its files are; without one the record written at unpack does, and it must agree with
 * the archive's listing (names and sizes) and its own digest.
 */
function expectedCachedFiles(artifact: OpenedArtifact, record: CacheRecord): FileDigest[] | { path: string; message: string } {
  const p = artifact.provenance;
  if (p) {
    const own = record.files.find((f) => f.path === PROVENANCE_PATH);
    if (record.artifactDigest !== p.artifactDigest || !own) return { path: "", message: "its cache record is not this artifact's" };
    return [...p.files, own];
  }
  const listed = new Map(artifact.files.map((f) => [f.path, f.size]));
  const agrees =
    record.files.length === listed.size && record.files.every((f) => listed.get(f.path) === f.size) && contentDigest(record.files) === record.artifactDigest;
  return agrees ? record.files : { path: "", message: "its cache record does not match the archive's listing" };
}

/**
 * A folder's `.omaf/provenance.json` (what unpack leaves), checked against the files packing would take from it:
 * the same paths, sizes and SHA-256s (`OMAF_ERR_DIGEST_MISMATCH`, `OMAF_ERR_PROVENANCE_INVALID`). A recorded file
 * that the ignore rules leave out (e.g. a `.pyc` packed under other rules) is checked where it lies.
 */
export async function checkFolderProvenance(dir: string, files: FileDigest[]): Promise<Provenance | undefined> {
  const text = await readFile(path.join(dir, PROVENANCE_PATH)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  if (text === undefined) return undefined;
  const provenance = parseProvenance(text);
  const hint = `; remove ${PROVENANCE_PATH} to serve the folder as it is now`;
  const present = new Map(files.map((f) => [f.path, f]));
  const recorded = new Set(provenance.files.map((f) => f.path));
  for (const f of files) {
    if (!recorded.has(f.path)) {
      throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `${f.path} is in the folder but not in its provenance record${hint}`, { path: f.path });
    }
  }
  await runPool(provenance.files, 4, undefined, async (want) => {
    let have = present.get(want.path);
    if (!have) {
      const abs = path.join(dir, want.path);
      const st = await lstat(abs).catch(() => undefined);
      if (!st?.isFile())
        throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `${want.path} is in the provenance record but not in the folder${hint}`, { path: want.path });
      have = { path: want.path, size: st.size, sha256: await hashFile(abs) };
    }
    if (have.size !== want.size || have.sha256 !== want.sha256) {
      throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `${want.path} differs from its provenance record${hint}`, {
        path: want.path,
        expected: { size: want.size, sha256: want.sha256 },
        actual: { size: have.size, sha256: have.sha256 },
      });
    }
  });
  return provenance;
}
