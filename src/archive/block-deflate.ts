// Copies one large file into the zip, deflating it in fixed-size blocks on zlib's thread pool (the method of pigz).
//
// One deflate stream cannot be split, but it can be *built* from pieces: each block is deflated on its own with the
// previous block's last 32 KiB as its dictionary (what a single deflater would remember) and ends with a sync flush
// (an empty stored block, byte-aligned, not final); the last block ends with Z_FINISH. Concatenated, the pieces are
// one valid raw deflate stream that any inflater reads, only ~5 bytes a block larger than a single pass, and a few
// blocks deflate at once on the pool's threads. Block boundaries sit at fixed offsets, so the same content always
// gives the same bytes. SHA-256 and CRC-32 are computed on the main thread in file order while the pool deflates.
import { open } from "node:fs/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/** Bytes deflated as one piece. 1 MiB: each piece costs ~40 ms of deflate at level 6, the split ~5 bytes. */
export const BLOCK_SIZE = 1024 * 1024;
/** Deflate's window: the dictionary a block gets from the one before. */
const WINDOW = 32 * 1024;
/**
 * Blocks deflating at once. The pool has 4 threads (libuv's default); leaving one free lets the next read and the
 * output's writes through without waiting ~40 ms behind a deflate. Memory: about two blocks each.
 */
export const BLOCKS_IN_FLIGHT = 3;
const EMPTY = Buffer.alloc(0);

export interface CopyOptions {
  /** Deflate level 1–9, or undefined to store the bytes as they are. */
  level?: number;
  /** Sees every byte of the file once, in order (hashing, CRC, progress). */
  onData: (chunk: Buffer) => void;
  /** Takes the entry's data in order; the returned promise is waited for (back pressure). */
  write: (chunk: Buffer) => Promise<void>;
  signal?: AbortSignal;
}

/** Copies the file's current content (whatever its size is now) through `write`; answers the bytes read and written. */
export async function copyFileData(file: string, opts: CopyOptions): Promise<{ size: number; compressedSize: number }> {
  const handle = await open(file, "r");
  let position = 0;
  /** Reads the next block; shorter only at the end of the file, empty past it. */
  const readBlock = async (): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(BLOCK_SIZE);
    let n = 0;
    while (n < BLOCK_SIZE) {
      const { bytesRead } = await handle.read(buf, n, BLOCK_SIZE - n, position + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    position += n;
    return n === BLOCK_SIZE ? buf : buf.subarray(0, n);
  };
  const pending: Promise<Buffer>[] = [];
  let size = 0;
  let compressedSize = 0;
  const emit = async (chunk: Buffer) => {
    compressedSize += chunk.length;
    await opts.write(chunk);
  };
  try {
    let block = await readBlock();
    let dictionary: Buffer | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      // The next read runs while this block is hashed and handed to the pool.
      const reading = block.length === BLOCK_SIZE ? readBlock() : Promise.resolve(EMPTY);
      opts.onData(block);
      size += block.length;
      const next = await reading;
      const last = next.length === 0;
      if (opts.level === undefined) {
        if (block.length > 0) await emit(block);
      } else {
        const deflated = deflateRaw(block, {
          level: opts.level,
          ...(dictionary ? { dictionary } : {}),
          finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        });
        deflated.catch(() => {}); // awaited below in order; an early failure must not go unhandled meanwhile
        pending.push(deflated);
        // Every block but the last is a whole BLOCK_SIZE, so its tail is the window a single deflater would have.
        dictionary = block.subarray(block.length - Math.min(WINDOW, block.length));
        while (pending.length >= BLOCKS_IN_FLIGHT || (last && pending.length > 0)) await emit(await pending.shift()!);
      }
      if (last) break;
      block = next;
    }
    return { size, compressedSize };
  } finally {
    await handle.close();
  }
}
