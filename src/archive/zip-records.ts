// The records of a ZIP file as omaf writes them (APPNOTE 6.3.x): local headers, data descriptors, the central
// directory and its end records, ZIP64 where a size, an offset or the entry count needs it. Pure encoding, no I/O.

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const MAGIC32 = 0xffffffff;
const MAGIC16 = 0xffff;
const ZIP64_EXTRA = 0x0001;
/** "Version made by": Unix (3) in the high byte, ZIP specification 4.5 in the low one. */
const MADE_BY = (3 << 8) | 45;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const S_IFREG = 0o100000;
const DOS_ARCHIVE = 0x20;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

export interface ZipRecord {
  /** The entry name as written (UTF-8). */
  name: Buffer;
  method: typeof METHOD_STORED | typeof METHOD_DEFLATED;
  /** DOS date (high 16 bits) and time (low 16 bits), see {@link dosDateTime}. */
  dosTime: number;
  /** Unix permission bits (0644 or 0755); stored with the regular-file type. */
  mode: number;
  /** Offset of the local header in the zip. */
  offset: number;
  /** CRC-32, sizes: known before the data for entries without a descriptor, after it for the others. */
  crc32: number;
  compressedSize: number;
  size: number;
  /** CRC and sizes follow the data in a data descriptor (general-purpose bit 3). */
  descriptor: boolean;
  /** The local header carries a ZIP64 extra field and the descriptor 8-byte sizes (entries that may reach 4 GiB). */
  zip64Local: boolean;
}

/** Sizes this close to 4 GiB get ZIP64 fields up front: a deflated entry may come out slightly larger than its input. */
export function needsZip64Local(size: number): boolean {
  return size + Math.ceil(size / 1000) + 1024 >= MAGIC32;
}

/** The DOS date and time of `d`'s UTC fields (DOS time has no zone); before 1980 gives 1980-01-01 00:00:00. */
export function dosDateTime(d: Date): number {
  const year = d.getUTCFullYear();
  if (year < 1980) return (1 << 16) | (1 << 21);
  if (year > 2107) return dosDateTime(new Date(Date.UTC(2107, 11, 31, 23, 59, 58)));
  const date = ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  return ((date << 16) | time) >>> 0;
}

function flags(r: ZipRecord): number {
  // Bit 11 says the name is UTF-8; pure ASCII names need no flag.
  return (r.descriptor ? FLAG_DESCRIPTOR : 0) | (nonAscii(r.name) ? FLAG_UTF8 : 0);
}

function nonAscii(name: Buffer): boolean {
  for (const b of name) if (b > 0x7f) return true;
  return false;
}

function versionNeeded(r: ZipRecord, zip64: boolean): number {
  if (zip64) return 45;
  return r.method === METHOD_DEFLATED || r.descriptor ? 20 : 10;
}

export function localHeader(r: ZipRecord): Buffer {
  const extra = r.zip64Local ? 20 : 0;
  const b = Buffer.alloc(30 + r.name.length + extra);
  b.writeUInt32LE(SIG_LOCAL, 0);
  b.writeUInt16LE(versionNeeded(r, r.zip64Local), 4);
  b.writeUInt16LE(flags(r), 6);
  b.writeUInt16LE(r.method, 8);
  b.writeUInt32LE(r.dosTime, 10);
  if (r.zip64Local) {
    // Sizes in the extra field (zero: they follow in the descriptor); the 32-bit fields point there.
    b.writeUInt32LE(MAGIC32, 18);
    b.writeUInt32LE(MAGIC32, 22);
  } else if (!r.descriptor) {
    b.writeUInt32LE(r.crc32 >>> 0, 14);
    b.writeUInt32LE(r.compressedSize, 18);
    b.writeUInt32LE(r.size, 22);
  }
  b.writeUInt16LE(r.name.length, 26);
  b.writeUInt16LE(extra, 28);
  r.name.copy(b, 30);
  if (r.zip64Local) {
    const o = 30 + r.name.length;
    b.writeUInt16LE(ZIP64_EXTRA, o);
    b.writeUInt16LE(16, o + 2);
    if (!r.descriptor) {
      b.writeBigUInt64LE(BigInt(r.size), o + 4);
      b.writeBigUInt64LE(BigInt(r.compressedSize), o + 12);
    }
  }
  return b;
}

/** The data descriptor after an entry's data: signature, CRC-32 and sizes (8 bytes each with ZIP64). */
export function dataDescriptor(r: ZipRecord): Buffer {
  if (!r.zip64Local && (r.size >= MAGIC32 || r.compressedSize >= MAGIC32)) {
    throw new Error(`entry ${r.name.toString()} grew past 4 GiB while it was written`);
  }
  const b = Buffer.alloc(r.zip64Local ? 24 : 16);
  b.writeUInt32LE(SIG_DESCRIPTOR, 0);
  b.writeUInt32LE(r.crc32 >>> 0, 4);
  if (r.zip64Local) {
    b.writeBigUInt64LE(BigInt(r.compressedSize), 8);
    b.writeBigUInt64LE(BigInt(r.size), 16);
  } else {
    b.writeUInt32LE(r.compressedSize, 8);
    b.writeUInt32LE(r.size, 12);
  }
  return b;
}

export function centralRecord(r: ZipRecord): Buffer {
  // When any of the three does not fit, all three move to the ZIP64 extra field (in its fixed order).
  const zip64 = r.size >= MAGIC32 || r.compressedSize >= MAGIC32 || r.offset >= MAGIC32;
  const extra = zip64 ? 28 : 0;
  const b = Buffer.alloc(46 + r.name.length + extra);
  b.writeUInt32LE(SIG_CENTRAL, 0);
  b.writeUInt16LE(MADE_BY, 4);
  b.writeUInt16LE(versionNeeded(r, zip64 || r.zip64Local), 6);
  b.writeUInt16LE(flags(r), 8);
  b.writeUInt16LE(r.method, 10);
  b.writeUInt32LE(r.dosTime, 12);
  b.writeUInt32LE(r.crc32 >>> 0, 16);
  b.writeUInt32LE(zip64 ? MAGIC32 : r.compressedSize, 20);
  b.writeUInt32LE(zip64 ? MAGIC32 : r.size, 24);
  b.writeUInt16LE(r.name.length, 28);
  b.writeUInt16LE(extra, 30);
  // comment length, disk number, internal attributes: 0
  b.writeUInt32LE((((S_IFREG | r.mode) << 16) | DOS_ARCHIVE) >>> 0, 38);
  b.writeUInt32LE(zip64 ? MAGIC32 : r.offset, 42);
  r.name.copy(b, 46);
  if (zip64) {
    const o = 46 + r.name.length;
    b.writeUInt16LE(ZIP64_EXTRA, o);
    b.writeUInt16LE(24, o + 2);
    b.writeBigUInt64LE(BigInt(r.size), o + 4);
    b.writeBigUInt64LE(BigInt(r.compressedSize), o + 12);
    b.writeBigUInt64LE(BigInt(r.offset), o + 20);
  }
  return b;
}

/**
 * The end of central directory record, preceded by the ZIP64 end record and its locator when the entry count, the
 * directory's size or its offset does not fit the classic fields.
 */
export function endRecords(entries: number, directoryOffset: number, directorySize: number): Buffer {
  const zip64 = entries >= MAGIC16 || directoryOffset >= MAGIC32 || directorySize >= MAGIC32;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(zip64 ? MAGIC16 : entries, 8);
  end.writeUInt16LE(zip64 ? MAGIC16 : entries, 10);
  end.writeUInt32LE(zip64 ? MAGIC32 : directorySize, 12);
  end.writeUInt32LE(zip64 ? MAGIC32 : directoryOffset, 16);
  if (!zip64) return end;
  const z = Buffer.alloc(56 + 20);
  z.writeUInt32LE(SIG_ZIP64_END, 0);
  z.writeBigUInt64LE(44n, 4); // size of the rest of this record
  z.writeUInt16LE(MADE_BY, 12);
  z.writeUInt16LE(45, 14);
  // disk numbers: 0
  z.writeBigUInt64LE(BigInt(entries), 24);
  z.writeBigUInt64LE(BigInt(entries), 32);
  z.writeBigUInt64LE(BigInt(directorySize), 40);
  z.writeBigUInt64LE(BigInt(directoryOffset), 48);
  z.writeUInt32LE(SIG_ZIP64_LOCATOR, 56);
  // disk of the ZIP64 end record: 0
  z.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 64);
  z.writeUInt32LE(1, 72); // total number of disks
  return Buffer.concat([z, end]);
}
