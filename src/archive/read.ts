// Opens an artifact for reading, whatever its container: ZIP, or gzip-compressed tar (later Odahu operators wrote
// those under a .zip name). The format is told by magic bytes, never by the file name.
import { open } from "node:fs/promises";
import { OmafError, toOmafError } from "../errors.js";
import type { ArchiveFormat, ArchiveReader } from "./archive-types.js";
import { resolveLimits, type UnpackLimits } from "./limits.js";
import { ZipReader } from "./zip-reader.js";

export type { ArchiveEntry, ArchiveEntryType, ArchiveFormat, ArchiveReader, ForEachFileOptions } from "./archive-types.js";
export { checkArchive, checkEntries } from "./safety.js";

export interface OpenArchiveOptions {
  /**
   * Limits enforced while listing (defaults: DEFAULT_UNPACK_LIMITS): the entry count for ZIP (known from its end
   * record before the central directory is read); for gzip tar, which must be inflated to be listed, also the
   * declared and inflated sizes and the compression ratio.
   */
  limits?: Partial<UnpackLimits>;
}

/** Tells the container format from the first bytes of the file. */
export async function detectFormat(path: string): Promise<ArchiveFormat> {
  const handle = await open(path, "r").catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) {
      return "zip";
    }
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
    throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${path} is neither a ZIP nor a gzip-compressed tar archive`, {
      path,
      magic: head.subarray(0, bytesRead).toString("hex"),
    });
  } finally {
    await handle.close();
  }
}

/**
 * Opens a ZIP or gzip tar and lists its entries. For ZIP the central directory and the local headers are read,
 * no entry data (fast on large artifacts); a gzip tar is scanned once. Entry names are normalised but not judged: use `checkArchive` (or
 * `unpackArchive`, which does) before trusting them. Close the reader when done.
 */
export async function openArchive(path: string, opts: OpenArchiveOptions = {}): Promise<ArchiveReader> {
  const limits = resolveLimits(opts.limits);
  const format = await detectFormat(path);
  try {
    if (format === "zip") return await ZipReader.open(path, limits);
    // tar is imported only for a gzip tar: reading a ZIP (omaf validate, inspect) does not load it.
    const { TarGzReader } = await import("./tar-reader.js");
    return await TarGzReader.open(path, limits);
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_ARCHIVE_FORMAT");
  }
}
