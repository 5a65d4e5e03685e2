// What bench/mlserver.ts and bench/soak.ts share: starting `omaf serve` (compiled, see compileServer in
// load-tools.ts) and reading its ports, starting and stopping other servers (whole process groups), free ports on
// 127.0.0.1, CPU time and resident memory of a process and its descendants from /proc (Linux), and h2load runs of a
// fixed number of requests.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { h2loadArgs, processCpuSeconds, type LoadResult } from "./load-tools.ts";

/** A free TCP port on 127.0.0.1 (free when asked; the server that takes it starts right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (!address || typeof address !== "object") throw new Error("no port");
  return address.port;
}

/** A server process started by a benchmark; `output()` is the tail of what it printed (for error messages). */
export interface Started {
  child: ChildProcess;
  output(): string;
}

/**
 * Starts `command` in its own process group (so stopProcess can end its workers too), keeping the last 64 KiB of its
 * stdout and stderr. `onOutput` sees every chunk, e.g. to wait for a line.
 */
export function startProcess(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onOutput?: (all: string) => void } = {}): Started {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let text = "";
  const add = (d: string) => {
    text = (text + d).slice(-65536);
    opts.onOutput?.(text);
  };
  child.stdout!.setEncoding("utf8").on("data", add);
  child.stderr!.setEncoding("utf8").on("data", add);
  return { child, output: () => text };
}

/** SIGTERM to the process group, then SIGKILL to it after `graceMs` if the leader has not exited. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signalGroup("SIGTERM");
    const exited = once(child, "exit");
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([exited, timer]);
  }
  // Whatever the leader left behind (workers that outlived it) goes too.
  signalGroup("SIGKILL");
}

/** SIGKILL to the process group, at once (cleanup after a failure). */
export function killProcess(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Polls `url` until it answers 200, for at most `timeoutMs`; fails with the server's output if it exits first. */
export async function waitReady(url: string, server: Started, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`the server exited before ${url} was ready:\n${server.output()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The ports `omaf serve --json` reports on its listening line, by interface name. */
export type OmafPorts = Record<string, number>;

/**
 * Starts `omaf serve <artifact> --json --host 127.0.0.1 <args>` from a compiled tree (compileServer's root) and
 * answers once it prints its listening line.
 */
export async function startOmaf(root: string, artifact: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started & { ports: OmafPorts }> {
  let resolveLine: (line: string) => void = () => {};
  const line = new Promise<string>((resolve) => (resolveLine = resolve));
  const server = startProcess(process.execPath, [path.join(root, "dist", "cli", "main.js"), "serve", artifact, "--json", "--host", "127.0.0.1", ...args], {
    cwd: root,
    env,
    onOutput: (all) => {
      const m = /^(\{.*"event":"listening".*\})$/m.exec(all);
      if (m) resolveLine(m[1]);
    },
  });
  const exited = once(server.child, "exit").then(([code]) => {
    throw new Error(`omaf serve exited ${code} before listening:\n${server.output()}`);
  });
  const listening = JSON.parse(await Promise.race([line, exited])) as { listeners: { interface: string; interfaces?: string[]; port: number }[] };
  exited.catch(() => {});
  const ports: OmafPorts = {};
  for (const l of listening.listeners) for (const name of [l.interface, ...(l.interfaces ?? [])]) ports[name] = l.port;
  return { ...server, ports };
}

/** The options `omaf serve --help` of a compiled tree lists, e.g. "--max-batch-size" → "<n>" (its value placeholder). */
export function serveOptions(help: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const m of help.matchAll(/^\s+(--[a-z0-9-]+)(?: (<[^>]+>))?/gm)) options.set(m[1], m[2] ?? "");
  return options;
}

/** Every descendant of `pid` (children, their children, ...), read from /proc now. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** CPU seconds (user + system) of `pid` and of its descendants alive now; NaN off Linux. */
export function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + (processCpuSeconds(p) || 0), 0);
}

/** Resident memory of one process in bytes (VmRSS), NaN when unknown. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One h2load run of a fixed number of requests (`-n`). */
export interface H2loadCountRun {
  url: string;
  /** HTTP/1.1 (`--h1`, one request at a time per connection) or h2c (gRPC: one connection, `concurrency` streams). */
  h1: boolean;
  concurrency: number;
  requests: number;
  body: Buffer;
  headers: Record<string, string>;
  /** Called with h2load's progress (10, 20, ... 100 % of the requests done). */
  onProgress?: (percent: number) => void;
  /** Answer the count of requests that failed (no answer, or not 200) instead of failing the run. */
  allowFailures?: boolean;
}

/**
 * Runs h2load for a number of requests rather than a duration, so the run ends with nothing in flight: no request is
 * cut off at the end (a server's handling of cancelled requests stays out of the measurement). Fails unless every
 * request was answered 200; latencies come from h2load's log file. (For gRPC a 200 says nothing about the gRPC status:
 * check the answers' bytes, see checkGrpcBytes in load-tools.ts.)
 */
export async function h2loadCount(run: H2loadCountRun): Promise<LoadResult & { seconds: number; failed: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), "omaf-h2load-"));
  try {
    const bodyFile = path.join(dir, "body");
    const logFile = path.join(dir, "log");
    writeFileSync(bodyFile, run.body);
    const args = h2loadArgs(run, ["-n", String(run.requests)], bodyFile, logFile);
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const before = out.length;
      out += d;
      if (run.onProgress) for (const m of out.slice(Math.max(0, before - 40)).matchAll(/progress: (\d+)% done/g)) run.onProgress(Number(m[1]));
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const cpu0 = childrenCpu();
    const [code] = (await once(child, "close")) as [number | null];
    const clientCpuS = childrenCpu() - cpu0;
    if (code !== 0) throw new Error(`h2load ${args.join(" ")} exited ${code}:\n${out}`);
    const finished = /finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/.exec(out);
    const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const data = /\((\d+)\) data/.exec(out);
    if (!finished || !done || !codes || !data) throw new Error(`cannot read h2load's report:\n${out}`);
    const succeeded = Number(done[3]);
    const failed = run.requests - Math.min(succeeded, Number(codes[1]));
    if (failed > 0 && !run.allowFailures) throw new Error(`${run.url}: not every request answered 200:\n${out}`);
    const lat = readFileSync(logFile, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => Number(l.split("\t")[2]) / 1000);
    const sorted = Float64Array.from(lat).sort();
    const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
    const seconds = Number(finished[1]) / (finished[2] === "us" ? 1e6 : finished[2] === "ms" ? 1000 : 1);
    return { count: succeeded, perSecond: Number(finished[3]), p50Ms: pct(50), p99Ms: pct(99), clientCpuS, dataBytes: Number(data[1]), seconds, failed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system) of this process's reaped children, in seconds (Linux; NaN elsewhere). */
function childrenCpu(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // cutime and cstime (fields 16 and 17 of stat), in clock ticks of 1/100 s.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}
