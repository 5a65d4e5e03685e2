// Adaptive batching: model calls of requests that arrive together are merged into one call along the batch (first)
// dimension and split back, so a model that costs about the same for 1 row as for 32 serves many more requests.
//
// When to run a batch. The model runs at most `capacity` calls at once (an ONNX session one, a worker pool one per
// worker). A call that finds the model free runs at the end of the current turn of the event loop, so the requests
// read in the same turn (one HTTP/2 read carries many streams; many sockets are ready at once) join it — unless other
// admitted requests are still on their way to the model (being decoded), in which case it waits for them, at most
// `maxBatchTimeMs`. So a lone request never waits for others (it gives up one turn of the loop, microseconds), and
// under load batches form by themselves while the model is busy: their size follows the load.
//
// What is merged. Only calls with the same compatibility key (a lane's `key`: same input names, datatypes, shapes past
// the first dimension and requested outputs for tensors; same column names and width for rows) — never requests a
// merge would change. Each request keeps its own answer (split by its rows), its own timeout and its own error: when a
// merged call fails, every request in it is run alone, so a bad one fails only itself.

/** How one kind of model call is keyed, merged, run and split. */
export interface BatchLane<I, O> {
  /** Requests with the same key can be merged; undefined = this one runs alone. */
  key(input: I): string | undefined;
  /** Its size along the batch dimension. */
  rows(input: I): number;
  merge(inputs: readonly I[]): I;
  run(input: I): Promise<O>;
  /** The merged answer as one answer per input, in order (`rows` each); throws when it cannot be split. */
  split(output: O, rows: readonly number[]): O[];
}

export interface BatchSettings {
  /** Most rows in one merged call; 0 or 1 = no batching. */
  maxBatchSize: number;
  /** Longest the first call of a batch waits for requests still on their way. */
  maxBatchTimeMs: number;
}

/** What a batched call answers besides its value. */
export interface Batched<O> {
  value: O;
  /** Requests in the model call it ran in (1 = alone). */
  batchSize: number;
  /** Time spent waiting for the model, in ms. */
  queueMs: number;
}

/** Told of every model call the batcher makes: how many requests it merged, and each one's wait. */
export interface BatchObserver {
  observeBatch(size: number, queueSeconds: readonly number[]): void;
  /** A model call that succeeded: its requests, and the time merging, the call and splitting took (ms). */
  observeExecution?(size: number, mergeMs: number, inferMs: number, splitMs: number): void;
}

interface Job {
  lane: BatchLane<unknown, unknown>;
  input: unknown;
  key: string | undefined;
  rows: number;
  enqueued: number;
  /** Set when the caller gave up (timed out): a queued job is then dropped. */
  abandoned: boolean;
  resolve(b: Batched<unknown>): void;
  reject(err: unknown): void;
}

/** A submitted call: its answer, and a way to withdraw it while it is still queued. */
export interface BatchTicket<O> {
  answer: Promise<Batched<O>>;
  abandon(): void;
}

export class Batcher {
  private readonly queue: Job[] = [];
  private running = 0;
  private timer?: NodeJS.Timeout;
  private pumpScheduled = false;

  constructor(
    private readonly settings: BatchSettings,
    /** Model calls that may run at once. */
    private readonly capacity: number,
    /** Admitted requests that have not reached the model yet (they may join a batch soon). */
    private readonly onTheirWay: () => number,
    private readonly observer?: BatchObserver,
  ) {}

  /** True when batching is on. */
  get enabled(): boolean {
    return this.settings.maxBatchSize > 1;
  }

  /** Calls queued, not yet running. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues one call of `lane`; it runs alone or merged with others, as the load decides. */
  submit<I, O>(lane: BatchLane<I, O>, input: I): BatchTicket<O> {
    let job!: Job;
    const answer = new Promise<Batched<O>>((resolve, reject) => {
      job = {
        lane: lane as BatchLane<unknown, unknown>,
        input,
        key: lane.key(input),
        rows: lane.rows(input),
        enqueued: performance.now(),
        abandoned: false,
        resolve: resolve as (b: Batched<unknown>) => void,
        reject,
      };
    });
    this.queue.push(job);
    this.pumpAtEndOfTurn();
    return {
      answer,
      abandon: () => {
        job.abandoned = true;
      },
    };
  }

  /** Pumps once the requests read in this turn of the event loop have been queued (a setImmediate runs after I/O). */
  private pumpAtEndOfTurn(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts every batch the free capacity allows, or waits (bounded) for requests that are on their way. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running < this.capacity) {
      while (this.queue.length > 0 && this.queue[0].abandoned) this.queue.shift();
      if (this.queue.length === 0) return;
      const batch = this.take();
      const first = batch[0];
      const full = batch.reduce((n, j) => n + j.rows, 0) >= this.settings.maxBatchSize;
      const waited = performance.now() - first.enqueued;
      // Wait only when more requests are coming and the first has time left; they are counted as they arrive.
      if (!full && first.key !== undefined && this.onTheirWay() > 0 && waited < this.settings.maxBatchTimeMs) {
        this.timer = setTimeout(() => this.pump(), Math.max(1, this.settings.maxBatchTimeMs - waited));
        return;
      }
      for (const j of batch) this.queue.splice(this.queue.indexOf(j), 1);
      this.running++;
      void this.execute(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The oldest queued call and those after it that can join it, up to the size limit (in rows). */
  private take(): Job[] {
    const first = this.queue[0];
    const batch = [first];
    if (first.key === undefined || !this.enabled) return batch;
    let rows = first.rows;
    for (let i = 1; i < this.queue.length; i++) {
      const j = this.queue[i];
      if (j.abandoned || j.lane !== first.lane || j.key !== first.key) continue;
      if (rows + j.rows > this.settings.maxBatchSize) break;
      batch.push(j);
      rows += j.rows;
    }
    return batch;
  }

  private async execute(batch: Job[]): Promise<void> {
    const started = performance.now();
    const waits = batch.map((j) => started - j.enqueued);
    this.observer?.observeBatch(
      batch.length,
      waits.map((ms) => ms / 1000),
    );
    const lane = batch[0].lane;
    if (batch.length === 1) {
      await this.alone(batch[0], waits[0]);
      return;
    }
    let answers: unknown[];
    try {
      const merged = lane.merge(batch.map((j) => j.input));
      const called = performance.now();
      const output = await lane.run(merged);
      const answered = performance.now();
      answers = lane.split(
        output,
        batch.map((j) => j.rows),
      );
      this.observer?.observeExecution?.(batch.length, called - started, answered - called, performance.now() - answered);
    } catch {
      // One request's input may have made the merged call fail: run each alone, so each gets its own answer or error.
      for (let i = 0; i < batch.length; i++) await this.alone(batch[i], waits[i]);
      return;
    }
    batch.forEach((j, i) => {
      j.resolve({ value: answers[i], batchSize: batch.length, queueMs: waits[i] });
    });
  }

  /** Runs one job's call by itself and settles it. */
  private async alone(job: Job, queueMs: number): Promise<void> {
    const called = performance.now();
    try {
      const value = await job.lane.run(job.input);
      this.observer?.observeExecution?.(1, 0, performance.now() - called, 0);
      job.resolve({ value, batchSize: 1, queueMs });
    } catch (err) {
      job.reject(err);
    }
  }
}
