// Puts one small entry at the end of an existing ZIP while copying everything else byte for byte: the entries' local
// headers and data and their central-directory records stay as they were (their offsets do not move), only the new
// entry, its record and the end records are written. What signing needs: a signature must not disturb what it signs.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, open, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { OmafError, toOmafError } from "../errors.js";
import { crc32 } from "./crc32.js";
import { openArchive } from "./read.js";
import { checkArchive } from "./safety.js";
import { DEFAULT_UNPACK_LIMITS } from "./limits.js";
import { METHOD_DEFLATED, METHOD_STORED, centralRecord, dosDateTime, endRecords, localHeader, type ZipRecord } from "./zip-records.js";
import type { ZipReader } from "./zip-reader.js";

const SIG_CENTRAL = 0x02014b50;
/** The date omaf's deterministic zips give every entry (spec/provenance.md). */
const FIXED_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

/**
 * Writes `file` again with `content` as its last entry `name` (0644, the fixed date of deterministic zips, deflated
 * when that is smaller). An entry `name` already there is replaced; it must be the archive's last entry, as this
 * function leaves it. The archive must pass the checks unpacking makes (entries end to end, nothing hidden). The new
 * zip is written to a temporary file beside `file`, synced and renamed over it, with `file`'s permission bits;
 * on any error the temporary file is removed and `file` is untouched.
 */
export async function putLastEntry(file: string, name: string, content: Buffer): Promise<void> {
  const target = path.resolve(file);
  const reader = await openArchive(target);
  let cut: number;
  let kept: Buffer[];
  try {
    if (reader.format !== "zip") {
      throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file} is a gzip tar; only ZIP artifacts can take an entry in place`, { path: target });
    }
    const problems = checkArchive(reader, DEFAULT_UNPACK_LIMITS);
    if (problems.length > 0) throw problems[0];
    const { offset, records } = (reader as ZipReader).directory;
    if (offset === undefined) throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file}: the central directory cannot be located`, { path: target });
    const old = records.find((r) => r.name === name);
    const last = records.reduce((a, r) => Math.max(a, r.headerOffset), -1);
    if (old && old.headerOffset !== last) {
      throw new OmafError(
        "OMAF_ERR_ARCHIVE_FORMAT",
        `${file}: "${name}" is not the archive's last entry, so it cannot be replaced in place; pack the artifact again`,
        {
          path: target,
          entry: name,
        },
      );
    }
    cut = old ? old.headerOffset : offset;
    kept = await centralRecords(target, offset, records, old);
  } finally {
    await reader.close();
  }

  const deflated = zlib.deflateRawSync(content, { level: 6 });
  const stored = deflated.length >= content.length;
  const entry: ZipRecord = {
    name: Buffer.from(name, "utf8"),
    method: stored ? METHOD_STORED : METHOD_DEFLATED,
    dosTime: dosDateTime(FIXED_DATE),
    mode: 0o644,
    offset: cut,
    crc32: crc32(content, 0) >>> 0,
    compressedSize: stored ? content.length : deflated.length,
    size: content.length,
    descriptor: false,
    zip64Local: false,
  };
  const header = localHeader(entry);
  const directoryOffset = cut + header.length + entry.compressedSize;
  const directory = Buffer.concat([...kept, centralRecord(entry)]);
  const tail = Buffer.concat([header, stored ? content : deflated, directory, endRecords(kept.length + 1, directoryOffset, directory.length)]);

  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const { mode } = await stat(target);
    // A copy first (a clone or an in-kernel copy where the file system offers one), then the new end in place.
    await copyFile(target, tmp, constants.COPYFILE_EXCL);
    const handle = await open(tmp, "r+");
    try {
      await handle.truncate(cut);
      await handle.write(tail, 0, tail.length, cut);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, mode & 0o7777);
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}

/** The raw central-directory records of every entry but `drop`, in their order, each checked to start as one. */
async function centralRecords(file: string, offset: number, records: ZipReader["directory"]["records"], drop: { name: string } | undefined): Promise<Buffer[]> {
  const size = records.reduce((n, r) => n + r.recordBytes, 0);
  const bytes = Buffer.alloc(size);
  const handle = await open(file, "r");
  try {
    const { bytesRead } = await handle.read(bytes, 0, size, offset);
    if (bytesRead !== size) throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file}: the central directory is cut short`, { path: file });
  } finally {
    await handle.close();
  }
  const out: Buffer[] = [];
  let at = 0;
  for (const r of records) {
    const record = bytes.subarray(at, at + r.recordBytes);
    if (record.readUInt32LE(0) !== SIG_CENTRAL) {
      throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file}: the central directory record of "${r.name}" is not where expected`, { path: file });
    }
    if (r !== drop) out.push(record);
    at += r.recordBytes;
  }
  return out;
}
