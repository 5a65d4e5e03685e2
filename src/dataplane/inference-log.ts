// The inference log: one pino JSON line per prediction, plus a few lifecycle lines (model loaded, draining).
// Writes are asynchronous and batched (sonic-boom, sync: false) so logging never blocks the request path; lines
// reach the file or stdout within 250 ms, and flush() writes out the rest before exit.
import { pino, type Logger } from "pino";

export interface InferenceLogOptions {
  /** File to append to; empty or undefined = stdout. */
  file?: string;
}

export interface InferenceLog {
  logger: Logger;
  /** Writes out whatever is buffered. */
  flush(): Promise<void>;
}

/** Creates the inference logger (JSON lines with ISO `time`, `level` as a label, no pid/hostname). */
export function createInferenceLog(opts: InferenceLogOptions = {}): InferenceLog {
  const destination = pino.destination({
    dest: opts.file ? opts.file : 1,
    sync: false,
    mkdir: Boolean(opts.file),
    // Under load, one write per few KiB of lines instead of one per line; the timer bounds how long a quiet server
    // holds lines back.
    minLength: 8192,
    periodicFlush: 250,
  });
  const logger = pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  // sonic-boom opens a file asynchronously and refuses to flush before that; remember when it is open (or failed).
  const opened = new Promise<void>((resolve) => {
    destination.once("ready", () => resolve());
    destination.once("error", () => resolve());
  });
  return {
    logger,
    async flush() {
      await opened;
      await new Promise<void>((resolve) => {
        try {
          logger.flush(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}
