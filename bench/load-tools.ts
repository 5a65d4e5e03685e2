// What bench/serve.ts and bench/omi.ts share: the server under test as compiled JavaScript (what the published CLI
// runs), a load generator that does not compete with the server for the CPU (h2load, written in C), and CPU
// accounting per process.
//
// h2load comes with Debian's nghttp2-client package: `apt-get install -y nghttp2-client`. Without it the benchmarks
// fall back to load generators in the benchmark's own Node process (autocannon for HTTP/1.1, grpc-js for gRPC) and
// say so: those spend about as much CPU per request as the server does, so on a small machine they measure
// themselves as much as the server.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";

/**
 * Transpiles src/ (and the given extra TypeScript files) to JavaScript in a fresh temporary folder laid out like
 * the published package (dist/ beside spec/, schemas/, python/ and package.json, which are linked, as is
 * node_modules). Answers the folder; `remove()` deletes it.
 */
export function compileServer(repo: string, extra: string[] = []): { root: string; remove(): void } {
  const root = mkdtempSync(path.join(tmpdir(), "omaf-bench-js-"));
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) return walk(p);
      return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
    });
  const emit = (file: string, out: string) => {
    const js = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, js);
  };
  const src = path.join(repo, "src");
  for (const file of walk(src)) emit(file, path.join(root, "dist", path.relative(src, file).replace(/\.ts$/, ".js")));
  for (const file of extra) emit(file, path.join(root, path.relative(repo, file).replace(/\.ts$/, ".js")));
  for (const name of ["node_modules", "spec", "schemas", "python", "package.json"]) symlinkSync(path.join(repo, name), path.join(root, name));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The h2load version line, or undefined when h2load is not installed. */
export function h2loadVersion(): string | undefined {
  const r = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] : undefined;
}

/** One h2load run's outcome. */
export interface LoadResult {
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) the load generator used, in seconds. */
  clientCpuS: number;
  /** Bytes of response bodies (DATA frames) received. */
  dataBytes: number;
}

export interface H2loadRun {
  url: string;
  /** HTTP/1.1 (`--h1`, one request at a time per connection) or h2c (gRPC). */
  h1: boolean;
  /** HTTP/1.1: connections. h2c: concurrent streams on one connection (as one gRPC channel). */
  concurrency: number;
  seconds: number;
  body: Buffer;
  headers: Record<string, string>;
}

/** CPU time (user + system) of this process's reaped children, in seconds (Linux; NaN elsewhere). */
function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of stat (cutime, cstime) are at 13 and 14 after the command name; in clock ticks (100/s).
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

/** utime + stime of a process (all its threads) in seconds, from /proc (Linux); NaN elsewhere. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name; in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * h2load's arguments for one run: HTTP/1.1 connections or h2c streams on one connection, one thread, `limit`
 * (`-D seconds` or `-n requests`), the body from a file, every request's latency in `logFile`.
 */
export function h2loadArgs(run: Pick<H2loadRun, "url" | "h1" | "concurrency" | "headers">, limit: string[], bodyFile: string, logFile: string): string[] {
  return [
    ...(run.h1 ? ["--h1", "-c", String(run.concurrency)] : ["-c", "1", "-m", String(run.concurrency)]),
    "-t",
    "1",
    ...limit,
    "-d",
    bodyFile,
    `--log-file=${logFile}`,
    ...Object.entries(run.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    run.url,
  ];
}

/**
 * Runs h2load for `seconds` and reads every request's latency from its log file. Fails unless every request was
 * answered 200. (For gRPC that says nothing about the gRPC status, which travels in trailers: callers check the
 * body bytes against a known answer, see checkGrpcAnswer.)
 */
export async function h2load(run: H2loadRun): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "omaf-h2load-"));
  try {
    const bodyFile = path.join(dir, "body");
    const logFile = path.join(dir, "log");
    writeFileSync(bodyFile, run.body);
    const args = h2loadArgs(run, ["-D", String(run.seconds)], bodyFile, logFile);
    const cpu0 = childrenCpuSeconds();
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    const clientCpuS = childrenCpuSeconds() - cpu0;
    if (code !== 0) throw new Error(`h2load ${args.join(" ")} exited ${code}:\n${out}`);
    const perSecond = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1]);
    const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const data = /\((\d+)\) data/.exec(out);
    if (!done || !codes || !data || !Number.isFinite(perSecond)) throw new Error(`cannot read h2load's report:\n${out}`);
    const succeeded = Number(done[3]);
    // (A request still in flight at the stop may have its status counted but not be done: compare the non-2xx ones.)
    const refused = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
    if (Number(done[4]) > 0 || Number(done[5]) > 0 || refused > 0) throw new Error(`${run.url}: not every request answered 200:\n${out}`);
    const lat = readFileSync(logFile, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => Number(l.split("\t")[2]) / 1000);
    const sorted = Float64Array.from(lat).sort();
    const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
    return { count: succeeded, perSecond, p50Ms: pct(50), p99Ms: pct(99), clientCpuS, dataBytes: Number(data[1]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A gRPC request body as it travels: 1 byte compression flag (0), 4 bytes big-endian length, the message. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/**
 * Sends one gRPC call exactly as h2load will (same path, headers and body) over node:http2 and checks it: HTTP 200,
 * `grpc-status: 0` in the trailers, and an answer `check` accepts. Answers the body's length, which every answer of
 * the load run must have too (the answers are identical), so an h2load run can be checked by its byte count.
 */
export async function checkGrpcAnswer(
  authority: string,
  pathName: string,
  body: Buffer,
  headers: Record<string, string>,
  check: (message: Buffer) => void,
): Promise<number> {
  const session = http2.connect(authority);
  try {
    return await new Promise<number>((resolve, reject) => {
      session.once("error", reject);
      const req = session.request({ ":method": "POST", ":path": pathName, ...headers });
      const chunks: Buffer[] = [];
      let status = 0;
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("trailers", (t) => {
        if (String(t["grpc-status"]) !== "0") reject(new Error(`${pathName}: grpc-status ${String(t["grpc-status"])}: ${String(t["grpc-message"])}`));
      });
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("error", reject);
      req.on("end", () => {
        const all = Buffer.concat(chunks);
        try {
          if (status !== 200) throw new Error(`${pathName}: HTTP ${status}`);
          if (all.length < 5 || all.readUInt32BE(1) !== all.length - 5) throw new Error(`${pathName}: not one gRPC message (${all.length} bytes)`);
          check(all.subarray(5));
          resolve(all.length);
        } catch (err) {
          reject(err);
        }
      });
      req.end(body);
    });
  } finally {
    session.close();
  }
}

/**
 * A gRPC load run is only valid if every request got the full answer: an error answer (a gRPC status in the trailers
 * with HTTP 200) carries no message. Requests still in flight when h2load stops may be cut short, so up to
 * `concurrency` answers may be missing.
 */
export function checkGrpcBytes(label: string, r: LoadResult, answerBytes: number, concurrency: number): void {
  const full = Math.floor(r.dataBytes / answerBytes);
  if (full < r.count - concurrency) {
    throw new Error(`${label}: only ${full} of ${r.count} answers carried a message (gRPC errors?)`);
  }
}
