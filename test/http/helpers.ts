// Small HTTP helpers for the HTTP protocol tests: JSON requests with fetch, a Prometheus text reader, free ports.
import assert from "node:assert/strict";
import { createServer } from "node:net";

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Sends one request; `body` objects are sent as JSON, strings and Buffers as they are. */
export async function http(url: string, opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(url, {
    method: opts.method ?? (body === undefined ? "GET" : "POST"),
    headers: { ...(body !== undefined && !Buffer.isBuffer(body) ? { "content-type": "application/json" } : {}), ...opts.headers },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:[0-9.e+-]+|Inf|[Nn]a[Nn]|\+Inf))$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format; fails on any line that is neither a comment nor a sample. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3].replace("+Inf", "Infinity")) });
  }
  return out;
}

/** The value of the sample `name` whose labels include `labels` (0 when there is none). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

/** A port that was free a moment ago (for tests that need two distinct known ports). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it is true (bounded by `limitMs`, then fails with `what`). */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The provenance headers every response must carry. */
export function assertProvenance(answer: HttpAnswer, model: string, version: string): void {
  assert.equal(answer.headers.get("x-omaf-model"), model);
  assert.equal(answer.headers.get("x-omaf-model-version"), version);
  assert.match(answer.headers.get("x-omaf-artifact-digest") ?? "", /^sha256:[0-9a-f]{64}$/);
  assert.ok(answer.headers.get("x-request-id"), "x-request-id is echoed");
}
