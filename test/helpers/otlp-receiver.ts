// A small OTLP/HTTP trace receiver for tests: a node:http server on 127.0.0.1 that takes the export requests of
// @opentelemetry/exporter-trace-otlp-http (JSON, `POST /v1/traces`, gzip or not), answers them as a collector does and
// keeps every span, flattened with its resource's attributes.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** OTLP span kinds as JSON numbers them. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP status codes. */
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** Nanoseconds since the epoch, as BigInt. */
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message?: string };
  resource: Record<string, string | number | boolean>;
  scope: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>` (spans are posted to `/v1/traces` under it). */
  url: string;
  spans: ReceivedSpan[];
  /** Every request received: path, content type and content encoding. */
  requests: { path: string; contentType?: string; contentEncoding?: string }[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}

function attributeValue(v: OtlpValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  throw new Error(`unexpected attribute value ${JSON.stringify(v)}`);
}

const attributesOf = (list: { key: string; value: OtlpValue }[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]));

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver["requests"] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", contentType: req.headers["content-type"], contentEncoding: req.headers["content-encoding"] });
    bodyOf(req).then(
      (body) => {
        if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).startsWith("application/json")) {
          res.writeHead(404).end();
          return;
        }
        const doc = JSON.parse(body.toString("utf8")) as {
          resourceSpans: {
            resource?: { attributes?: { key: string; value: OtlpValue }[] };
            scopeSpans: {
              scope?: { name?: string };
              spans: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind: number;
                startTimeUnixNano: string | number;
                endTimeUnixNano: string | number;
                attributes?: { key: string; value: OtlpValue }[];
                status?: { code?: number; message?: string };
              }[];
            }[];
          }[];
        };
        for (const rs of doc.resourceSpans) {
          const resource = attributesOf(rs.resource?.attributes);
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? "",
                name: s.name,
                kind: s.kind,
                start: BigInt(s.startTimeUnixNano),
                end: BigInt(s.endTimeUnixNano),
                attributes: attributesOf(s.attributes),
                status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
                resource,
                scope: ss.scope?.name ?? "",
              });
            }
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      },
      () => res.writeHead(400).end(),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
