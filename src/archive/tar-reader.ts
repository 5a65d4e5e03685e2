// gzip-compressed tar reading (what Odahu's operator wrote, often named *.zip), on top of the `tar` package.
// A tar has no index: listing scans the whole stream once, and reading an entry scans again (small entries are
// kept from the listing scan, which covers manifests and the provenance record).
import fs from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import zlib from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { OmafError, toOmafError } from "../errors.js";
import { normaliseEntryName } from "./entry-name.js";
import type { UnpackLimits } from "./limits.js";
import {
  DEFAULT_READ_ENTRY_MAX,
  type ArchiveEntry,
  type ArchiveEntryType,
  type ArchiveReader,
  type EntryContent,
  type ForEachFileOptions,
} from "./archive-types.js";
import { Interrupt, collect } from "./stream-util.js";

/** Entries up to this size are kept in memory by the listing scan, up to {@link CACHE_BUDGET} in total. */
const CACHE_ENTRY_MAX = 1024 * 1024;
const CACHE_BUDGET = 8 * 1024 * 1024;
/** Entries up to this size are handed to `forEachFile` handlers as buffers. */
const SMALL_ENTRY = 1024 * 1024;

function typeOf(t: string): ArchiveEntryType {
  switch (t) {
    case "File":
    case "OldFile":
    case "ContiguousFile":
      return "file";
    case "Directory":
      return "directory";
    case "SymbolicLink":
      return "symlink";
    case "Link":
      return "symlink";
    default:
      return "other";
  }
}

const STOP = Symbol("stop scanning");

interface EntryTools {
  /** The entry as a Node stream (destroyed if the scan fails). */
  adopt(entry: ReadEntry): Readable;
  /** The entry's whole content (rejects if the scan fails). */
  collect(entry: ReadEntry): Promise<Buffer>;
}

/**
 * Scans a gzip tar once, calling `onEntry` for each entry (after the root `./`) in order. `onEntry` must consume the
 * entry (pipe or resume it). Enforces the limits while scanning: entry count, declared total and entry sizes (from
 * the headers, before any content is inflated), and actual inflated bytes and the stream's compression ratio.
 * Throwing {@link STOP} from `onEntry` ends the scan early without an error. The tools turn an entry into a Node
 * stream or a buffer that fail if the scan fails, so that nothing waits forever on an entry that will not end.
 */
async function scanTarGz(
  file: string,
  limits: UnpackLimits,
  onEntry: (info: ArchiveEntry, entry: ReadEntry, tools: EntryTools) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const source = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  const gunzip = zlib.createGunzip();
  const parser = new Parser({ strict: true });
  const pending: Promise<void>[] = [];
  const active = new Set<PassThrough>();
  const adopt = (entry: ReadEntry): Readable => {
    const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
    active.add(stream);
    stream.on("close", () => active.delete(stream));
    entry.pipe(stream);
    return stream;
  };
  let compressed = 0;
  let inflated = 0;
  let count = 0;
  let declared = 0;

  const interrupt = new Interrupt();
  const tools: EntryTools = { adopt, collect: (entry) => interrupt.wait(entry.concat()) };
  let settle!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      if (err !== undefined) {
        source.unpipe();
        gunzip.unpipe();
        source.destroy();
        gunzip.destroy();
        parser.removeAllListeners("entry");
        parser.on("error", () => {});
        for (const stream of active) stream.destroy(err === STOP ? undefined : (err as Error));
        interrupt.trigger(err);
        Promise.allSettled(pending).then(() => (err === STOP ? resolve() : reject(err)));
      } else {
        Promise.all(pending).then(() => resolve(), reject);
      }
    };
  });
  const fail = (err: unknown) => settle(err);
  const onAbort = () => fail(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  source.on("data", (chunk) => {
    compressed += chunk.length;
  });
  source.on("error", (err) => fail(toOmafError(err, "OMAF_ERR_IO")));
  gunzip.on("data", (chunk: Buffer) => {
    inflated += chunk.length;
    if (inflated > limits.ratioFloorBytes && inflated / Math.max(compressed, 1) > limits.maxRatio) {
      fail(
        new OmafError("OMAF_ERR_COMPRESSION_RATIO", `${file} inflates more than ${limits.maxRatio}:1`, {
          path: file,
          inflated,
          compressed,
          limit: limits.maxRatio,
        }),
      );
    } else if (inflated > limits.maxTotalBytes + 1024 * (count + 2) + 1024 * 1024) {
      fail(new OmafError("OMAF_ERR_TOO_LARGE", `${file} inflates to more than ${limits.maxTotalBytes} bytes`, { path: file, limit: limits.maxTotalBytes }));
    }
  });
  gunzip.on("error", (err) => fail(new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file}: gzip data is corrupt (${err.message})`, { path: file }, { cause: err })));
  parser.on("error", (err: Error) =>
    fail(new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `${file}: not a valid tar archive (${err.message})`, { path: file }, { cause: err })),
  );
  parser.on("end", () => settle());
  parser.on("entry", (entry: ReadEntry) => {
    const rawName = entry.path;
    const name = normaliseEntryName(rawName);
    const type = typeOf(entry.type);
    if (name === "" && type === "directory") {
      entry.resume();
      return;
    }
    count++;
    declared += entry.size;
    const limitError =
      count > limits.maxEntries
        ? new OmafError("OMAF_ERR_TOO_MANY_ENTRIES", `${file} has more than ${limits.maxEntries} entries`, { path: file, limit: limits.maxEntries })
        : declared > limits.maxTotalBytes
          ? new OmafError("OMAF_ERR_TOO_LARGE", `${file} declares more than ${limits.maxTotalBytes} bytes`, { path: file, limit: limits.maxTotalBytes })
          : limits.maxEntryBytes !== undefined && entry.size > limits.maxEntryBytes
            ? new OmafError("OMAF_ERR_TOO_LARGE", `entry "${name}" is ${entry.size} bytes; the limit is ${limits.maxEntryBytes}`, {
                path: file,
                entry: name,
                limit: limits.maxEntryBytes,
              })
            : undefined;
    if (limitError) {
      entry.resume();
      fail(limitError);
      return;
    }
    const info: ArchiveEntry = {
      name,
      rawName,
      type,
      size: entry.size,
      compressedSize: entry.size,
      ...(entry.mode !== undefined ? { mode: entry.mode & 0o7777 } : {}),
      ...(type === "symlink" ? { linkKind: entry.type === "Link" ? ("hard" as const) : ("symbolic" as const) } : {}),
      ...(entry.linkpath ? { linkTarget: entry.linkpath } : {}),
    };
    try {
      const result = onEntry(info, entry, tools);
      if (result) {
        const p = result.catch((err: unknown) => {
          fail(err);
        });
        pending.push(p);
      }
    } catch (err) {
      entry.resume();
      fail(err);
    }
  });

  source.pipe(gunzip).pipe(parser as unknown as NodeJS.WritableStream);
  try {
    await done;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

export class TarGzReader implements ArchiveReader {
  readonly format = "tar.gz" as const;

  private constructor(
    readonly path: string,
    readonly entries: ArchiveEntry[],
    private readonly cache: Map<string, Buffer>,
    private readonly limits: UnpackLimits,
    readonly fileSize: number,
  ) {}

  /** A tar has no index that could disagree with its entries. */
  readonly problems: OmafError[] = [];

  static async open(file: string, limits: UnpackLimits): Promise<TarGzReader> {
    const entries: ArchiveEntry[] = [];
    const cache = new Map<string, Buffer>();
    let cached = 0;
    await scanTarGz(file, limits, (info, entry, tools) => {
      entries.push(info);
      if (info.type === "file" && info.size <= CACHE_ENTRY_MAX && cached + info.size <= CACHE_BUDGET && !cache.has(info.name)) {
        cached += info.size;
        return tools.collect(entry).then((buf) => {
          cache.set(info.name, buf);
        });
      }
      entry.resume();
    });
    const { size } = await fs.promises.stat(file).catch((err: unknown) => {
      throw toOmafError(err, "OMAF_ERR_IO");
    });
    return new TarGzReader(file, entries, cache, limits, size);
  }

  private find(name: string): ArchiveEntry {
    const e = this.entries.find((x) => x.name === name && x.type === "file");
    if (!e) throw new OmafError("OMAF_ERR_NOT_FOUND", `${this.path} has no file entry "${name}"`, { path: this.path, entry: name });
    return e;
  }

  async readEntry(name: string, maxBytes = DEFAULT_READ_ENTRY_MAX): Promise<Buffer> {
    const e = this.find(name);
    if (e.size > maxBytes) {
      throw new OmafError("OMAF_ERR_TOO_LARGE", `entry "${name}" is ${e.size} bytes; at most ${maxBytes} are read`, {
        path: this.path,
        entry: name,
        size: e.size,
        limit: maxBytes,
      });
    }
    const hit = this.cache.get(name);
    if (hit) return Buffer.from(hit);
    return collect(await this.openEntryStream(name), maxBytes, name);
  }

  async openEntryStream(name: string): Promise<Readable> {
    this.find(name);
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    let found = false;
    scanTarGz(this.path, this.limits, (info, entry, { adopt }) => {
      if (found || info.name !== name || info.type !== "file") {
        entry.resume();
        return;
      }
      found = true;
      const content = adopt(entry);
      content.pipe(out);
      return finished(content).then(() => {
        throw STOP;
      });
    }).then(
      () => {
        if (!found) out.destroy(new OmafError("OMAF_ERR_NOT_FOUND", `${this.path} has no file entry "${name}"`, { path: this.path, entry: name }));
      },
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  async forEachFile(handler: (entry: ArchiveEntry, content: EntryContent) => Promise<void>, opts: ForEachFileOptions = {}): Promise<void> {
    await scanTarGz(
      this.path,
      this.limits,
      (info, entry, { adopt, collect }) => {
        if (info.type !== "file") {
          entry.resume();
          return;
        }
        // Small entries as one buffer; larger ones as a Node stream (ReadEntry is a minipass stream) whose piping
        // keeps the backpressure.
        if (info.size <= SMALL_ENTRY) return collect(entry).then((buf) => handler(info, buf));
        return handler(info, adopt(entry));
      },
      opts.signal,
    );
  }

  async close(): Promise<void> {
    this.cache.clear();
  }
}
