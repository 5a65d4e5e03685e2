// SHA-256 of a file on disk, streamed (constant memory).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { toOmafError } from "../errors.js";

/** Lower-case hex SHA-256 of the file's content. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  }
  return hash.digest("hex");
}
