// Prometheus metrics of one server, in their own registry (never prom-client's global one, so several servers in
// one process, e.g. tests, do not mix). Predictions are counted where every protocol passes: each model version's
// dataplane reports to its own ModelMetrics (forModel), which labels its series with `model` and `version`; HTTP
// listeners add one count per response; gauges are read from the served dataplanes at scrape time, so nothing has
// to keep them up to date.
//
// The request path only does arithmetic: each label set has a tally (counts, latency buckets, sum) found through two
// small maps held by the model's ModelMetrics, with no label objects, label validation, hashing or string building
// per call — prom-client's observe() costs that on every prediction. prom-client reads the tallies when it is
// scraped: the counters take the increments since the last scrape (so they stay ordinary prom-client counters), the
// histograms render their tallies themselves.
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from "prom-client";
import type { DataPlane, DataPlaneMetrics } from "../dataplane/dataplane.js";

/** Latency buckets in seconds: from sub-millisecond tabular models up to the default 30 s request timeout. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets of the batch-size histogram: requests per model call. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Buckets of the queue-time histogram, in seconds: from no wait to well past any sensible --max-batch-time. */
export const QUEUE_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

export interface ServerMetricsOptions {
  /** Also collect prom-client's process metrics (CPU, memory, event loop, GC); on by default. */
  processMetrics?: boolean;
}

/** The served dataplanes whose gauges a scrape reads (the model registry, or one dataplane). */
export interface WatchedModels {
  dataplanes(): Iterable<DataPlane>;
}

/** One histogram series: its own count, sum and buckets (a histogram reset zeroes them, not a counter's). */
interface HistogramTally {
  labels: Record<string, string>;
  observations: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot counts those above the largest bound. */
  buckets: Float64Array;
}

/** Predictions of one (model, version, protocol, status): a counter and a latency histogram. */
interface PredictionTally extends HistogramTally {
  count: number;
  /** `count` as the requests counter last saw it. */
  exported: number;
}

/** HTTP responses of one (protocol, code). */
interface ResponseTally {
  labels: { protocol: string; code: string };
  count: number;
  exported: number;
}

function histogramTally(labels: Record<string, string>, bounds: readonly number[]): HistogramTally {
  return { labels, observations: 0, sum: 0, buckets: new Float64Array(bounds.length + 1) };
}

function observe(t: HistogramTally, bounds: readonly number[], value: number): void {
  t.observations++;
  t.sum += value;
  let i = 0;
  // Buckets are few and most values land in the first ones.
  while (i < bounds.length && value > bounds[i]) i++;
  t.buckets[i]++;
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

/**
 * The tallies of one set of labels — a model version's (`model`, `version`), or none for requests no served model
 * answered (an unknown model on a server of several) — and the DataPlaneMetrics its dataplane reports to.
 */
export class ModelMetrics implements DataPlaneMetrics {
  /** @internal */
  readonly predictions: Tallies<PredictionTally>;
  /** @internal */
  readonly batchSize: HistogramTally;
  /** @internal */
  readonly queueDuration: HistogramTally;

  constructor(readonly labels: Readonly<Record<string, string>>) {
    this.predictions = new Tallies((protocol, status) => ({
      ...histogramTally({ ...labels, protocol, status }, DURATION_BUCKETS),
      count: 0,
      exported: 0,
    }));
    this.batchSize = histogramTally({ ...labels }, BATCH_SIZE_BUCKETS);
    this.queueDuration = histogramTally({ ...labels }, QUEUE_BUCKETS);
  }

  /** The tally observePrediction() used last, and its labels: a run of requests alike skips the two map lookups. */
  private lastProtocol = "";
  private lastStatus = "";
  private lastTally?: PredictionTally;

  /** The dataplane's hook: one finished (or refused) prediction. */
  observePrediction(protocol: string, status: string, seconds: number): void {
    if (this.lastTally === undefined || this.lastProtocol !== protocol || this.lastStatus !== status) {
      this.lastProtocol = protocol;
      this.lastStatus = status;
      this.lastTally = this.predictions.get(protocol, status);
    }
    const t = this.lastTally;
    t.count++;
    observe(t, DURATION_BUCKETS, seconds);
  }

  /** The batcher's hook: one model call that merged `size` requests, and how long each waited. */
  observeBatch(size: number, queueSeconds: readonly number[]): void {
    observe(this.batchSize, BATCH_SIZE_BUCKETS, size);
    for (const s of queueSeconds) observe(this.queueDuration, QUEUE_BUCKETS, s);
  }
}

export class ServerMetrics implements DataPlaneMetrics {
  readonly registry = new Registry();
  /** Requests no served model answered; also what a dataplane given this object directly reports to. */
  private readonly unattributed = new ModelMetrics({});
  private readonly models = new Map<string, Map<string, ModelMetrics>>();
  private readonly all: ModelMetrics[] = [this.unattributed];
  private readonly responses = new Tallies<ResponseTally>((protocol, code) => ({ labels: { protocol, code }, count: 0, exported: 0 }));
  /** HTTP status codes as label text, without a String() per response. */
  private readonly codeText = new Map<number, string>();
  private watched?: WatchedModels;

  constructor(opts: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    const { responses, all } = this;
    const predictions = function* () {
      for (const m of all) yield* m.predictions;
    };
    new Counter({
      name: "omaf_requests_total",
      help: "Predictions answered, by model, version, protocol and outcome (status is ok or the OMAF_ERR_ code).",
      labelNames: ["model", "version", "protocol", "status"],
      registers,
      collect() {
        for (const t of predictions()) takeIncrement(this, t);
      },
    });
    const histogram = (name: string, help: string, bounds: readonly number[], tallies: () => Iterable<HistogramTally>) =>
      this.registry.registerMetric(new TallyHistogram(name, help, bounds, tallies) as unknown as Metric);
    histogram(
      "omaf_request_duration_seconds",
      "Time per prediction, admission to answer, by model, version, protocol and outcome.",
      DURATION_BUCKETS,
      predictions,
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
    const gauge = (name: string, help: string, value: (dataplane: DataPlane) => number) => {
      const self = this;
      new Gauge({
        name,
        help,
        labelNames: ["model", "version"],
        registers,
        collect() {
          // Models unloaded since the last scrape leave the gauge.
          this.reset();
          for (const dp of self.watched?.dataplanes() ?? []) {
            this.set({ model: dp.provenance.modelName, version: dp.provenance.modelVersion }, value(dp));
          }
        },
      });
    };
    gauge("omaf_in_flight_requests", "Requests admitted by the model's dataplane and not answered yet.", (dp) => dp.inFlightCount);
    gauge("omaf_model_ready", "1 while the model version is loaded and accepts requests, else 0.", (dp) => (dp.ready ? 1 : 0));
    gauge("omaf_model_load_seconds", "How long the model version's last successful load took (0 before one).", (dp) => (dp.loadTimeMs ?? 0) / 1000);
    gauge("omaf_max_batch_size", "The adaptive batching setting: most rows merged into one model call (0 = batching off).", (dp) => dp.batching.maxBatchSize);
    // Batches are one per model call, fewer than requests; their tallies are kept like the predictions'.
    histogram(
      "omaf_batch_size",
      "Requests merged into each model call by adaptive batching (Triton: nv_inference_exec_count per batch).",
      BATCH_SIZE_BUCKETS,
      () => all.map((m) => m.batchSize),
    );
    histogram(
      "omaf_queue_duration_seconds",
      "Time each request waited in the batching queue before its model call started (Triton: nv_inference_queue_duration_us).",
      QUEUE_BUCKETS,
      () => all.map((m) => m.queueDuration),
    );
    // Event-loop lag is sampled every 100 ms rather than prom-client's 10 ms: a stall still delays the next sample by
    // its length, and a replica at rest is not woken 100 times a second for it (about 0.6 % of a core here).
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /**
   * The metrics a model version's dataplane reports to (DataPlaneOptions.metrics), its series labelled with `model`
   * and `version`. The same object for the same name and version, so a version loaded again continues its counts.
   */
  forModel(model: string, version: string): ModelMetrics {
    let versions = this.models.get(model);
    if (!versions) this.models.set(model, (versions = new Map()));
    let m = versions.get(version);
    if (!m) {
      versions.set(version, (m = new ModelMetrics({ model, version })));
      this.all.push(m);
    }
    return m;
  }

  /** Reads the gauges from these models (or this one dataplane) from now on. */
  watch(models: WatchedModels | DataPlane): void {
    this.watched = "dataplanes" in models ? models : { dataplanes: () => [models] };
  }

  /** A prediction no served model answered (e.g. a request for an unknown model): counted without model labels. */
  observePrediction(protocol: string, status: string, seconds: number): void {
    this.unattributed.observePrediction(protocol, status, seconds);
  }

  /** A batch reported by a dataplane given this object directly: counted without model labels. */
  observeBatch(size: number, queueSeconds: readonly number[]): void {
    this.unattributed.observeBatch(size, queueSeconds);
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
 * A histogram as a prom-client registry reads a metric (name, help, type, get(), reset()): rendered from tallies at
 * scrape time, in the same series prom-client's own Histogram writes (`_bucket` with cumulative counts and `le`, then
 * `_sum` and `_count`). Prometheus text has no place for anything else, so no other API is used.
 */
class TallyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    private readonly tallies: () => Iterable<HistogramTally>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    for (const t of this.tallies()) {
      // Like prom-client, a series reset (or never observed) is left out.
      if (t.observations === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += t.buckets[i];
        values.push({ labels: { le: this.bounds[i], ...t.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: "+Inf", ...t.labels }, value: t.observations, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...t.labels }, value: t.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...t.labels }, value: t.observations, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const t of this.tallies()) {
      t.observations = 0;
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
