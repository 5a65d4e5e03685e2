// Writes a folder's files as a Deflate ZIP (ZIP64 when needed) with the provenance record as the last entry.
// One pass over each file: it is hashed (SHA-256) on its way into the deflater. Memory stays bounded: small files
// are read ahead into a fixed budget, large ones stream.
import fs, { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { ZipArchive } from "archiver";
import { OmafError, toOmafError } from "../errors.js";
import type { FolderFile } from "./folder.js";
import { normaliseEntryName } from "./entry-name.js";
import { Interrupt } from "./stream-util.js";
import { PROVENANCE_PATH, buildProvenance, canonicalOrder, serializeProvenance, type FileDigest, type Provenance } from "./provenance.js";

export interface WriteZipOptions {
  /** The folder `files` were listed from. */
  dir: string;
  /** The files to store, as {@link listFolder} returns them. They are written in byte order of `path`. */
  files: FolderFile[];
  /** Path of the zip to write. */
  output: string;
  /** Replace an existing output file. */
  force?: boolean;
  /** Same folder → byte-identical zip: fixed dates (1980-01-01 00:00:00), fixed modes, no `createdAt`. Default true. */
  deterministic?: boolean;
  /** Deflate level 0–9; default 6 (as `zip -6`). 0 stores everything. */
  level?: number;
  /**
   * `auto` (default): files of at least 64 KiB whose samples deflate by less than 3 % are stored instead of deflated,
   * which saves most of the time spent on random or already-compressed data. `never`: deflate every file.
   */
  storeIncompressible?: "auto" | "never";
  provenance: { packerVersion: string; toolchain?: Provenance["toolchain"]; model?: Provenance["model"] };
  /** Called as content goes in: bytes done and bytes in total. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the work and removes the partial output; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface WriteZipResult {
  output: string;
  /** `sha256:<hex>` over the file list (see `contentDigest`). */
  artifactDigest: string;
  /** Every stored file with size and SHA-256, sorted by path. */
  files: FileDigest[];
  /** Size of the zip in bytes. */
  bytes: number;
}

/** DOS time has no zone; zip-stream encodes the UTC fields of this date, so the bytes do not depend on TZ. */
const FIXED_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
/** Files up to this size are read whole (ahead of time, in parallel) and appended as buffers. */
const SMALL_FILE = 1024 * 1024;
/** Bytes of small files read ahead of the deflater. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
const READ_AHEAD_FILES = 16;
const STREAM_CHUNK = 1024 * 1024;
const SYNC_READ = 64 * 1024;
/** Incompressibility test: files at least this large are sampled; stored when the samples shrink by less than 3 %. */
const SAMPLE_MIN_FILE = 64 * 1024;
const STORE_THRESHOLD = 0.97;

const deflateRaw = promisify(zlib.deflateRaw);
const openFd = promisify(fs.open);
const fsyncFd = promisify(fs.fsync);
const closeFd = promisify(fs.close);

/** Unix mode stored for a file: 0755 when any execute bit is set, 0644 otherwise. */
export function normalisedMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

/**
 * Writes `files` (read from `dir`) into a ZIP at `output`, then the provenance record as the last entry
 * (`.omaf/provenance.json`). The zip is written to a temporary file beside `output`, synced and renamed into place;
 * on any error or abort the temporary file is removed and `output` is left as it was.
 */
export async function writeZip(opts: WriteZipOptions): Promise<WriteZipResult> {
  const output = path.resolve(opts.output);
  const deterministic = opts.deterministic ?? true;
  const level = opts.level ?? 6;
  const sampling = (opts.storeIncompressible ?? "auto") === "auto" && level > 0;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new OmafError("OMAF_ERR_USAGE", `compression level must be 0–9, got ${level}`);
  opts.signal?.throwIfAborted();

  const files = canonicalOrder(opts.files);
  files.forEach((f, i) => {
    checkPackableName(f.path);
    if (i > 0 && files[i - 1].path === f.path) throw new OmafError("OMAF_ERR_USAGE", `${f.path} is listed twice`, { path: f.path });
  });
  if (!opts.force && (await exists(output))) {
    throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${opts.output} already exists (use --force to replace it)`, { path: output });
  }

  const tmp = path.join(path.dirname(output), `.${path.basename(output)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  let archive: ZipArchive | undefined;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let current: Readable | undefined;
  const reader = new ReadAhead(files, sampling);
  const interrupt = new Interrupt();
  const fail = (err: unknown) => interrupt.trigger(err);
  const onAbort = () => fail(opts.signal?.reason ?? new Error("aborted"));

  try {
    fd = await openFd(tmp, "wx").catch((err: unknown) => {
      throw toOmafError(err, "OMAF_ERR_IO");
    });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    archive = new ZipArchive({ zlib: { level }, highWaterMark: STREAM_CHUNK, forceZip64: false });
    out = createWriteStream("", { fd, autoClose: false, highWaterMark: STREAM_CHUNK });
    archive.on("error", (err) => fail(err));
    archive.on("warning", (err) => fail(err));
    out.on("error", (err) => fail(err));
    // zip-stream writes every header field as its own tiny buffer; gathering them into large writes keeps the
    // write queue short (and the garbage young).
    const gather = new Coalesce(STREAM_CHUNK);
    gather.on("error", (err) => fail(err));
    archive.pipe(gather).pipe(out);
    const written = new Promise<void>((resolve) => out!.once("finish", resolve));

    const total = files.reduce((n, f) => n + f.size, 0);
    let done = 0;
    const progress = (n: number) => {
      done += n;
      opts.onProgress?.(done, total);
    };
    const digests: FileDigest[] = [];

    for (let i = 0; i < files.length; i++) {
      opts.signal?.throwIfAborted();
      const file = files[i];
      const prepared = await interrupt.wait(reader.take(i));
      const entry = {
        name: file.path,
        date: deterministic ? FIXED_DATE : new Date(file.mtimeMs),
        mode: normalisedMode(file.mode),
        store: prepared.store || level === 0,
      };
      const appended = nextEntry(archive);
      if (prepared.buffer) {
        archive.append(prepared.buffer, entry);
        await interrupt.wait(appended);
        digests.push({ path: file.path, size: prepared.buffer.length, sha256: prepared.sha256! });
        progress(prepared.buffer.length);
      } else {
        const hashing = new HashingStream(progress);
        const source = createReadStream(file.absPath, { highWaterMark: STREAM_CHUNK });
        current = source;
        // archiver re-pipes the source and would not see its errors: report them directly.
        source.on("error", (err) => fail(err));
        hashing.on("error", (err) => fail(err));
        source.pipe(hashing);
        archive.append(hashing, entry);
        await interrupt.wait(appended);
        current = undefined;
        digests.push({ path: file.path, size: hashing.size, sha256: hashing.hex() });
      }
    }

    const provenance = buildProvenance(digests, {
      packerVersion: opts.provenance.packerVersion,
      toolchain: opts.provenance.toolchain,
      model: opts.provenance.model,
      createdAt: deterministic ? undefined : new Date(),
    });
    archive.append(serializeProvenance(provenance), { name: PROVENANCE_PATH, date: deterministic ? FIXED_DATE : new Date(), mode: 0o644 });
    await interrupt.wait(archive.finalize());
    await interrupt.wait(written);
    opts.signal?.throwIfAborted();
    await fsyncFd(fd);
    await closeFd(fd);
    fd = undefined;
    const bytes = archive.pointer();
    await moveIntoPlace(tmp, output, opts.force ?? false, opts.output);
    return { output, artifactDigest: provenance.artifactDigest, files: provenance.files, bytes };
  } catch (err) {
    reader.cancel();
    current?.destroy();
    if (archive) {
      archive.unpipe();
      archive.abort();
    }
    if (out && !out.closed) {
      // Wait for a write in flight to finish before the descriptor is closed (and its number reused).
      const closed = new Promise<void>((resolve) => out!.once("close", () => resolve()));
      out.destroy();
      await closed;
    }
    if (fd !== undefined) await closeFd(fd).catch(() => {});
    await unlink(tmp).catch(() => {});
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    throw toOmafError(err, "OMAF_ERR_IO");
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Rejects names that a ZIP writer or reader would change or that cannot be represented. */
function checkPackableName(name: string): void {
  // archiver strips a leading "word:" prefix and leading "../" or "/" from names; refuse rather than be renamed.
  // Names must also be in the normal form readers produce, or a round trip would not give the same paths.
  if (name === "" || /^\w+:/.test(name) || normaliseEntryName(name) !== name || name.split("/").includes("..") || /[\\\r\n\0]/.test(name)) {
    throw new OmafError("OMAF_ERR_USAGE", `cannot store ${JSON.stringify(name)} in an archive`, { path: name });
  }
  if (name === PROVENANCE_PATH) {
    throw new OmafError("OMAF_ERR_USAGE", `${PROVENANCE_PATH} is reserved for the provenance record`, { path: name });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return false;
      throw toOmafError(err, "OMAF_ERR_IO");
    },
  );
}

/** Renames the finished temporary file to `output`; without `force` it never replaces a file that appeared meanwhile. */
async function moveIntoPlace(tmp: string, output: string, force: boolean, shown: string): Promise<void> {
  if (force) {
    await rename(tmp, output);
    return;
  }
  try {
    // link() fails with EEXIST instead of replacing, which closes the gap between the first check and now.
    await link(tmp, output);
    await unlink(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${shown} already exists (use --force to replace it)`, { path: output });
    // File systems without hard links: fall back to check-then-rename.
    if (await exists(output)) throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${shown} already exists (use --force to replace it)`, { path: output });
    await rename(tmp, output);
  }
}

/** Resolves on the archive's next `entry` event (entries are processed one at a time, in order). */
function nextEntry(archive: ZipArchive): Promise<void> {
  return new Promise((resolve) => archive.once("entry", () => resolve()));
}

/** Joins small chunks into chunks of about `size` bytes; large chunks pass as they are. */
class Coalesce extends Transform {
  private parts: Buffer[] = [];
  private length = 0;
  constructor(private readonly size: number) {
    super({ highWaterMark: size });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length >= this.size / 4 && this.length === 0) {
      this.push(chunk);
    } else {
      this.parts.push(chunk);
      this.length += chunk.length;
      if (this.length >= this.size) this.drain();
    }
    cb();
  }
  override _flush(cb: (err?: Error | null) => void): void {
    this.drain();
    cb();
  }
  private drain(): void {
    if (this.length === 0) return;
    this.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.length));
    this.parts = [];
    this.length = 0;
  }
}

/** Passes bytes through unchanged while computing their SHA-256 and counting them. */
class HashingStream extends Transform {
  private readonly hash = createHash("sha256");
  size = 0;
  constructor(private readonly onBytes: (n: number) => void) {
    super({ highWaterMark: STREAM_CHUNK });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
  hex(): string {
    return this.hash.digest("hex");
  }
}

interface Prepared {
  /** Whole content of a small file (its SHA-256 already computed); absent for files that stream. */
  buffer?: Buffer;
  sha256?: string;
  /** Store instead of deflate. */
  store: boolean;
}

/**
 * Prepares files ahead of the (sequential) deflater: reads small files whole and hashes them, and samples large
 * ones for the store-or-deflate decision, within a bounded memory budget.
 */
class ReadAhead {
  private readonly pending = new Map<number, Promise<Prepared>>();
  private next = 0;
  private budget = 0;
  private cancelled = false;

  constructor(
    private readonly files: FolderFile[],
    private readonly sampling: boolean,
  ) {}

  take(i: number): Promise<Prepared> {
    this.fill(i);
    const p = this.pending.get(i)!;
    this.pending.delete(i);
    return p.then((prepared) => {
      this.budget -= cost(this.files[i]);
      this.fill(i + 1);
      return prepared;
    });
  }

  cancel(): void {
    this.cancelled = true;
    for (const p of this.pending.values()) p.catch(() => {});
    this.pending.clear();
  }

  private fill(from: number): void {
    if (this.next < from) this.next = from;
    while (
      !this.cancelled &&
      this.next < this.files.length &&
      (this.pending.size === 0 || (this.pending.size < READ_AHEAD_FILES && this.budget + cost(this.files[this.next]) <= READ_AHEAD_BYTES))
    ) {
      const i = this.next++;
      this.budget += cost(this.files[i]);
      const p = this.prepare(this.files[i]);
      p.catch(() => {});
      this.pending.set(i, p);
    }
  }

  private async prepare(file: FolderFile): Promise<Prepared> {
    if (file.size <= SMALL_FILE) {
      const buffer = await readWhole(file.absPath, file.size);
      const sha256 = createHash("sha256").update(buffer).digest("hex");
      const store = this.sampling && buffer.length >= SAMPLE_MIN_FILE && (await incompressible(sampleOf(buffer, 8 * 1024)));
      return { buffer, sha256, store };
    }
    if (!this.sampling) return { store: false };
    return { store: await incompressible(await readSamples(file.absPath, file.size, 64 * 1024)) };
  }
}

function cost(file: FolderFile): number {
  return file.size <= SMALL_FILE ? file.size : 192 * 1024;
}

/** Whole content of a small file; the tiniest are read synchronously (cheaper than four thread-pool round trips). */
async function readWhole(p: string, size: number): Promise<Buffer> {
  if (size <= SYNC_READ) return readFileSync(p);
  return readFile(p);
}

/** Start, middle and end slices of `n` bytes each. */
function sampleOf(buf: Buffer, n: number): Buffer[] {
  if (buf.length <= 3 * n) return [buf];
  const mid = Math.floor(buf.length / 2 - n / 2);
  return [buf.subarray(0, n), buf.subarray(mid, mid + n), buf.subarray(buf.length - n)];
}

async function readSamples(p: string, size: number, n: number): Promise<Buffer[]> {
  const h = await open(p, "r");
  try {
    const offsets = [0, Math.floor(size / 2 - n / 2), size - n];
    return await Promise.all(
      offsets.map(async (position) => {
        const b = Buffer.allocUnsafe(n);
        const { bytesRead } = await h.read(b, 0, n, position);
        return b.subarray(0, bytesRead);
      }),
    );
  } finally {
    await h.close();
  }
}

/** True when deflate (fast level) saves less than 3 % on the samples. */
async function incompressible(samples: Buffer[]): Promise<boolean> {
  let raw = 0;
  let packed = 0;
  for (const s of samples) {
    raw += s.length;
    packed += (await deflateRaw(s, { level: 1 })).length;
  }
  return raw > 0 && packed >= raw * STORE_THRESHOLD;
}
