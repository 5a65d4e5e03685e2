// Judges an archive's listing before anything is extracted: names, entry types, duplicates and bomb limits.
import { OmafError } from "../errors.js";
import type { ArchiveEntry, ArchiveReader } from "./archive-types.js";
import { checkEntryName } from "./entry-name.js";
import type { UnpackLimits } from "./limits.js";

/**
 * Every problem of an open archive: its structure (`reader.problems`, e.g. overlapping ZIP entries) first, then
 * those of its listing (see {@link checkEntries}), judged against its file size. Empty when it is safe to extract.
 */
export function checkArchive(reader: Pick<ArchiveReader, "entries" | "problems" | "fileSize">, limits: UnpackLimits): OmafError[] {
  return [...reader.problems, ...checkEntries(reader.entries, limits, reader.fileSize)];
}

/**
 * Every problem of a listing, in archive order (empty when it is safe to extract): unsafe names
 * (`OMAF_ERR_UNSAFE_ABSOLUTE_PATH`, `OMAF_ERR_UNSAFE_TRAVERSAL`), links (`OMAF_ERR_UNSAFE_LINK`), unsupported entry
 * types (`OMAF_ERR_ARCHIVE_FORMAT`), duplicate names or a file where a folder is needed (`OMAF_ERR_DUPLICATE_ENTRY`),
 * and the limits (`OMAF_ERR_TOO_MANY_ENTRIES`, `OMAF_ERR_TOO_LARGE`, `OMAF_ERR_COMPRESSION_RATIO`) judged on the
 * declared sizes; given the archive's own size, also the whole archive's ratio (`OMAF_ERR_ARCHIVE_RATIO`).
 */
export function checkEntries(entries: readonly ArchiveEntry[], limits: UnpackLimits, archiveBytes?: number): OmafError[] {
  const problems: OmafError[] = [];
  if (entries.length > limits.maxEntries) {
    problems.push(
      new OmafError("OMAF_ERR_TOO_MANY_ENTRIES", `the archive has ${entries.length} entries; the limit is ${limits.maxEntries}`, {
        entries: entries.length,
        limit: limits.maxEntries,
      }),
    );
  }
  const files = new Set<string>();
  const dirs = new Set<string>();
  let total = 0;
  for (const e of entries) {
    const entry = e.name;
    try {
      checkEntryName(entry);
    } catch (err) {
      problems.push(err as OmafError);
      continue;
    }
    if (e.type === "symlink") {
      problems.push(
        new OmafError("OMAF_ERR_UNSAFE_LINK", `archive entry "${entry}" is a ${e.linkKind === "hard" ? "hard" : "symbolic"} link`, {
          entry,
          ...(e.linkTarget ? { target: e.linkTarget } : {}),
        }),
      );
      continue;
    }
    if (e.type === "other") {
      problems.push(new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `archive entry "${entry}" is neither a file nor a folder`, { entry }));
      continue;
    }
    if (e.type === "directory") {
      if (entry === "") continue; // the root folder itself ("/" or "./")
      if (files.has(entry)) problems.push(duplicate(entry, "is both a file and a folder"));
      addParents(entry, true);
      continue;
    }
    if (entry === "") {
      problems.push(new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `a file entry has an empty name (raw name "${e.rawName}")`, { entry: e.rawName }));
      continue;
    }
    if (files.has(entry)) problems.push(duplicate(entry, "appears more than once"));
    else if (dirs.has(entry)) problems.push(duplicate(entry, "is both a file and a folder"));
    files.add(entry);
    addParents(entry, false);

    total += e.size;
    if (limits.maxEntryBytes !== undefined && e.size > limits.maxEntryBytes) {
      problems.push(
        new OmafError("OMAF_ERR_TOO_LARGE", `archive entry "${entry}" is ${e.size} bytes; the limit is ${limits.maxEntryBytes}`, {
          entry,
          size: e.size,
          limit: limits.maxEntryBytes,
        }),
      );
    }
    if (e.size >= limits.ratioFloorBytes && e.size / Math.max(e.compressedSize, 1) > limits.maxRatio) {
      problems.push(
        new OmafError(
          "OMAF_ERR_COMPRESSION_RATIO",
          `archive entry "${entry}" expands ${Math.round(e.size / Math.max(e.compressedSize, 1))}:1; the limit is ${limits.maxRatio}:1`,
          { entry, size: e.size, compressedSize: e.compressedSize, limit: limits.maxRatio },
        ),
      );
    }
  }
  // Entries that share compressed bytes each pass the entry ratio; their sum against the file's size does not.
  if (archiveBytes !== undefined && total >= limits.ratioFloorBytes && total / Math.max(archiveBytes, 1) > limits.maxArchiveRatio) {
    problems.push(
      new OmafError(
        "OMAF_ERR_ARCHIVE_RATIO",
        `the archive's files add up to ${total} bytes, ${Math.round(total / Math.max(archiveBytes, 1))} times its own ${archiveBytes}; the limit is ${limits.maxArchiveRatio}:1`,
        { size: total, archiveBytes, limit: limits.maxArchiveRatio },
      ),
    );
  }
  if (total > limits.maxTotalBytes) {
    problems.push(
      new OmafError("OMAF_ERR_TOO_LARGE", `the archive's files add up to ${total} bytes; the limit is ${limits.maxTotalBytes}`, {
        size: total,
        limit: limits.maxTotalBytes,
      }),
    );
  }
  return problems;

  /** Records the folders `name` lies in (and `name` itself when it is a folder), deepest first, up to one seen before. */
  function addParents(name: string, self: boolean): void {
    for (let end = self ? name.length : name.lastIndexOf("/"); end > 0; end = name.lastIndexOf("/", end - 1)) {
      const dir = name.slice(0, end);
      if (dirs.has(dir)) break;
      if (files.has(dir)) problems.push(duplicate(dir, "is both a file and a folder"));
      dirs.add(dir);
    }
  }
}

function duplicate(entry: string, what: string): OmafError {
  return new OmafError("OMAF_ERR_DUPLICATE_ENTRY", `archive entry "${entry}" ${what}`, { entry });
}
