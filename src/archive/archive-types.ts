// Types shared by the ZIP and gzip-tar readers.
import type { Readable } from "node:stream";
import type { OmafError } from "../errors.js";

export type ArchiveFormat = "zip" | "tar.gz";

export type ArchiveEntryType = "file" | "directory" | "symlink" | "other";

/** One entry as listed by the archive's own index (ZIP central directory, tar headers). */
export interface ArchiveEntry {
  /** Normalised name (see `normaliseEntryName`); not yet checked for safety. */
  name: string;
  /** The name as stored (decoded to a string). */
  rawName: string;
  /** `symlink` covers symbolic and (tar) hard links, see `linkKind`; `other` covers devices, FIFOs and the like. */
  type: ArchiveEntryType;
  /** For `symlink` entries: which kind of link. */
  linkKind?: "symbolic" | "hard";
  /** Declared uncompressed size in bytes. */
  size: number;
  /** Declared compressed size (ZIP); for tar, equal to `size` (the gzip layer compresses the whole stream). */
  compressedSize: number;
  /** Unix permission bits when the archive records them. */
  mode?: number;
  /** Target of a symbolic or hard link, when the archive records it. */
  linkTarget?: string;
  /** CRC-32 from the ZIP central directory (ZIP only). */
  crc32?: number;
}

/**
 * A large entry's content, pushed in order to a sink without Node streams (ZIP; see `forEachFile`). The sink sees
 * each chunk once; the chunk's memory may be reused once the promise the sink returned resolves, so a sink that
 * keeps a chunk longer must copy it. `pipeTo` resolves when every chunk was handed over and every sink promise
 * resolved, and rejects on a read or format error, on a failing sink, or when the entry has more or fewer bytes
 * than it declares.
 */
export interface EntryChunks {
  pipeTo(sink: (chunk: Buffer) => Promise<void>): Promise<void>;
}

/** What `forEachFile` hands over: the whole content, a stream (gzip tar) or chunks (large ZIP entries). */
export type EntryContent = Buffer | Readable | EntryChunks;

export interface ForEachFileOptions {
  /** How many entries may stream at once (ZIP only; tar is read in order). Default 1. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** An open archive. Listing happened at open time; content is read on demand. */
export interface ArchiveReader {
  format: ArchiveFormat;
  path: string;
  /** Every entry in archive order, except an entry for the root folder itself (`./` in tars, `/` in old zips). */
  entries: ArchiveEntry[];
  /** Size of the archive file in bytes. */
  fileSize: number;
  /**
   * What the listing revealed about the archive's structure, beyond single entries (judge it with `checkArchive`):
   * for ZIP, entries that overlap or leave unlisted bytes between them (`OMAF_ERR_OVERLAPPING_ENTRIES`), local
   * headers that name other files than the central directory (`OMAF_ERR_ENTRY_NAME_MISMATCH`) or cannot be read
   * (`OMAF_ERR_ARCHIVE_FORMAT`). Always empty for gzip tar.
   */
  problems: OmafError[];
  /**
   * Reads a file entry into memory. Fails with `OMAF_ERR_TOO_LARGE` when it is bigger than `maxBytes`
   * (default 64 MiB) and `OMAF_ERR_NOT_FOUND` when there is no such file entry.
   */
  readEntry(name: string, maxBytes?: number): Promise<Buffer>;
  /** Streams a file entry's content. */
  openEntryStream(name: string): Promise<Readable>;
  /**
   * Hands the content of every `file` entry to `handler`, in archive order (several at once for ZIP when
   * `concurrency` > 1): small entries (up to 1 MiB) as a Buffer, larger ones as chunks (ZIP) or a stream (gzip
   * tar) the handler must consume. Sizes are checked against the declared ones. Used by `unpackArchive`.
   */
  forEachFile(handler: (entry: ArchiveEntry, content: EntryContent) => Promise<void>, opts?: ForEachFileOptions): Promise<void>;
  close(): Promise<void>;
}

/** Default cap of `readEntry`. */
export const DEFAULT_READ_ENTRY_MAX = 64 * 1024 * 1024;
