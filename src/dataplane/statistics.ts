// Per-model inference statistics in Triton's terms (its statistics extension), kept by the dataplane as plain numbers:
// requests that succeeded or failed, how a successful request's time splits into phases, and model executions by
// batch size. The phases of one request do not overlap and add up to its whole time:
// - queue: waiting — for a lazy or failed model's load before the handler runs, and in the batching queue before the
//   request's model call starts;
// - compute_infer: the model calls themselves (a batched call counts whole for each request in it, as Triton does);
// - compute_output: from the last model call's answer to the end of the request (encoding the answer);
// - compute_input: the rest — decoding the request, checking it against the contract, converting tensors.
// Durations are kept in nanoseconds as JavaScript numbers (exact to 2^53 ns, about 104 days of summed time).

/** A count and the time it took, as Triton's StatisticDuration. */
export interface Duration {
  count: number;
  ns: number;
}

/** Model executions of one batch size (requests merged into one call) and their phases. */
export interface BatchStatistics {
  batchSize: number;
  /** Merging the requests' inputs into one call (0 ns for a call that ran alone). */
  computeInput: Duration;
  computeInfer: Duration;
  /** Splitting the merged answer back into the requests' answers (0 ns for a call that ran alone). */
  computeOutput: Duration;
}

/** A snapshot of one model version's statistics. */
export interface StatisticsSnapshot {
  /** Milliseconds since the epoch of the last request answered (0 before any). */
  lastInference: number;
  /** Successful inference requests (each request counts once, whatever its rows). */
  inferenceCount: number;
  /** Successful model executions: a batch of merged requests counts once. */
  executionCount: number;
  success: Duration;
  fail: Duration;
  queue: Duration;
  computeInput: Duration;
  computeInfer: Duration;
  computeOutput: Duration;
  /** By batch size, ascending. */
  batches: BatchStatistics[];
}

const NS_PER_MS = 1e6;

function add(d: Duration, ms: number): void {
  d.count++;
  d.ns += Math.round(ms * NS_PER_MS);
}

const duration = (): Duration => ({ count: 0, ns: 0 });

export class InferenceStatistics {
  private lastInference = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly success = duration();
  private readonly fail = duration();
  private readonly queue = duration();
  private readonly computeInput = duration();
  private readonly computeInfer = duration();
  private readonly computeOutput = duration();
  private readonly batches = new Map<number, BatchStatistics>();

  /** One request answered successfully, with its phases in milliseconds (see the header comment). */
  succeeded(totalMs: number, queueMs: number, inferMs: number, outputMs: number): void {
    this.lastInference = Date.now();
    this.inferenceCount++;
    add(this.success, totalMs);
    add(this.queue, queueMs);
    add(this.computeInfer, inferMs);
    add(this.computeOutput, outputMs);
    add(this.computeInput, Math.max(0, totalMs - queueMs - inferMs - outputMs));
  }

  /** One request answered with an error (refusals and requests rejected before the model included). */
  failed(totalMs: number): void {
    this.lastInference = Date.now();
    add(this.fail, totalMs);
  }

  /** One successful model execution of `batchSize` merged requests. */
  executed(batchSize: number, inputMs: number, inferMs: number, outputMs: number): void {
    this.executionCount++;
    let b = this.batches.get(batchSize);
    if (!b) this.batches.set(batchSize, (b = { batchSize, computeInput: duration(), computeInfer: duration(), computeOutput: duration() }));
    add(b.computeInput, inputMs);
    add(b.computeInfer, inferMs);
    add(b.computeOutput, outputMs);
  }

  snapshot(): StatisticsSnapshot {
    const copy = (d: Duration): Duration => ({ count: d.count, ns: d.ns });
    return {
      lastInference: this.lastInference,
      inferenceCount: this.inferenceCount,
      executionCount: this.executionCount,
      success: copy(this.success),
      fail: copy(this.fail),
      queue: copy(this.queue),
      computeInput: copy(this.computeInput),
      computeInfer: copy(this.computeInfer),
      computeOutput: copy(this.computeOutput),
      batches: [...this.batches.values()]
        .sort((a, b) => a.batchSize - b.batchSize)
        .map((b) => ({ batchSize: b.batchSize, computeInput: copy(b.computeInput), computeInfer: copy(b.computeInfer), computeOutput: copy(b.computeOutput) })),
    };
  }
}
