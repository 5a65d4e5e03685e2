// Prometheus metrics of one server, in their own registry (never prom-client's global one, so several servers in
// one process, e.g. tests, do not mix). Predictions are counted where every protocol passes: the dataplane calls
// observePrediction() once per prediction; HTTP listeners add one count per response; gauges are read from the
// dataplane at scrape time, so nothing has to keep them up to date.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DataPlane, DataPlaneMetrics } from "../dataplane/dataplane.js";

/** Latency buckets in seconds: from sub-millisecond tabular models up to the default 30 s request timeout. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServerMetricsOptions {
  /** Also collect prom-client's process metrics (CPU, memory, event loop, GC); on by default. */
  processMetrics?: boolean;
}

export class ServerMetrics implements DataPlaneMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"protocol" | "status">;
  private readonly duration: Histogram<"protocol" | "status">;
  private readonly httpResponses: Counter<"protocol" | "code">;
  private dataplane?: DataPlane;

  constructor(opts: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "omaf_requests_total",
      help: "Predictions answered, by protocol and outcome (status is ok or the OMAF_ERR_ code).",
      labelNames: ["protocol", "status"],
      registers,
    });
    this.duration = new Histogram({
      name: "omaf_request_duration_seconds",
      help: "Time the model took per prediction, by protocol and outcome.",
      labelNames: ["protocol", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.httpResponses = new Counter({
      name: "omaf_http_responses_total",
      help: "HTTP responses sent, by protocol and HTTP status code (includes requests refused before a prediction).",
      labelNames: ["protocol", "code"],
      registers,
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
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the gauges from this dataplane from now on. */
  watch(dataplane: DataPlane): void {
    this.dataplane = dataplane;
  }

  /** The dataplane's hook: one finished (or refused) prediction. */
  observePrediction(protocol: string, status: string, seconds: number): void {
    this.requests.inc({ protocol, status });
    this.duration.observe({ protocol, status }, seconds);
  }

  /** One HTTP response. */
  observeHttpResponse(protocol: string, code: number): void {
    this.httpResponses.inc({ protocol, code: String(code) });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
