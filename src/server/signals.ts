// SIGTERM/SIGINT → graceful stop; a second signal cuts in-flight requests. Kept apart from the server and the
// protocols so they stay usable inside other programs (tests, embedding) without touching process signals.
import type { RunningServer } from "./server.js";

const SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];

/** Wires stop signals to `server`; returns a function that unwires them. */
export function handleStopSignals(server: RunningServer, onSignal?: (signal: NodeJS.Signals, count: number) => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count++;
    onSignal?.(signal, count);
    if (count === 1) void server.stop(signal);
    else server.forceStop();
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => {
    for (const s of SIGNALS) process.off(s, handler);
  };
}

/**
 * Crash-only: after an uncaught exception or an unhandled rejection the process is in a state nobody planned for, so
 * it stops admitting work, drains what it can within the drain timeout, and the caller exits non-zero for its
 * supervisor (Kubernetes, systemd) to restart it. `onFatal` is told first (to report it). Returns an unwire function.
 */
export function stopOnFatalErrors(server: RunningServer, onFatal: (kind: string, err: unknown) => void): () => void {
  let fatal = false;
  const handler = (kind: string) => (err: unknown) => {
    onFatal(kind, err);
    if (fatal) return;
    fatal = true;
    void server.stop(kind);
  };
  const onException = handler("uncaught exception");
  const onRejection = handler("unhandled rejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
