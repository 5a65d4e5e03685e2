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
