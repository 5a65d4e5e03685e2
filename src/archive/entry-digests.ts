// The size and SHA-256 of every file of an archive, read from the archive itself without writing anything: what
// `omaf verify` compares with the provenance record. The same listing checks as unpacking come first.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { OmafError, toOmafError } from "../errors.js";
import type { EntryChunks, EntryContent } from "./archive-types.js";
import { resolveLimits, type UnpackLimits } from "./limits.js";
import { canonicalOrder, isMetadataPath, type FileDigest } from "./provenance.js";
import { checkArchive, openArchive } from "./read.js";

/** Hands every chunk of an entry's content to `onChunk`, whatever form the reader gave it in. */
export async function eachChunk(content: EntryContent, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (Buffer.isBuffer(content)) onChunk(content);
  else if (typeof (content as Partial<EntryChunks>).pipeTo === "function") await (content as EntryChunks).pipeTo(async (chunk) => onChunk(chunk));
  else for await (const chunk of content as Readable as AsyncIterable<Buffer>) onChunk(chunk);
}

/**
 * Every file of the archive except the metadata entries ({@link isMetadataPath}), with the size and SHA-256 of its
 * actual bytes, sorted by path. The archive is refused first as unpacking would refuse it (unsafe names, links,
 * overlapping entries, bomb limits), and an entry holding other than its declared number of bytes fails.
 */
export async function digestArchiveFiles(archive: string, opts: { limits?: Partial<UnpackLimits>; signal?: AbortSignal } = {}): Promise<FileDigest[]> {
  const limits = resolveLimits(opts.limits);
  const reader = await openArchive(archive, { limits });
  try {
    const problems = checkArchive(reader, limits);
    if (problems.length > 0) throw problems[0];
    const digests: FileDigest[] = [];
    let total = 0;
    await reader.forEachFile(
      async (entry, content) => {
        const hash = createHash("sha256");
        let size = 0;
        await eachChunk(content, (chunk) => {
          size += chunk.length;
          total += chunk.length;
          if (size > entry.size || total > limits.maxTotalBytes) {
            throw new OmafError("OMAF_ERR_TOO_LARGE", `entry "${entry.name}" inflates to more bytes than it declares (${entry.size})`, { entry: entry.name });
          }
          hash.update(chunk);
        });
        if (size !== entry.size) {
          throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `entry "${entry.name}" has ${size} bytes but declares ${entry.size}`, { entry: entry.name });
        }
        if (!isMetadataPath(entry.name)) digests.push({ path: entry.name, size, sha256: hash.digest("hex") });
      },
      { concurrency: reader.format === "zip" ? 4 : 1, signal: opts.signal },
    );
    return canonicalOrder(digests);
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  } finally {
    await reader.close();
  }
}
