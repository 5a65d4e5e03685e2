// The inference log: one pino JSON line per request, plus a few lifecycle lines (model loaded, draining).
// Writes are asynchronous and batched (sonic-boom, sync: false) so logging never blocks the request path; lines
// reach the file or stdout within 250 ms, and flush() writes out the rest before exit.
//
// The log is part of what a deployment promises (every prediction traceable), so it never fails silently: a file
// that cannot be opened is a start-up error, and a destination that fails later (disk full, a closed pipe) is
// reported through `onError` — once per failure, with how many lines could not be written.
import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { pino, type Logger } from "pino";
import { OmafError } from "../errors.js";

export interface InferenceLogOptions {
  /** File to append to; empty or undefined = stdout. */
  file?: string;
  /** Told when writing fails after start (default: a line on stderr). */
  onError?: (err: Error) => void;
}

export interface InferenceLog {
  logger: Logger;
  /** Writes out whatever is buffered. */
  flush(): Promise<void>;
}

/**
 * Creates the inference logger (JSON lines with ISO `time`, `level` as a label, no pid/hostname). A log file is
 * opened here, synchronously: one that cannot be created or written is OMAF_ERR_IO before anything is served.
 */
export function createInferenceLog(opts: InferenceLogOptions = {}): InferenceLog {
  const destination = pino.destination({
    dest: opts.file ? openLogFile(opts.file) : 1,
    sync: false,
    // Under load, one write per few KiB of lines instead of one per line; the timer bounds how long a quiet server
    // holds lines back.
    minLength: 8192,
    periodicFlush: 250,
  });
  const onError = opts.onError ?? ((err: Error) => process.stderr.write(`omaf: the inference log cannot be written: ${err.message}\n`));
  let failing = false;
  destination.on("error", (err: Error) => {
    // Reported once per outage: sonic-boom keeps trying, and a write that works again ends it.
    if (!failing) onError(err);
    failing = true;
  });
  destination.on("write", () => (failing = false));
  const logger = pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    logger,
    async flush() {
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

/** Opens (creating folders as needed) a log file for appending; OMAF_ERR_IO naming the file when that fails. */
function openLogFile(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, "a");
  } catch (err) {
    throw new OmafError("OMAF_ERR_IO", `cannot open the inference log file ${file}: ${(err as Error).message}`, { path: file }, { cause: err });
  }
}
