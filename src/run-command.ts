// Running a helper program to its end — python to make an environment, pip, conda, a container engine, npm — with its
// output collected (the last part of it: enough for an error message, bounded however much a program prints) and,
// when asked, passed on as it comes. One way for every caller: each only decides what a failure means to it.
import { spawn, type ChildProcess } from "node:child_process";

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Each chunk of stdout and stderr as it comes (progress of a long install or build). */
  onOutput?: (chunk: string) => void;
  /** Aborting stops the program (SIGTERM); the result then comes when it has exited. */
  signal?: AbortSignal;
  /** Past this, the program is killed (SIGKILL) and the result says `timedOut`. */
  timeoutMs?: number;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** How many characters of each stream's end the result keeps (default OUTPUT_KEPT). */
  keep?: number;
}

export interface CommandResult {
  /** The exit code; null when a signal ended the program. */
  code: number | null;
  /** The signal that ended the program, if one did. */
  signal: NodeJS.Signals | null;
  /** The last `keep` characters of each stream, and of both as they came. */
  stdout: string;
  stderr: string;
  output: string;
  timedOut: boolean;
}

/** How much of each stream's end a result keeps by default. */
export const OUTPUT_KEPT = 64 * 1024;

/**
 * Runs `cmd` with `args` (no shell) until it exits. Rejects only when it cannot be started — the spawn error as Node
 * gives it, with its `code` (ENOENT when it is not found, EACCES) — and resolves whatever the exit code.
 */
export function runCommand(cmd: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    } catch (err) {
      reject(err);
      return;
    }
    const result: CommandResult = { code: null, signal: null, stdout: "", stderr: "", output: "", timedOut: false };
    const kept = opts.keep ?? OUTPUT_KEPT;
    const keep = (stream: "stdout" | "stderr") => (chunk: string) => {
      result[stream] = (result[stream] + chunk).slice(-kept);
      result.output = (result.output + chunk).slice(-kept);
      opts.onOutput?.(chunk);
    };
    child.stdout!.setEncoding("utf8").on("data", keep("stdout"));
    child.stderr!.setEncoding("utf8").on("data", keep("stderr"));
    if (opts.input !== undefined) {
      // A program that exits without reading its input is not an error here; its exit code tells.
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(opts.input);
    }
    const onAbort = () => child.kill("SIGTERM");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            result.timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    child.on("error", (err) => {
      settle();
      reject(err);
    });
    child.on("close", (code, signal) => {
      settle();
      resolve({ ...result, code, signal });
    });
  });
}

/** True for the error of a program that could not be started because it is missing or not executable. */
export function isNotRunnable(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "EACCES";
}
