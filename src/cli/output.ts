// Shared CLI plumbing: running an action with error → exit-code mapping, printing issues, progress bars. Every
// command definition imports this file, so it imports nothing heavy (cli-progress only when a bar is shown).
import { InvalidArgumentError } from "commander";
import { toOmafError, type ValidationIssue } from "../errors.js";

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
}

/** Writes a JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One issue per line: `error OMAF_ERR_MODEL_NAME model.name: …`. */
export function formatIssue(i: ValidationIssue): string {
  return `${i.severity === "error" ? "error" : "warning"} ${i.code}${i.path ? ` ${i.path}` : ""}: ${i.message}`;
}

/**
 * Runs a command action; an error is printed with its code (as JSON with --json) and the process exit code comes
 * from the error table: 1 for invalid or rejected input, 2 for usage and I/O problems.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a): a is CommonOptions => typeof a === "object" && a !== null && !Array.isArray(a) && "json" in a);
    try {
      // An action answers its exit code, or nothing for success.
      const code = await fn(...args);
      process.exitCode = typeof code === "number" ? code : 0;
    } catch (err) {
      const e = toOmafError(err);
      if (opts?.json) printJson({ error: e.toJSON() });
      else process.stderr.write(`error ${e.code}: ${e.message}\n`);
      process.exitCode = e.exitCode;
    }
  };
}

/** A byte progress bar on an interactive stderr; nothing otherwise. */
export async function progressBar(label: string, enabled: boolean): Promise<{ update: (done: number, total: number) => void; stop: () => void }> {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const { SingleBar, Presets } = await import("cli-progress");
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB | {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0, { doneMiB: mib(0), totalMiB: mib(total) });
        started = true;
      }
      bar.update(done, { doneMiB: mib(done), totalMiB: mib(total) });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Aborts on Ctrl-C / SIGTERM so long work can clean up its temp files before exiting. */
export function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Parses an integer option within [min, max], or fails with a usage error naming the flag. */
export function integer(flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}, got "${value}"`);
    }
    return n;
  };
}

/** Collects the values of an option given several times (`--pub a.pub --pub b.pub`). */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
