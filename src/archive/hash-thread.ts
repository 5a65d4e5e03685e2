// SHA-256 on a worker thread, for the large entries of an unpack.
//
// Unpacking keeps zlib's thread pool inflating while the main thread hashes, meters and hands out writes; with large
// entries the main thread was the limit: SHA-256 of 240 MB is ~0.2 s of its ~0.5 s (bench/RESULTS.md, `## pack`).
// Here each chunk is copied into a slot of a shared buffer (a memcpy, ~10× cheaper than hashing it) and hashed by
// one worker thread, which hashes faster than the pool inflates. The worker is plain CommonJS run from a string
// (no file to resolve, no TypeScript loader to start) and owns nothing but the hashes: sizes, limits and the
// comparison with the provenance record stay where they were.
import { Worker } from "node:worker_threads";

/** Chunks of one hash copied and not yet hashed. */
const SLOTS = 2;
const SLOT_SIZE = 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const open = new Map();
parentPort.on("message", (m) => {
  if (m.op === "open") {
    open.set(m.id, { hash: createHash("sha256"), view: new Uint8Array(m.buffer) });
  } else if (m.op === "update") {
    const h = open.get(m.id);
    if (h) h.hash.update(h.view.subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ id: m.id, seq: m.seq });
  } else if (m.op === "digest") {
    const h = open.get(m.id);
    open.delete(m.id);
    parentPort.postMessage({ id: m.id, seq: m.seq, hex: h ? h.hash.digest("hex") : "" });
  } else if (m.op === "drop") {
    open.delete(m.id);
  }
});
`;

interface Reply {
  id: number;
  seq: number;
  hex?: string;
}

/** One worker thread hashing any number of entries at once; `close` ends it. */
export class HashThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<string, { resolve: (r: Reply) => void; reject: (err: unknown) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor() {
    // No execArgv: a loader given to the main process (a TypeScript one in development) is not needed here.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.on("message", (r: Reply) => {
      const key = `${r.id}:${r.seq}`;
      const w = this.waiting.get(key);
      this.waiting.delete(key);
      w?.resolve(r);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", () => fail(new Error("the hashing thread stopped")));
  }

  /** A new SHA-256 computed on this thread. */
  hash(): ThreadHash {
    return new ThreadHash(this, this.nextId++);
  }

  /** Ends the thread; hashes not yet digested fail. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  /** @internal */
  post(message: Record<string, unknown>): void {
    this.worker.postMessage(message);
  }

  /** @internal Resolves with the worker's reply to message `seq` of hash `id`. */
  reply(id: number, seq: number): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.set(`${id}:${seq}`, { resolve, reject }));
  }
}

/**
 * One SHA-256 on a {@link HashThread}. `update` copies the chunk (the caller may reuse its memory once the returned
 * promise resolves, which is when it was hashed); updates are hashed in the order they were called.
 */
export class ThreadHash {
  private readonly shared = new SharedArrayBuffer(SLOTS * SLOT_SIZE);
  private readonly view = Buffer.from(this.shared);
  /** When each slot was last hashed (free again). */
  private readonly free: Promise<unknown>[] = [];
  /** The last update handed to the worker: the next is posted after it, whatever slot it waits for. */
  private tail: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private slot = 0;

  constructor(
    private readonly thread: HashThread,
    private readonly id: number,
  ) {
    thread.post({ op: "open", id, buffer: this.shared });
  }

  update(chunk: Buffer): Promise<void> {
    const parts: Promise<void>[] = [];
    for (let at = 0; at < chunk.length; at += SLOT_SIZE) parts.push(this.updateSlot(chunk.subarray(at, Math.min(chunk.length, at + SLOT_SIZE))));
    return parts.length === 1 ? parts[0] : Promise.all(parts).then(() => {});
  }

  private updateSlot(part: Buffer): Promise<void> {
    const seq = this.seq++;
    const slot = this.slot++ % SLOTS;
    const previous = this.free[slot];
    // Posted in call order (after the update before it was posted), into a slot the worker is done with.
    const posted = this.tail.then(async () => {
      await previous;
      part.copy(this.view, slot * SLOT_SIZE);
      this.thread.post({ op: "update", id: this.id, seq, offset: slot * SLOT_SIZE, length: part.length });
    });
    this.tail = posted;
    // The reply comes in a later message event, so waiting for it after posting misses nothing.
    const hashed = posted.then(() => this.thread.reply(this.id, seq)).then(() => {});
    hashed.catch(() => {});
    this.free[slot] = hashed.catch(() => {});
    return hashed;
  }

  /** The lower-case hex SHA-256 of everything updated, once it is all hashed. */
  async digest(): Promise<string> {
    await this.tail;
    const seq = this.seq++;
    const replied = this.thread.reply(this.id, seq);
    this.thread.post({ op: "digest", id: this.id, seq });
    return (await replied).hex!;
  }

  /** Forgets the hash (after a failure), once every update so far is posted. */
  drop(): void {
    this.tail.then(
      () => this.thread.post({ op: "drop", id: this.id }),
      () => {},
    );
  }
}
