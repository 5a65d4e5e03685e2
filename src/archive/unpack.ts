// Safe extraction of an artifact: everything is judged before the first byte is written, every byte is counted
// and hashed while it is written, and the result appears at `dest` only when all of it checked out.
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, writeFileSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OmafError, toOmafError } from "../errors.js";
import type { ArchiveEntry, EntryChunks, EntryContent } from "./archive-types.js";
import { checkEntryName } from "./entry-name.js";
import { crc32 } from "./crc32.js";
import { DEFAULT_UNPACK_LIMITS, resolveLimits, type UnpackLimits } from "./limits.js";
import {
  readSignatureFile,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  canonicalOrder,
  isMetadataPath,
  contentDigest,
  parseProvenance,
  type FileDigest,
  type Provenance,
} from "./provenance.js";
import { HashThread } from "./hash-thread.js";
import { openArchive } from "./read.js";
import { SMALL_ENTRY } from "./zip-reader.js";
import { checkArchive } from "./safety.js";
import { eachChunk } from "./entry-digests.js";

export { DEFAULT_UNPACK_LIMITS, type UnpackLimits };

export interface UnpackOptions {
  /** Overrides of {@link DEFAULT_UNPACK_LIMITS}. */
  limits?: Partial<UnpackLimits>;
  /** Replace a non-empty `dest` (the old content is moved away first and deleted after the new one is in place). */
  force?: boolean;
  /**
   * Check every file against the provenance record when there is one (default true). With `false` the record is only
   * parsed (and left out of the result when malformed) and ZIP CRC-32s are checked instead.
   */
  verify?: boolean;
  /**
   * The content digest (`sha256:<hex>`) the extracted files must add up to, e.g. the one an image's labels name: any
   * other is OMAF_ERR_DIGEST_MISMATCH, and nothing is left at `dest`.
   */
  expectDigest?: string;
  /**
   * Also write the artifact's signatures to `dest` as {@link SIGNATURE_PATH}, where `omaf verify` and `omaf serve` read
   * a folder's signatures (default false: they stay with the archive). They are not content either way: they are in
   * no digest check and not in `files`.
   */
  keepSignatures?: boolean;
  /**
   * A detached `.intoto.jsonl` to write to `dest` as {@link SIGNATURE_PATH} instead of the archive's own signatures
   * (implies `keepSignatures`).
   */
  signature?: string;
  /** Called as content is written: bytes done and bytes in total (declared). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** ZIP entries extracted at once (default 4). */
  concurrency?: number;
}

export interface UnpackResult {
  dest: string;
  /** Every extracted file except the provenance record and the signatures, with size and SHA-256, sorted by path. */
  files: FileDigest[];
  /** From the verified provenance record, or computed over `files` when the archive has none (e.g. Odahu artifacts). */
  artifactDigest: string;
  provenance?: Provenance;
  /** The signatures written to `dest` (`keepSignatures`, `signature`), when there were any. */
  signatureFile?: string;
}

const MAX_PROVENANCE_BYTES = 64 * 1024 * 1024;
const SYNC_WRITE = 128 * 1024;
/**
 * Large entries adding up to at least this are hashed on a worker thread; below it the thread's start (~25 ms on
 * another core) is not won back.
 */
const THREAD_HASH_MIN = 64 * 1024 * 1024;

/**
 * Extracts a ZIP or gzip tar into `dest`, safely: absolute and `..` names, links, duplicates, unsupported entry types,
 * overlapping ZIP entries, local names that differ from the central directory and the bomb limits are rejected from
 * the listing before extraction; actual bytes are counted while inflating (sizes
 * in headers can lie). With a provenance record every file's size and SHA-256 is verified
 * (`OMAF_ERR_DIGEST_MISMATCH`) and the file set must match it exactly (`OMAF_ERR_PROVENANCE_INVALID`). Without one,
 * ZIP CRC-32s are checked instead. The signatures entry is extracted only with `keepSignatures` (its CRC-32 checked,
 * as no record covers it), and `signature` puts a detached file in its place. Files are written to a temporary folder
 * beside `dest` that is renamed into place at the end; on failure it is removed and `dest` is untouched.
 */
export async function unpackArchive(archive: string, dest: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const limits = resolveLimits(opts.limits);
  const verify = opts.verify ?? true;
  const target = path.resolve(dest);
  opts.signal?.throwIfAborted();
  if (!opts.force && (await isOccupied(target))) {
    throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${dest} exists and is not empty (use --force to replace it)`, { path: target });
  }

  const detached = opts.signature === undefined ? undefined : await readSignatureFile(opts.signature);
  const keepSignatures = (opts.keepSignatures ?? false) && detached === undefined;

  const reader = await openArchive(archive, { limits });
  let tmp: string | undefined;
  let hashThread: HashThread | undefined;
  try {
    const problems = checkArchive(reader, limits);
    if (problems.length > 0) throw problems[0];

    const files = reader.entries.filter((e) => e.type === "file");
    const provenanceEntry = files.find((e) => e.name === PROVENANCE_PATH);
    let provenance: Provenance | undefined;
    if (provenanceEntry) {
      const record = await reader.readEntry(PROVENANCE_PATH, MAX_PROVENANCE_BYTES);
      // Without verification a malformed record is simply not reported (and the digest is computed from the files).
      provenance = verify ? parseProvenance(record) : tryParse(record);
    }
    const expected = provenance && verify ? expectedFiles(provenance, files) : undefined;
    // A verified record already says what the files add up to (or extraction fails): a wrong expectation is refused
    // before anything is written.
    if (expected && opts.expectDigest !== undefined) checkExpectedDigest(provenance!.artifactDigest, opts.expectDigest);

    await mkdir(path.dirname(target), { recursive: true });
    tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
    await mkdir(tmp);
    await createFolders(tmp, reader.entries);

    const total = files.reduce((n, e) => n + e.size, 0);
    // Enough large entries that hashing them would hold the main thread back: hash them on a worker thread.
    const streamed = files.reduce((n, e) => (e.size > SMALL_ENTRY || e.compressedSize > SMALL_ENTRY ? n + e.size : n), 0);
    hashThread = reader.format === "zip" && streamed >= THREAD_HASH_MIN ? startHashThread() : undefined;
    let done = 0;
    let inflated = 0;
    const digests: FileDigest[] = [];
    const root = tmp;

    await reader.forEachFile(
      async (entry, content) => {
        checkEntryName(entry.name);
        // Unless kept, the signatures stay with the archive: they are not content, and a served copy holds only what is checked.
        const isSignature = entry.name === SIGNATURE_PATH;
        if (isSignature && !keepSignatures) return eachChunk(content, () => {});
        const out = path.resolve(root, entry.name);
        if (!out.startsWith(root + path.sep))
          throw new OmafError("OMAF_ERR_UNSAFE_TRAVERSAL", `archive entry "${entry.name}" escapes the target`, { entry: entry.name });
        const meter = new EntryMeter(
          entry,
          (n) => {
            inflated += n;
            done += n;
            if (inflated > limits.maxTotalBytes) {
              throw new OmafError("OMAF_ERR_TOO_LARGE", `the archive inflates to more than ${limits.maxTotalBytes} bytes`, { limit: limits.maxTotalBytes });
            }
            opts.onProgress?.(done, total);
          },
          limits.maxEntryBytes,
          (!expected || isSignature) && entry.crc32 !== undefined,
        );
        const mode = entry.mode !== undefined && entry.mode & 0o111 ? 0o755 : 0o644;
        try {
          if (Buffer.isBuffer(content)) {
            meter.meter(content);
            meter.finish();
            // Small files: one synchronous write beats three thread-pool round trips (open, write, close).
            if (content.length <= SYNC_WRITE) writeFileSync(out, content, { flag: "wx", mode });
            else await writeFile(out, content, { flag: "wx", mode });
          } else if (isChunks(content)) {
            // Large ZIP entries: each chunk is metered and hashed as it arrives and written at its offset, several
            // writes in flight; the reader reuses a chunk's memory once its write is done.
            const handle = await open(out, "wx", mode);
            const hash = hashThread?.hash();
            try {
              let position = 0;
              await content.pipeTo((chunk) => {
                opts.signal?.throwIfAborted();
                if (hash) meter.count(chunk);
                else meter.meter(chunk);
                const at = position;
                position += chunk.length;
                const written = writeFully(handle, chunk, at);
                return hash ? Promise.all([written, hash.update(chunk)]).then(() => {}) : written;
              });
              meter.finish(await hash?.digest());
            } catch (err) {
              hash?.drop();
              throw err;
            } finally {
              await handle.close();
            }
          } else {
            await pipeline(content, meter, createWriteStream(out, { flags: "wx", mode, highWaterMark: 1024 * 1024 }));
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") {
            // Only possible on a case-insensitive file system: two names differ in case only.
            throw new OmafError("OMAF_ERR_DUPLICATE_ENTRY", `archive entry "${entry.name}" collides with another entry on this file system`, {
              entry: entry.name,
            });
          }
          throw err;
        }
        meter.assertComplete();
        const digest: FileDigest = { path: entry.name, size: meter.size, sha256: meter.sha256 };
        const want = expected?.get(entry.name);
        if (want && (want.size !== digest.size || want.sha256 !== digest.sha256)) {
          throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `"${entry.name}" does not match the provenance record`, {
            entry: entry.name,
            expected: { size: want.size, sha256: want.sha256 },
            actual: { size: digest.size, sha256: digest.sha256 },
          });
        }
        if (!isMetadataPath(entry.name)) digests.push(digest);
      },
      { concurrency: reader.format === "zip" ? (opts.concurrency ?? 4) : 1, signal: opts.signal },
    );
    opts.signal?.throwIfAborted();

    const sorted = canonicalOrder(digests);
    const computed = contentDigest(sorted);
    if (expected && provenance && computed !== provenance.artifactDigest) {
      // Unreachable when every file matched; kept as the final word on what is being installed.
      throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `extracted files do not add up to ${provenance.artifactDigest}`, { computed });
    }
    if (opts.expectDigest !== undefined) checkExpectedDigest(computed, opts.expectDigest);
    if (detached) {
      await mkdir(path.join(tmp, path.dirname(SIGNATURE_PATH)), { recursive: true });
      await writeFile(path.join(tmp, SIGNATURE_PATH), detached, { flag: "wx", mode: 0o644 });
    }
    const signed = detached !== undefined || (keepSignatures && files.some((e) => e.name === SIGNATURE_PATH));
    await moveIntoPlace(tmp, target, opts.force ?? false, dest);
    tmp = undefined;
    return {
      dest: target,
      files: sorted,
      artifactDigest: computed,
      ...(provenance ? { provenance } : {}),
      ...(signed ? { signatureFile: path.join(target, SIGNATURE_PATH) } : {}),
    };
  } catch (err) {
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    throw toOmafError(err, "OMAF_ERR_IO");
  } finally {
    await hashThread?.close();
    await reader.close();
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

/** OMAF_ERR_DIGEST_MISMATCH unless the files' digest is the one the caller expects (`--expect-digest`). */
function checkExpectedDigest(computed: string, expected: string): void {
  if (computed !== expected) {
    throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `the artifact's files add up to ${computed}, not the expected ${expected}`, { expected, computed });
  }
}

/** A hashing thread, or none where threads cannot start (every entry is then hashed on this thread). */
function startHashThread(): HashThread | undefined {
  try {
    return new HashThread();
  } catch {
    return undefined;
  }
}

function isChunks(content: EntryContent): content is EntryChunks {
  return typeof (content as Partial<EntryChunks>).pipeTo === "function";
}

/** Writes all of `chunk` at `position` (a short write continues where it stopped). */
async function writeFully(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let n = 0; n < chunk.length; ) n += (await handle.write(chunk, n, chunk.length - n, position + n)).bytesWritten;
}

function tryParse(record: Buffer): Provenance | undefined {
  try {
    return parseProvenance(record);
  } catch {
    return undefined;
  }
}

/** The provenance files by path, after checking they are exactly the archive's files (sizes as declared). */
function expectedFiles(provenance: Provenance, files: ArchiveEntry[]): Map<string, FileDigest> {
  const expected = new Map(provenance.files.map((f) => [f.path, f]));
  const present = new Set<string>();
  for (const e of files) {
    if (isMetadataPath(e.name)) continue;
    present.add(e.name);
    const want = expected.get(e.name);
    if (!want) throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `archive entry "${e.name}" is not in the provenance record`, { entry: e.name });
    if (want.size !== e.size) {
      throw new OmafError("OMAF_ERR_DIGEST_MISMATCH", `"${e.name}" is ${e.size} bytes; the provenance record says ${want.size}`, {
        entry: e.name,
        expected: { size: want.size },
        actual: { size: e.size },
      });
    }
  }
  const missing = provenance.files.filter((f) => !present.has(f.path)).map((f) => f.path);
  if (missing.length > 0) {
    throw new OmafError("OMAF_ERR_PROVENANCE_INVALID", `the provenance record lists files the archive lacks: ${missing.slice(0, 5).join(", ")}`, {
      missing,
    });
  }
  return expected;
}

/** Creates every folder the entries need, parents first. */
async function createFolders(root: string, entries: readonly ArchiveEntry[]): Promise<void> {
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.type === "directory" && e.name !== "") dirs.add(e.name);
    const slash = e.name.lastIndexOf("/");
    if (e.type === "file" && slash > 0) dirs.add(e.name.slice(0, slash));
  }
  // Deepest paths only: mkdir -p of a leaf creates its parents.
  const sorted = [...dirs].sort();
  const leaves = sorted.filter((d, i) => !(sorted[i + 1] ?? "").startsWith(d + "/"));
  for (const d of leaves) await mkdir(path.join(root, d), { recursive: true });
}

/** True when `target` exists and is a file or a folder that is not empty. */
export async function isOccupied(target: string): Promise<boolean> {
  try {
    const s = await stat(target);
    if (!s.isDirectory()) return true;
    return (await readdir(target)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}

/**
 * Renames the finished folder to `target`; with `force` the old content is moved aside first, then deleted (and put
 * back when the rename fails), so a failure never leaves neither.
 */
export async function moveIntoPlace(tmp: string, target: string, force: boolean, shown: string): Promise<void> {
  try {
    // rename(2) replaces a missing target or an empty folder, and fails on a non-empty one.
    await rename(tmp, target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!["ENOTEMPTY", "EEXIST", "ENOTDIR", "EISDIR"].includes(code ?? "")) throw err;
    if (!force) throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${shown} exists and is not empty (use --force to replace it)`, { path: target });
  }
  const old = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.old`);
  await rename(target, old);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rename(old, target).catch(() => {});
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Counts, hashes and (for ZIP without provenance) CRC-checks an entry's bytes on their way to disk, and stops an
 * entry that inflates past its declared size or the per-entry limit.
 */
class EntryMeter extends Transform {
  private readonly hash = createHash("sha256");
  private crc = 0;
  size = 0;
  sha256 = "";

  constructor(
    private readonly entry: ArchiveEntry,
    private readonly onBytes: (n: number) => void,
    private readonly maxEntryBytes: number | undefined,
    private readonly checkCrc: boolean,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** Counts, limits, hashes and CRCs one chunk; throws on a limit. */
  meter(chunk: Buffer): void {
    this.count(chunk);
    this.hash.update(chunk);
  }

  /** {@link meter} without the hash, for a chunk hashed elsewhere (see `HashThread`). */
  count(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.entry.size) {
      throw new OmafError("OMAF_ERR_TOO_LARGE", `entry "${this.entry.name}" inflates to more bytes than it declares (${this.entry.size})`, {
        entry: this.entry.name,
        declared: this.entry.size,
      });
    }
    if (this.maxEntryBytes !== undefined && this.size > this.maxEntryBytes) {
      throw new OmafError("OMAF_ERR_TOO_LARGE", `entry "${this.entry.name}" is larger than ${this.maxEntryBytes} bytes`, {
        entry: this.entry.name,
        limit: this.maxEntryBytes,
      });
    }
    this.onBytes(chunk.length);
    if (this.checkCrc) this.crc = crc32(chunk, this.crc);
  }

  /** Ends the entry; `sha256` is the digest computed elsewhere when its chunks went through {@link count}. */
  finish(sha256?: string): void {
    this.sha256 = sha256 ?? this.hash.digest("hex");
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    try {
      this.meter(chunk);
      cb(null, chunk);
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: (err?: Error | null) => void): void {
    this.finish();
    cb();
  }

  /** Throws when fewer bytes arrived than declared, or the CRC-32 differs. */
  assertComplete(): void {
    if (this.size !== this.entry.size) {
      throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `entry "${this.entry.name}" has ${this.size} bytes but declares ${this.entry.size}`, {
        entry: this.entry.name,
      });
    }
    if (this.checkCrc && this.crc >>> 0 !== this.entry.crc32! >>> 0) {
      throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `entry "${this.entry.name}" fails its CRC-32 check (corrupt data)`, { entry: this.entry.name });
    }
  }
}
