// CRC-32 (the ZIP checksum) on whatever the running Node offers.
import { createRequire } from "node:module";
import zlib from "node:zlib";

// buffer-crc32's ES module build is typed as CommonJS; loading the CommonJS build keeps types and runtime in step.
const bufferCrc32 = createRequire(import.meta.url)("buffer-crc32") as typeof import("buffer-crc32");

/**
 * CRC-32 of `data` continuing from `value` (0 to start): zlib's when this Node has it (v20.15+, several times faster),
 * else the `buffer-crc32` package, so no check or record ever goes without one.
 */
export const crc32: (data: Buffer, value: number) => number =
  (zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }).crc32 ?? ((data, value) => bufferCrc32.unsigned(data, value));
