// SHA-256 of a file on disk, read in chunks into reused buffers (constant memory, no garbage per chunk).
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { toOmafError } from "../errors.js";

const CHUNK = 1024 * 1024;
/**
 * Chunk buffers handed back by finished hashes. A stream allocates a fresh 1 MiB buffer per chunk; hashing a cached
 * 1 GiB artifact that way spent about as long collecting garbage as hashing (bench/cache-verify.ts).
 */
const spare: Buffer[] = [];

/** Lower-case hex SHA-256 of the file's content. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  const buf = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  try {
    const handle = await open(file, "r");
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  } finally {
    if (spare.length < 8) spare.push(buf);
  }
  return hash.digest("hex");
}
