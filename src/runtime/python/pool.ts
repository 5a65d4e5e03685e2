// A fixed set of Python workers behind one queue. Each worker runs one request at a time; a request goes to the next
// idle worker (so the least busy one), waiting in the queue while all are busy. A worker that crashes or exits is
// restarted and its request fails with OMAF_ERR_WORKER_CRASHED; one that runs past the timeout is killed and
// restarted and its request fails with OMAF_ERR_TIMEOUT. Requests still queued are untouched by either.
import { OmafError } from "../../errors.js";
import type { PythonLogger } from "./options.js";
import type { Frame } from "./protocol.js";
import { PythonWorker, type ReadyInfo, type WorkerLaunch } from "./worker.js";

interface Job {
  frame: Buffer;
  /** What is being run, for messages: e.g. "predict_on_matrix()". */
  what: string;
  resolve: (frame: Frame) => void;
  reject: (err: OmafError) => void;
  timer?: NodeJS.Timeout;
  settled: boolean;
  worker?: PythonWorker;
}

interface Slot {
  index: number;
  worker?: PythonWorker;
  job?: Job;
  /** Restarts in a row that failed to load the model. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

/** After this many failed restarts in a row on every worker, queued and new requests fail with OMAF_ERR_UNAVAILABLE. */
const GIVE_UP_AFTER = 3;
const MAX_RESTART_DELAY_MS = 5_000;
/** How long close() lets a worker finish its current request. */
const STOP_GRACE_MS = 5_000;

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private nextSlot = 0;
  private closing = false;

  constructor(
    size: number,
    private readonly launch: WorkerLaunch,
    private readonly logger: PythonLogger,
    private readonly timeoutMs: number,
  ) {
    this.slots = Array.from({ length: size }, (_, index) => ({ index, failures: 0 }));
  }

  /** Starts every worker; resolves with the first one's ready report. Any failure stops them all and rejects. */
  async start(): Promise<ReadyInfo> {
    const results = await Promise.allSettled(this.slots.map((slot) => this.spawn(slot)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await this.close();
      throw failed.reason;
    }
    return (results[0] as PromiseFulfilledResult<ReadyInfo>).value;
  }

  /** Runs one request frame on the next idle worker. */
  run(frame: Buffer, what: string): Promise<Frame> {
    if (this.closing) return Promise.reject(new OmafError("OMAF_ERR_UNAVAILABLE", `${this.launch.label} is shutting down`));
    if (this.givenUp()) return Promise.reject(this.unavailable());
    return new Promise<Frame>((resolve, reject) => {
      const job: Job = { frame, what, resolve, reject, settled: false };
      if (this.timeoutMs > 0) job.timer = setTimeout(() => this.onTimeout(job), this.timeoutMs);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Process ids of the running workers (for tests and diagnostics). */
  pids(): (number | undefined)[] {
    return this.slots.map((s) => (s.worker?.ready ? s.worker.pid : undefined));
  }

  /** Stops every worker: queued requests fail, running ones may finish within a grace period. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) {
      this.settle(job, new OmafError("OMAF_ERR_UNAVAILABLE", `${this.launch.label} is shutting down`));
    }
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    await Promise.all(this.slots.map((slot) => slot.worker?.stop(STOP_GRACE_MS)));
  }

  private spawn(slot: Slot): Promise<ReadyInfo> {
    const worker = new PythonWorker(slot.index, this.launch, this.logger, (w) => this.onGone(slot, w));
    slot.worker = worker;
    return worker.start();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (!slot) return;
      const job = this.queue.shift()!;
      this.dispatch(slot, job);
    }
  }

  /** The next idle worker, round-robin so the load spreads over all of them. */
  private idleSlot(): Slot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.nextSlot + i) % this.slots.length]!;
      if (!slot.job && slot.worker?.ready && !slot.worker.busy) {
        this.nextSlot = (slot.index + 1) % this.slots.length;
        return slot;
      }
    }
    return undefined;
  }

  private dispatch(slot: Slot, job: Job): void {
    const worker = slot.worker!;
    slot.job = job;
    job.worker = worker;
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    worker.request(job.frame, id).then(
      (frame) => {
        if (slot.job === job) slot.job = undefined;
        this.settle(job, frame);
        this.pump();
      },
      (err: OmafError) => {
        if (slot.job === job) slot.job = undefined;
        const message = err.code === "OMAF_ERR_WORKER_CRASHED" ? `${job.what} crashed the worker: ${err.message}` : err.message;
        this.settle(job, new OmafError(err.code, message, err.details));
      },
    );
  }

  private settle(job: Job, outcome: Frame | OmafError): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (outcome instanceof OmafError) job.reject(outcome);
    else job.resolve(outcome);
  }

  private onTimeout(job: Job): void {
    if (job.settled) return;
    const err = new OmafError("OMAF_ERR_TIMEOUT", `${job.what} took longer than ${this.timeoutMs} ms`, {
      timeoutMs: this.timeoutMs,
    });
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, err);
      return;
    }
    this.settle(job, err);
    const slot = this.slots.find((s) => s.job === job);
    if (slot?.worker) {
      this.logger.warn(
        `[python worker ${slot.index}] ${job.what} ran longer than ${this.timeoutMs} ms; killing the worker (pid ${slot.worker.pid}) and starting a new one`,
      );
      slot.job = undefined;
      slot.worker.kill();
    }
  }

  private onGone(slot: Slot, worker: PythonWorker): void {
    // A worker that never became ready is a failed (re)start: whoever started it handles that.
    if (slot.worker !== worker || this.closing || !worker.wasReady) return;
    slot.job = undefined;
    this.logger.warn(`${worker.exitReason}; starting a new worker`);
    this.restart(slot);
  }

  private restart(slot: Slot): void {
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
          this.logger.error(`[python worker ${slot.index}] restart failed (${slot.failures} in a row): ${err.message}`);
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

  private unavailable(): OmafError {
    return new OmafError(
      "OMAF_ERR_UNAVAILABLE",
      `${this.launch.label}: every python worker failed to restart ${GIVE_UP_AFTER} times in a row; see the log`,
    );
  }
}
