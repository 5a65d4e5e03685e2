// Unpacks argv[2] into argv[3] in a Node whose zlib has no crc32 (as before v20.15), and prints the outcome as JSON.
import zlib from "node:zlib";

delete (zlib as { crc32?: unknown }).crc32;
const { unpackArchive } = await import("../../src/archive/unpack.js");
try {
  const r = await unpackArchive(process.argv[2], process.argv[3]);
  console.log(JSON.stringify({ crc32: typeof (zlib as { crc32?: unknown }).crc32, files: r.files.length }));
} catch (err) {
  console.log(JSON.stringify({ crc32: typeof (zlib as { crc32?: unknown }).crc32, code: (err as { code?: string }).code }));
}
