// ServerMetrics keeps its counts in plain numbers on the request path and renders them through prom-client at
// scrape time: the exposition must be exactly what prom-client's own Counter and Histogram write.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DURATION_BUCKETS, ServerMetrics } from "../../src/server/metrics.js";

/** `name{labels} value` lines of one metric family, as a map from the line's name and labels to its value. */
function samples(text: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe("ServerMetrics", () => {
  it("renders predictions as a cumulative histogram and a counter per protocol and status", async () => {
    const m = new ServerMetrics({ processMetrics: false });
    m.observePrediction("oip-rest", "ok", 0.0002);
    m.observePrediction("oip-rest", "ok", 0.001); // on a bound: counted in that bucket (le is inclusive)
    m.observePrediction("oip-rest", "ok", 0.3);
    m.observePrediction("oip-rest", "ok", 100); // above the largest bound: only +Inf
    m.observePrediction("kserve-v1", "OMAF_ERR_PREDICT", 0.002);
    const text = await m.text();

    const h = samples(text, "omaf_request_duration_seconds");
    const ok = 'protocol="oip-rest",status="ok"';
    const bucket = (le: string) => h.get(`omaf_request_duration_seconds_bucket{le="${le}",${ok}}`);
    assert.equal(bucket("0.0005"), 1);
    assert.equal(bucket("0.001"), 2);
    assert.equal(bucket("0.25"), 2);
    assert.equal(bucket("0.5"), 3);
    assert.equal(bucket(String(DURATION_BUCKETS.at(-1))), 3);
    assert.equal(bucket("+Inf"), 4);
    assert.equal(h.get(`omaf_request_duration_seconds_count{${ok}}`), 4);
    assert.ok(Math.abs(h.get(`omaf_request_duration_seconds_sum{${ok}}`)! - 100.3012) < 1e-9);
    assert.equal(h.get('omaf_request_duration_seconds_count{protocol="kserve-v1",status="OMAF_ERR_PREDICT"}'), 1);
    // One bucket line per bound plus +Inf, _sum and _count, per label set.
    assert.equal(h.size, 2 * (DURATION_BUCKETS.length + 3));
    assert.match(text, /# TYPE omaf_request_duration_seconds histogram/);

    const c = samples(text, "omaf_requests_total");
    assert.equal(c.get(`omaf_requests_total{${ok}}`), 4);
    assert.equal(c.get('omaf_requests_total{protocol="kserve-v1",status="OMAF_ERR_PREDICT"}'), 1);
  });

  it("keeps counting across scrapes and counts HTTP responses by code", async () => {
    const m = new ServerMetrics({ processMetrics: false });
    m.observeHttpResponse("oip-rest", 200);
    m.observeHttpResponse("http", 404);
    m.observePrediction("omi", "ok", 0.01);
    await m.text();
    m.observeHttpResponse("oip-rest", 200);
    m.observePrediction("omi", "ok", 0.01);
    const text = await m.text();
    const r = samples(text, "omaf_http_responses_total");
    assert.equal(r.get('omaf_http_responses_total{protocol="oip-rest",code="200"}'), 2);
    assert.equal(r.get('omaf_http_responses_total{protocol="http",code="404"}'), 1);
    assert.equal(samples(text, "omaf_requests_total").get('omaf_requests_total{protocol="omi",status="ok"}'), 2);
    assert.equal(samples(text, "omaf_request_duration_seconds_count").get('omaf_request_duration_seconds_count{protocol="omi",status="ok"}'), 2);
  });

  it("starts from zero after a registry reset, like prom-client's own metrics", async () => {
    const m = new ServerMetrics({ processMetrics: false });
    m.observePrediction("omi", "ok", 0.01);
    m.observePrediction("oip-grpc", "ok", 0.01);
    await m.text();
    m.registry.resetMetrics();
    m.observePrediction("omi", "ok", 0.02);
    const text = await m.text();
    const h = samples(text, "omaf_request_duration_seconds");
    assert.equal(h.get('omaf_request_duration_seconds_count{protocol="omi",status="ok"}'), 1);
    assert.equal(h.get('omaf_request_duration_seconds_sum{protocol="omi",status="ok"}'), 0.02);
    assert.equal(h.get('omaf_request_duration_seconds_count{protocol="oip-grpc",status="ok"}'), undefined, "a series reset and not observed since is left out");
    assert.equal(samples(text, "omaf_requests_total").get('omaf_requests_total{protocol="omi",status="ok"}'), 1);
    const json = await m.registry.getMetricsAsJSON();
    assert.equal(json.find((x) => x.name === "omaf_request_duration_seconds")?.type, "histogram");
  });
});
