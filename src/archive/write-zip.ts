// Writes a folder's files as a Deflate ZIP (ZIP64 when needed) with the provenance record as the last entry.
// One pass over each file: it is hashed (SHA-256 and CRC-32) on its way into the deflater. Memory stays bounded: small
// files are read and deflated ahead into a fixed budget, large ones go through a window of blocks.
//
// The ZIP records are written here (zip-records.ts) rather than by archiver: archiver deflates each entry as one
// stream on one thread and computes CRC-32 in JavaScript, which left the second core idle on folders of a few large
// compressible files — packing such a folder took as long as `zip -6`. Deflating large files in blocks
// (block-deflate.ts) and small ones ahead of the writer keeps both cores busy (bench/RESULTS.md, `## pack`).
import fs from "node:fs";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { OmafError, toOmafError } from "../errors.js";
import type { FolderFile } from "./folder.js";
import { normaliseEntryName } from "./entry-name.js";
import { copyFileData } from "./block-deflate.js";
import { crc32 } from "./crc32.js";
import { PROVENANCE_PATH, buildProvenance, isMetadataPath, canonicalOrder, serializeProvenance, type FileDigest, type Provenance } from "./provenance.js";
import {
  METHOD_DEFLATED,
  METHOD_STORED,
  centralRecord,
  dataDescriptor,
  dosDateTime,
  endRecords,
  localHeader,
  needsZip64Local,
  type ZipRecord,
} from "./zip-records.js";

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
   * which saves most of the time spent on random or already-compressed data, and small files that deflate to no
   * fewer bytes are stored. `never`: deflate every file.
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

/** DOS time has no zone; the UTC fields of this date are encoded, so the bytes do not depend on TZ. */
const FIXED_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
/** Files up to this size are read whole (ahead of time, in parallel), deflated in one call and written as buffers. */
const SMALL_FILE = 1024 * 1024;
/** Bytes of small files read ahead of the writer. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
const READ_AHEAD_FILES = 16;
/** Output is gathered into writes of about this size. */
const WRITE_CHUNK = 1024 * 1024;
const SYNC_READ = 64 * 1024;
/** Up to this size a small file is deflated on the main thread (cheaper than a thread-pool round trip). */
const SYNC_DEFLATE = 16 * 1024;
/** Incompressibility test: files at least this large are sampled; stored when the samples shrink by less than 3 %. */
const SAMPLE_MIN_FILE = 64 * 1024;
const STORE_THRESHOLD = 0.97;

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;
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
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new OmafError("OMAF_ERR_USAGE", `compression level must be 0–9, got ${level}`);
  const auto = (opts.storeIncompressible ?? "auto") === "auto";
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
  let out: Output | undefined;
  const reader = new ReadAhead(files, level, auto);

  try {
    fd = await openFd(tmp, "wx").catch((err: unknown) => {
      throw toOmafError(err, "OMAF_ERR_IO");
    });
    out = new Output(fd);
    const zip = out;
    const total = files.reduce((n, f) => n + f.size, 0);
    let done = 0;
    const progress = (n: number) => {
      done += n;
      opts.onProgress?.(done, total);
    };
    const digests: FileDigest[] = [];
    const records: ZipRecord[] = [];

    for (let i = 0; i < files.length; i++) {
      opts.signal?.throwIfAborted();
      const file = files[i];
      const prepared = await reader.take(i);
      const dosTime = dosDateTime(deterministic ? FIXED_DATE : new Date(file.mtimeMs));
      const base = { name: Buffer.from(file.path), dosTime, mode: normalisedMode(file.mode), offset: zip.position };
      if (prepared.data) {
        const record: ZipRecord = { ...base, ...prepared.entry!, descriptor: false, zip64Local: false };
        await zip.write(localHeader(record));
        await zip.write(prepared.data);
        records.push(record);
        digests.push({ path: file.path, size: record.size, sha256: prepared.sha256! });
        progress(record.size);
      } else {
        // Streamed: CRC and sizes are known only at the end and follow the data in a descriptor.
        const record: ZipRecord = {
          ...base,
          method: prepared.store ? METHOD_STORED : METHOD_DEFLATED,
          crc32: 0,
          compressedSize: 0,
          size: 0,
          descriptor: true,
          zip64Local: needsZip64Local(file.size),
        };
        await zip.write(localHeader(record));
        const hash = createHash("sha256");
        let crc = 0;
        const copied = await copyFileData(file.absPath, {
          level: prepared.store ? undefined : level,
          onData: (chunk) => {
            hash.update(chunk);
            crc = crc32(chunk, crc);
            progress(chunk.length);
          },
          write: (chunk) => zip.write(chunk),
          signal: opts.signal,
        });
        Object.assign(record, { crc32: crc >>> 0, size: copied.size, compressedSize: copied.compressedSize });
        await zip.write(dataDescriptor(record));
        records.push(record);
        digests.push({ path: file.path, size: copied.size, sha256: hash.digest("hex") });
      }
    }

    const provenance = buildProvenance(digests, {
      packerVersion: opts.provenance.packerVersion,
      toolchain: opts.provenance.toolchain,
      model: opts.provenance.model,
      createdAt: deterministic ? undefined : new Date(),
    });
    const record = serializeProvenance(provenance);
    const packed = packSmall(record, level, auto, zlib.deflateRawSync(record, { level: level || 6 }));
    const recordEntry: ZipRecord = {
      name: Buffer.from(PROVENANCE_PATH),
      dosTime: dosDateTime(deterministic ? FIXED_DATE : new Date()),
      mode: 0o644,
      offset: zip.position,
      ...packed.entry,
      descriptor: false,
      zip64Local: false,
    };
    await zip.write(localHeader(recordEntry));
    await zip.write(packed.data);
    records.push(recordEntry);

    const directoryOffset = zip.position;
    for (const r of records) await zip.write(centralRecord(r));
    await zip.write(endRecords(records.length, directoryOffset, zip.position - directoryOffset));
    await zip.end();
    opts.signal?.throwIfAborted();
    await fsyncFd(fd);
    await closeFd(fd);
    fd = undefined;
    const bytes = zip.position;
    await moveIntoPlace(tmp, output, opts.force ?? false, opts.output);
    return { output, artifactDigest: provenance.artifactDigest, files: provenance.files, bytes };
  } catch (err) {
    reader.cancel();
    // Wait for a write in flight to finish before the descriptor is closed (and its number reused).
    await out?.settle();
    if (fd !== undefined) await closeFd(fd).catch(() => {});
    await unlink(tmp).catch(() => {});
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}

/** Rejects names that a ZIP writer or reader would change or that cannot be represented. */
function checkPackableName(name: string): void {
  // Extractors strip or refuse a leading "word:" prefix (a drive letter to them) and leading "../" or "/"; refuse a
  // name that would be read as another rather than write it. Names must also be in the normal form readers produce, or a round trip would not give the same paths.
  if (name === "" || /^\w+:/.test(name) || normaliseEntryName(name) !== name || name.split("/").includes("..") || /[\\\r\n\0]/.test(name)) {
    throw new OmafError("OMAF_ERR_USAGE", `cannot store ${JSON.stringify(name)} in an archive`, { path: name });
  }
  if (isMetadataPath(name)) {
    throw new OmafError("OMAF_ERR_USAGE", `${name} is reserved for omaf's own metadata (the provenance record, the signatures)`, { path: name });
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

/**
 * The zip file, written in order: pieces are gathered into writes of about {@link WRITE_CHUNK} and one write is in
 * flight while the next is gathered. `position` counts every byte handed over, so it is the offset of the next one.
 */
class Output {
  position = 0;
  private parts: Buffer[] = [];
  private gathered = 0;
  private written = 0;
  private inflight: Promise<void> = Promise.resolve();

  constructor(private readonly fd: number) {}

  /** Takes `chunk`; waits only when a full write has to wait for the one before it. */
  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.parts.push(chunk);
    this.gathered += chunk.length;
    this.position += chunk.length;
    if (this.gathered >= WRITE_CHUNK) await this.flush();
  }

  /** Writes what is gathered and waits for every write. */
  async end(): Promise<void> {
    await this.flush();
    await this.inflight;
  }

  /** Waits for the write in flight, whatever its outcome. */
  async settle(): Promise<void> {
    await this.inflight.catch(() => {});
  }

  private async flush(): Promise<void> {
    await this.inflight;
    if (this.gathered === 0) return;
    const parts = this.parts;
    const at = this.written;
    this.written += this.gathered;
    this.parts = [];
    this.gathered = 0;
    const writing = writeAll(this.fd, parts, at);
    writing.catch(() => {}); // awaited by the next flush or end; must not count as unhandled meanwhile
    this.inflight = writing;
  }
}

const writev = promisify(fs.writev);

/** Writes `parts` at `position`, in as many calls as a short write or the system's vector limit takes. */
async function writeAll(fd: number, parts: Buffer[], position: number): Promise<void> {
  let queue = parts;
  while (queue.length > 0) {
    let { bytesWritten: n } = await writev(fd, queue.slice(0, 512), position);
    position += n;
    let i = 0;
    while (i < queue.length && n >= queue[i].length) n -= queue[i++].length;
    queue = queue.slice(i);
    if (n > 0) queue[0] = queue[0].subarray(n); // a short write ended inside this part
  }
}

interface Prepared {
  /** A small file's entry data (deflated or stored) with its method, CRC and sizes; absent for files that stream. */
  data?: Buffer;
  entry?: Pick<ZipRecord, "method" | "crc32" | "size" | "compressedSize">;
  sha256?: string;
  /** A streamed file is stored instead of deflated. */
  store: boolean;
}

/**
 * Prepares files ahead of the writer: reads small files whole, hashes and deflates them (on the thread pool, several
 * at once), and samples large ones for the store-or-deflate decision, within a bounded memory budget.
 */
class ReadAhead {
  private readonly pending = new Map<number, Promise<Prepared>>();
  private next = 0;
  private budget = 0;
  private cancelled = false;

  constructor(
    private readonly files: FolderFile[],
    private readonly level: number,
    /** Store what does not compress (see `storeIncompressible`). */
    private readonly auto: boolean,
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
    const sampling = this.auto && this.level > 0;
    if (file.size <= SMALL_FILE) {
      const buffer = await readWhole(file.absPath, file.size);
      const sha256 = createHash("sha256").update(buffer).digest("hex");
      const store =
        this.level === 0 || buffer.length === 0 || (sampling && buffer.length >= SAMPLE_MIN_FILE && (await incompressible(sampleOf(buffer, 8 * 1024))));
      const deflated = store
        ? undefined
        : buffer.length <= SYNC_DEFLATE
          ? zlib.deflateRawSync(buffer, { level: this.level })
          : await deflateRaw(buffer, { level: this.level });
      return { ...packSmall(buffer, this.level, this.auto, deflated), sha256, store };
    }
    if (!sampling) return { store: this.level === 0 };
    return { store: await incompressible(await readSamples(file.absPath, file.size, 64 * 1024)) };
  }
}

/**
 * A small entry's data: `deflated` when given, unless `auto` and it saves nothing (then, like Info-ZIP, the bytes
 * are stored); the content itself when stored.
 */
function packSmall(content: Buffer, level: number, auto: boolean, deflated: Buffer | undefined): { data: Buffer; entry: NonNullable<Prepared["entry"]> } {
  const crc = crc32(content, 0) >>> 0;
  if (deflated && level > 0 && !(auto && deflated.length >= content.length)) {
    return { data: deflated, entry: { method: METHOD_DEFLATED, crc32: crc, size: content.length, compressedSize: deflated.length } };
  }
  return { data: content, entry: { method: METHOD_STORED, crc32: crc, size: content.length, compressedSize: content.length } };
}

function cost(file: FolderFile): number {
  return file.size <= SMALL_FILE ? file.size : 192 * 1024;
}

/** Whole content of a small file; the tiniest are read synchronously (cheaper than four thread-pool round trips). */
async function readWhole(p: string, size: number): Promise<Buffer> {
  if (size <= SYNC_READ) return fs.readFileSync(p);
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
