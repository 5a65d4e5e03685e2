// Small stream and concurrency helpers for the archive readers.
import type { Readable } from "node:stream";
import { OmafError } from "../errors.js";

/** Reads a stream into one buffer, failing with `OMAF_ERR_TOO_LARGE` past `maxBytes`. */
export async function collect(stream: Readable, maxBytes: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new OmafError("OMAF_ERR_TOO_LARGE", `entry "${name}" is larger than ${maxBytes} bytes`, { entry: name, limit: maxBytes });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight, in order of start. After the first failure no new
 * item starts; the promise settles (with that failure) only once every started item has finished.
 */
export async function runPool<T>(items: T[], concurrency: number, signal: AbortSignal | undefined, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      if (signal?.aborted) {
        failure ??= { err: signal.reason };
        break;
      }
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.err;
}

/**
 * A failure that interrupts whatever is being awaited. Unlike `Promise.race([p, failed])` with one long-lived
 * `failed` promise, waiters are released as they settle, so nothing awaited earlier (e.g. file buffers) stays
 * reachable for the rest of the run.
 */
export class Interrupt {
  private failed = false;
  private error: unknown;
  private readonly waiters = new Set<(err: unknown) => void>();

  get triggered(): boolean {
    return this.failed;
  }

  /** Rejects every current and future wait with `err` (the first call wins). */
  trigger(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = err;
    for (const reject of this.waiters) reject(err);
    this.waiters.clear();
  }

  /** Settles like `p`, or rejects as soon as the interrupt is triggered. */
  wait<T>(p: Promise<T>): Promise<T> {
    if (this.failed) {
      p.catch(() => {});
      return Promise.reject(this.error);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      p.then(
        (value) => {
          this.waiters.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.waiters.delete(reject);
          reject(err);
        },
      );
    });
  }
}
