// Where worker pools report restarts, timeouts and what their workers print.

/** A pino-like logger; every call gets one finished line. */
export interface WorkerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Writes each line to process.stderr as it is (lines already carry their `[<kind> worker N]` prefix). */
export const stderrLogger: WorkerLogger = {
  info: (msg) => process.stderr.write(`${msg}\n`),
  warn: (msg) => process.stderr.write(`${msg}\n`),
  error: (msg) => process.stderr.write(`${msg}\n`),
};
