// Test fixtures: a tiny ZIP *writer* that can lie (names, sizes, attributes), for archives no honest tool makes,
// and a few file-tree helpers. Only readers are under test; crafting the bytes by hand is the point here.
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

export interface CraftEntry {
  /** Stored name, exactly as given. */
  name: string;
  data?: Buffer;
  /** 0 stored, 8 deflate (default 8 for data, 0 for empty). */
  method?: 0 | 8;
  /** Already-compressed bytes to store as is (with `method` 8), e.g. a deflate stream built elsewhere. */
  compressed?: Buffer;
  /** Uncompressed size to declare (default: the real one). */
  declaredSize?: number;
  /** Unix mode incl. file type bits, put into the high 16 bits of the external attributes. */
  unixMode?: number;
  /** CRC-32 to declare (default: the real one). */
  crc?: number;
  /** Name written in the local header (default: `name`, as in the central directory). */
  localName?: string;
  /** General-purpose flags of both headers (default 0x0800, UTF-8 names); bit 3 announces a data descriptor. */
  flags?: number;
  /** Unlisted bytes written right after the entry's data: a data descriptor, or something hidden. */
  after?: Buffer;
  /** Write no local record: the central record points at the local header of the entry with this index instead. */
  sharesLocalOf?: number;
  /** Write no local record: the central record points at this byte offset of the file. */
  pointAt?: number;
}

/** Builds a ZIP file (no ZIP64) from entries, in order. */
export function craftZip(entries: CraftEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? (e.compressed || data.length > 0 ? 8 : 0);
    const body = e.compressed ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const name = Buffer.from(e.name, "utf8");
    const localName = Buffer.from(e.localName ?? e.name, "utf8");
    const crc = e.crc ?? zlib.crc32(data);
    const size = e.declaredSize ?? data.length;
    const mode = e.unixMode ?? (e.name.endsWith("/") ? 0o040755 : 0o100644);
    const flags = e.flags ?? 0x0800; // UTF-8 names
    const shared = e.pointAt ?? (e.sharesLocalOf !== undefined ? offsets[e.sharesLocalOf] : undefined);
    offsets.push(shared ?? offset);

    if (shared === undefined) {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(flags, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(0, 10); // time + date: 1980-00-00, fine for readers
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(localName.length, 26);
      local.writeUInt16LE(0, 28);
      const after = e.after ?? Buffer.alloc(0);
      locals.push(local, localName, body, after);
    }

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE(((mode & 0xffff) << 16) >>> 0, 38);
    central.writeUInt32LE(offsets[offsets.length - 1], 42);
    centrals.push(central, name);
    if (shared === undefined) offset += 30 + localName.length + body.length + (e.after?.length ?? 0);
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A raw deflate stream of `bytes` zero bytes, made without holding them all in memory. */
export async function deflatedZeros(bytes: number): Promise<Buffer> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on("data", (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => deflate.on("end", resolve).on("error", reject));
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!deflate.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((r) => deflate.once("drain", r));
  }
  deflate.end();
  await done;
  return Buffer.concat(out);
}

/** A fresh folder under the OS temp folder; remove it with `cleanup`. */
export async function tempDir(prefix = "omaf-archive-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Every file under `dir` (relative posix path → content), for comparing trees. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  async function walk(rel: string): Promise<void> {
    for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(r);
      else out.set(r, await readFile(path.join(dir, r)));
    }
  }
  await walk("");
  return out;
}

/** Names directly inside `dir` (to check that nothing was left beside a target). */
export async function listNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
