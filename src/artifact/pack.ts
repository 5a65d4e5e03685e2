// pack: validate a model folder, then write it as a deterministic OMAF ZIP with a provenance record.
import path from "node:path";
import { stat } from "node:fs/promises";
import { OmafError, toOmafError, type ValidationIssue } from "../errors.js";
import { listFolder, type FolderFile } from "../archive/folder.js";
import { writeZip } from "../archive/write-zip.js";
import { MANIFEST_NAME } from "../manifest/parse.js";
import { omafVersion } from "../version.js";
import { invalidError, manifestOf, openFolder } from "./open.js";

export interface PackOptions {
  /** Output file; default `{name}-{version}.zip` in the current folder. */
  output?: string;
  /** Replace an existing output file. */
  force?: boolean;
  /** Deflate level 0–9 (default 6). */
  level?: number;
  /** Called as bytes are written: (bytes done, bytes total). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Files or folders inside `dir` to leave out besides the ignore rules (e.g. output written inside the model folder). */
  exclude?: string[];
}

export interface PackResult {
  output: string;
  /** `sha256:<hex>` content digest recorded in the provenance. */
  artifactDigest: string;
  files: number;
  /** Total uncompressed bytes packed. */
  bytes: number;
  /** Warnings found while validating (errors refuse the pack). */
  warnings: ValidationIssue[];
}

/**
 * Packs `dir` into an artifact. Refuses an invalid folder with OMAF_ERR_MANIFEST_INVALID listing every issue.
 * The manifest is always stored as odahuflow.model.yaml; the same folder always gives a byte-identical file.
 */
export async function pack(dir: string, opts: PackOptions = {}): Promise<PackResult> {
  const info = await stat(dir).catch((err) => {
    throw toOmafError(err);
  });
  if (!info.isDirectory()) throw new OmafError("OMAF_ERR_USAGE", `${dir} is not a folder; pack takes a model folder`);
  // The default output name comes from the manifest, so an explicit output is the only one to exclude up front.
  const listed = await listFolder(dir, { exclude: [...(opts.output ? [opts.output] : []), ...(opts.exclude ?? [])] });
  const artifact = await openFolder(dir, listed);
  if (!artifact.valid) throw invalidError(artifact);
  const manifest = manifestOf(artifact);

  const output = path.resolve(opts.output ?? `${manifest.model.name}-${manifest.model.version}.zip`);
  const files = renameManifest(
    listed.filter((f) => path.resolve(f.absPath) !== output),
    artifact.manifestName,
  );
  const written = await writeZip({
    dir,
    files,
    output,
    force: opts.force,
    level: opts.level,
    provenance: {
      packerVersion: omafVersion,
      toolchain: { name: manifest.toolchain.name, version: manifest.toolchain.version },
      model: { name: manifest.model.name, version: manifest.model.version },
    },
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
  return {
    output: written.output,
    artifactDigest: written.artifactDigest,
    files: written.files.length,
    bytes: written.files.reduce((n, f) => n + f.size, 0),
    warnings: artifact.issues.filter((i) => i.severity === "warning"),
  };
}

/** Stores a manifest found under another accepted name as odahuflow.model.yaml, keeping entries sorted. */
function renameManifest(files: FolderFile[], manifestName: string | undefined): FolderFile[] {
  if (!manifestName || manifestName === MANIFEST_NAME) return files;
  return files.map((f) => (f.path === manifestName ? { ...f, path: MANIFEST_NAME } : f)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
