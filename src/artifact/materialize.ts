// materialize: turn an artifact (ZIP, gzip tar or folder) into a validated folder on disk that a runtime can load.
// Archives are unpacked safely into a cache keyed by their digest, so a restart does not unpack again.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { listFolder } from "../archive/folder.js";
import { contentDigest, type Provenance } from "../archive/provenance.js";
import { unpackArchive } from "../archive/unpack.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { invalidError, manifestOf, openArtifact, openFolder } from "./open.js";
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
}

export interface MaterializeOptions {
  /** Where archives are unpacked; default $OMAF_CACHE_DIR or ~/.cache/omaf. */
  cacheDir?: string;
}

/** Default cache folder for unpacked artifacts. */
export function defaultCacheDir(): string {
  return process.env.OMAF_CACHE_DIR || path.join(os.homedir(), ".cache", "omaf");
}

/**
 * Validates the artifact and makes its files available in a folder. A folder is used in place; an archive is
 * unpacked (with every unpack defence) into `<cacheDir>/<key>`, reused when already there.
 */
export async function materializeArtifact(source: string, opts: MaterializeOptions = {}): Promise<MaterializedArtifact> {
  const artifact = await openArtifact(source);
  if (!artifact.valid) throw invalidError(artifact);
  const manifest = manifestOf(artifact);

  if (artifact.kind === "folder") {
    const files = await Promise.all(
      (await listFolder(source)).map(async (f) => ({ path: f.path, size: f.size, sha256: await hashFile(f.absPath) })),
    );
    return { dir: path.resolve(source), manifest, artifactDigest: contentDigest(files), source };
  }

  // With provenance the content digest is known from the central directory alone; without it, the archive's own
  // bytes name the cache entry and the content digest is computed while unpacking.
  const recorded = artifact.provenance?.artifactDigest;
  const key = recorded ? recorded.replace(/^sha256:/, "") : `archive-${await hashFile(source)}`;
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const dir = path.join(cacheDir, key);
  const record = `${dir}.json`;

  const cached = await readFile(record, "utf8").then((t) => JSON.parse(t) as { artifactDigest: string }, () => undefined);
  if (cached) {
    const again = await openFolder(dir).catch(() => undefined);
    if (again?.valid) return { dir, manifest: manifestOf(again), artifactDigest: cached.artifactDigest, source, provenance: artifact.provenance };
  }

  await mkdir(cacheDir, { recursive: true });
  const result = await unpackArchive(source, dir, { force: true });
  const tmp = `${record}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ artifactDigest: result.artifactDigest, source: path.resolve(source) }));
  await rename(tmp, record);
  return { dir, manifest, artifactDigest: result.artifactDigest, source, provenance: artifact.provenance };
}
