// Prometheus metrics of one server, in their own registry (never prom-client's global one, so several servers in
// one process, e.g. tests, do not mix). Predictions are counted where every protocol passes: the dataplane calls
// observePrediction() once per prediction; HTTP listeners add one count per response; gauges are read from the
// dataplane at scrape time, so nothing has to keep them up to date.
//
// The request path only does arithmetic: each label set has a tally (counts, latency buckets, sum) found through two
// small maps, with no label objects, label validation or hashing per call — prom-client's observe() costs that on
// every prediction. prom-client reads the tallies when it is scraped: the counters take the increments since the
// last scrape (so they stay ordinary prom-client counters), the latency histogram renders its tallies itself.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import type { DataPlane, DataPlaneMetrics } from "../dataplane/dataplane.js";

/** Latency buckets in seconds: from sub-millisecond tabular models up to the default 30 s request timeout. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServerMetricsOptions {
  /** Also collect prom-client's process metrics (CPU, memory, event loop, GC); on by default. */
  processMetrics?: boolean;
}

/** Predictions of one (protocol, status). */
interface PredictionTally {
  labels: { protocol: string; status: string };
  count: number;
  /** `count` as the requests counter last saw it. */
  exported: number;
  /** The histogram's own count, sum and buckets (a histogram reset zeroes them, not the counter's). */
  histogramCount: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot counts those above the largest bound. */
  buckets: Float64Array;
}

/** HTTP responses of one (protocol, code). */
interface ResponseTally {
  labels: { protocol: string; code: string };
  count: number;
  exported: number;
}

/** A two-level map that creates missing entries. */
class Tallies<T> {
  private readonly outer = new Map<string, Map<string, T>>();
  constructor(private readonly create: (a: string, b: string) => T) {}

  get(a: string, b: string): T {
    let inner = this.outer.get(a);
    if (!inner) this.outer.set(a, (inner = new Map()));
    let tally = inner.get(b);
    if (!tally) inner.set(b, (tally = this.create(a, b)));
    return tally;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const inner of this.outer.values()) yield* inner.values();
  }
}

/** Buckets of the batch-size histogram: requests per model call. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Buckets of the queue-time histogram, in seconds: from no wait to well past any sensible --max-batch-time. */
export const QUEUE_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

export class ServerMetrics implements DataPlaneMetrics {
  readonly registry = new Registry();
  private readonly batchSize: Histogram;
  private readonly queueDuration: Histogram;
  private readonly predictions = new Tallies<PredictionTally>((protocol, status) => ({
    labels: { protocol, status },
    count: 0,
    exported: 0,
    histogramCount: 0,
    sum: 0,
    buckets: new Float64Array(DURATION_BUCKETS.length + 1),
  }));
  private readonly responses = new Tallies<ResponseTally>((protocol, code) => ({ labels: { protocol, code }, count: 0, exported: 0 }));
  /** HTTP status codes as label text, without a String() per response. */
  private readonly codeText = new Map<number, string>();
  private dataplane?: DataPlane;

  constructor(opts: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    const { predictions, responses } = this;
    new Counter({
      name: "omaf_requests_total",
      help: "Predictions answered, by protocol and outcome (status is ok or the OMAF_ERR_ code).",
      labelNames: ["protocol", "status"],
      registers,
      collect() {
        for (const t of predictions) takeIncrement(this, t);
      },
    });
    this.registry.registerMetric(
      new TallyHistogram("omaf_request_duration_seconds", "Time the model took per prediction, by protocol and outcome.", predictions) as unknown as Metric,
    );
    new Counter({
      name: "omaf_http_responses_total",
      help: "HTTP responses sent, by protocol and HTTP status code (includes requests refused before a prediction).",
      labelNames: ["protocol", "code"],
      registers,
      collect() {
        for (const t of responses) takeIncrement(this, t);
      },
    });
    const self = this;
    new Gauge({
      name: "omaf_in_flight_requests",
      help: "Requests admitted by the dataplane and not answered yet.",
      registers,
      collect() {
        this.set(self.dataplane?.inFlightCount ?? 0);
      },
    });
    new Gauge({
      name: "omaf_model_ready",
      help: "1 while the model is loaded and the server accepts requests, else 0.",
      registers,
      collect() {
        this.set(self.dataplane?.ready ? 1 : 0);
      },
    });
    new Gauge({
      name: "omaf_model_load_seconds",
      help: "How long the last successful model load took (0 before one).",
      registers,
      collect() {
        this.set((self.dataplane?.loadTimeMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: "omaf_max_batch_size",
      help: "The adaptive batching setting: most rows merged into one model call (0 = batching off).",
      registers,
      collect() {
        this.set(self.dataplane?.batching.maxBatchSize ?? 0);
      },
    });
    // Batches are one per model call, fewer than requests: prom-client's own histograms are cheap enough here.
    this.batchSize = new Histogram({
      name: "omaf_batch_size",
      help: "Requests merged into each model call by adaptive batching (Triton: nv_inference_exec_count per batch).",
      buckets: BATCH_SIZE_BUCKETS as number[],
      registers,
    });
    this.queueDuration = new Histogram({
      name: "omaf_queue_duration_seconds",
      help: "Time each request waited in the batching queue before its model call started (Triton: nv_inference_queue_duration_us).",
      buckets: QUEUE_BUCKETS as number[],
      registers,
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The batcher's hook: one model call that merged `size` requests, and how long each waited. */
  observeBatch(size: number, queueSeconds: readonly number[]): void {
    this.batchSize.observe(size);
    for (const s of queueSeconds) this.queueDuration.observe(s);
  }

  /** Reads the gauges from this dataplane from now on. */
  watch(dataplane: DataPlane): void {
    this.dataplane = dataplane;
  }

  /** The dataplane's hook: one finished (or refused) prediction. */
  observePrediction(protocol: string, status: string, seconds: number): void {
    const t = this.predictions.get(protocol, status);
    t.count++;
    t.histogramCount++;
    t.sum += seconds;
    let i = 0;
    // Buckets are few and most predictions land in the first ones.
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    t.buckets[i]++;
  }

  /** One HTTP response. */
  observeHttpResponse(protocol: string, code: number): void {
    let text = this.codeText.get(code);
    if (text === undefined) this.codeText.set(code, (text = String(code)));
    this.responses.get(protocol, text).count++;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Moves a tally's new counts into its prom-client counter. */
function takeIncrement<T extends string>(counter: Counter<T>, t: { labels: Partial<Record<T, string>>; count: number; exported: number }): void {
  const delta = t.count - t.exported;
  if (delta <= 0) return;
  counter.inc(t.labels, delta);
  t.exported = t.count;
}

/**
 * The latency histogram as a prom-client registry reads a metric (name, help, type, get(), reset()): rendered from
 * the tallies at scrape time, in the same series prom-client's own Histogram writes (`_bucket` with cumulative
 * counts and `le`, then `_sum` and `_count`). Prometheus text has no place for anything else, so no other API is used.
 */
class TallyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly tallies: Iterable<PredictionTally>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    for (const t of this.tallies) {
      // Like prom-client, a series reset and not observed since is left out.
      if (t.histogramCount === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += t.buckets[i];
        values.push({ labels: { le: DURATION_BUCKETS[i], ...t.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: "+Inf", ...t.labels }, value: t.histogramCount, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...t.labels }, value: t.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...t.labels }, value: t.histogramCount, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const t of this.tallies) {
      t.histogramCount = 0;
      t.sum = 0;
      t.buckets.fill(0);
    }
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}
