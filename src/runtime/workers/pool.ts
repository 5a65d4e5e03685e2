// A fixed set of model workers behind one queue, shared by every environment that runs models outside the server's
// thread (Python and Java worker processes, Node worker threads); each environment only supplies its PoolWorker.
//
// Each worker runs one request at a time; a request goes to the next idle worker (so the least busy one), waiting in
// the queue while all are busy. A worker that crashes or exits is restarted and its request fails with
// OMAF_ERR_WORKER_CRASHED; one that runs past the timeout is killed and restarted and its request fails with
// OMAF_ERR_TIMEOUT. Requests still queued are untouched by either.
import { OmafError } from "../../errors.js";
import type { WorkerLogger } from "./logger.js";

/** One worker (a process or a thread) as the pool drives it: it loads the model, then runs one request at a time. */
export interface PoolWorker<Payload, Answer, Ready> {
  /** Loads the model; resolves with the worker's ready report, rejects with the load error (an OmafError). */
  start(): Promise<Ready>;
  /** Runs one request; rejects with OMAF_ERR_WORKER_CRASHED when the worker dies meanwhile. */
  request(payload: Payload, id: number): Promise<Answer>;
  /** Ends the worker at once (a hung model); the pending request is the pool's to settle. */
  kill(): void;
  /** Lets the current request run for up to `graceMs`, then ends the worker; resolves once it is gone. */
  stop(graceMs: number): Promise<void>;
  /** True while the model is loaded and the worker runs. */
  readonly ready: boolean;
  /** True while a request runs. */
  readonly busy: boolean;
  /** True once the model was loaded (stays true after the worker is gone). */
  readonly wasReady: boolean;
  /** Process id, or thread id for a worker thread. */
  readonly pid: number | undefined;
  /** The same for log lines: "pid 4242", "thread 3". */
  readonly where: string;
  /** Why the worker is gone, once it is. */
  readonly exitReason?: string;
}

/** How the pool makes workers of one environment. */
export interface WorkerFactory<Payload, Answer, Ready> {
  /** What a worker is called in log lines and messages, e.g. "python worker". */
  kind: string;
  /** Names the model in messages, e.g. "model 'iris'". */
  label: string;
  /** A new worker for slot `index`, not started; it calls `onGone` once when it is gone, expected or not. */
  create(index: number, onGone: () => void): PoolWorker<Payload, Answer, Ready>;
}

interface Job<Payload, Answer> {
  payload: Payload;
  /** What is being run, for messages: e.g. "predict_on_matrix()". */
  what: string;
  resolve: (answer: Answer) => void;
  reject: (err: OmafError) => void;
  timer?: NodeJS.Timeout;
  settled: boolean;
}

interface Slot<Payload, Answer, Ready> {
  index: number;
  worker?: PoolWorker<Payload, Answer, Ready>;
  job?: Job<Payload, Answer>;
  /** Restarts in a row that failed to load the model. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

/** After this many failed restarts in a row on every worker, queued and new requests fail with OMAF_ERR_UNAVAILABLE. */
const GIVE_UP_AFTER = 3;
const MAX_RESTART_DELAY_MS = 5_000;

export class WorkerPool<Payload, Answer, Ready> {
  private readonly slots: Slot<Payload, Answer, Ready>[];
  private readonly queue: Job<Payload, Answer>[] = [];
  private nextId = 1;
  private nextSlot = 0;
  private closing = false;

  constructor(
    size: number,
    private readonly factory: WorkerFactory<Payload, Answer, Ready>,
    private readonly logger: WorkerLogger,
    /** Longest a request may take, queueing included; 0 = no limit. */
    private readonly timeoutMs: number,
  ) {
    this.slots = Array.from({ length: size }, (_, index) => ({ index, failures: 0 }));
  }

  /** Starts every worker; resolves with the first one's ready report. Any failure stops them all and rejects. */
  async start(): Promise<Ready> {
    const results = await Promise.allSettled(this.slots.map((slot) => this.spawn(slot)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await this.close();
      throw failed.reason;
    }
    return (results[0] as PromiseFulfilledResult<Ready>).value;
  }

  /** Runs one request on the next idle worker. */
  run(payload: Payload, what: string): Promise<Answer> {
    if (this.closing) return Promise.reject(this.shuttingDown());
    if (this.givenUp()) return Promise.reject(this.unavailable());
    return new Promise<Answer>((resolve, reject) => {
      const job: Job<Payload, Answer> = { payload, what, resolve, reject, settled: false };
      if (this.timeoutMs > 0) job.timer = setTimeout(() => this.onTimeout(job), this.timeoutMs);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Process (or thread) ids of the serving workers; undefined for one being restarted. */
  pids(): (number | undefined)[] {
    return this.slots.map((s) => (s.worker?.ready ? s.worker.pid : undefined));
  }

  /**
   * Stops every worker: queued requests fail at once, running ones may finish within `graceMs`, after which their
   * workers are ended. The caller's deadline is the whole budget: nothing here waits longer.
   */
  async close(graceMs = 0): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) this.settle(job, this.shuttingDown());
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    await Promise.all(this.slots.map((slot) => slot.worker?.stop(graceMs)));
  }

  private spawn(slot: Slot<Payload, Answer, Ready>): Promise<Ready> {
    const worker = this.factory.create(slot.index, () => this.onGone(slot, worker));
    slot.worker = worker;
    return worker.start();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (!slot) return;
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  /** The next idle worker, round-robin so the load spreads over all of them. */
  private idleSlot(): Slot<Payload, Answer, Ready> | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.nextSlot + i) % this.slots.length]!;
      if (!slot.job && slot.worker?.ready && !slot.worker.busy) {
        this.nextSlot = (slot.index + 1) % this.slots.length;
        return slot;
      }
    }
    return undefined;
  }

  private dispatch(slot: Slot<Payload, Answer, Ready>, job: Job<Payload, Answer>): void {
    slot.job = job;
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    slot.worker!.request(job.payload, id).then(
      (answer) => {
        if (slot.job === job) slot.job = undefined;
        this.settle(job, answer);
        this.pump();
      },
      (err: OmafError) => {
        if (slot.job === job) slot.job = undefined;
        // Cut by close(): the worker was ended on purpose, it did not crash.
        if (this.closing) return this.settle(job, this.shuttingDown());
        const message = err.code === "OMAF_ERR_WORKER_CRASHED" ? `${job.what} crashed the worker: ${err.message}` : err.message;
        this.settle(job, new OmafError(err.code, message, err.details));
      },
    );
  }

  private settle(job: Job<Payload, Answer>, outcome: Answer | OmafError): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (outcome instanceof OmafError) job.reject(outcome);
    else job.resolve(outcome);
  }

  private onTimeout(job: Job<Payload, Answer>): void {
    if (job.settled) return;
    const err = new OmafError("OMAF_ERR_TIMEOUT", `${job.what} took longer than ${this.timeoutMs} ms`, {
      timeoutMs: this.timeoutMs,
    });
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.settle(job, err);
    const slot = this.slots.find((s) => s.job === job);
    if (slot?.worker) {
      this.logger.warn(
        `[${this.factory.kind} ${slot.index}] ${job.what} ran longer than ${this.timeoutMs} ms; killing the worker (${slot.worker.where}) and starting a new one`,
      );
      slot.job = undefined;
      slot.worker.kill();
    }
  }

  private onGone(slot: Slot<Payload, Answer, Ready>, worker: PoolWorker<Payload, Answer, Ready>): void {
    // A worker that never became ready is a failed (re)start: whoever started it handles that.
    if (slot.worker !== worker || this.closing || !worker.wasReady) return;
    slot.job = undefined;
    this.logger.warn(`${worker.exitReason}; starting a new worker`);
    this.restart(slot);
  }

  private restart(slot: Slot<Payload, Answer, Ready>): void {
    const delay = slot.failures === 0 ? 0 : Math.min(100 * 2 ** slot.failures, MAX_RESTART_DELAY_MS);
    slot.restartTimer = setTimeout(() => {
      if (this.closing) return;
      this.spawn(slot).then(
        () => {
          slot.failures = 0;
          this.pump();
        },
        (err: OmafError) => {
          if (this.closing) return;
          slot.failures++;
          this.logger.error(`[${this.factory.kind} ${slot.index}] restart failed (${slot.failures} in a row): ${err.message}`);
          if (this.givenUp()) {
            for (const job of this.queue.splice(0)) this.settle(job, this.unavailable());
          }
          this.restart(slot);
        },
      );
    }, delay);
  }

  private givenUp(): boolean {
    return this.slots.every((s) => s.failures >= GIVE_UP_AFTER);
  }

  private shuttingDown(): OmafError {
    return new OmafError("OMAF_ERR_UNAVAILABLE", `${this.factory.label} is shutting down`);
  }

  private unavailable(): OmafError {
    return new OmafError(
      "OMAF_ERR_UNAVAILABLE",
      `${this.factory.label}: every ${this.factory.kind} failed to restart ${GIVE_UP_AFTER} times in a row; see the log`,
    );
  }
}
