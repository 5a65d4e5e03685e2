// Options of the node environment, and where they come from: the caller, else OMAF_NODE_* variables, else defaults.
import { availableParallelism } from "node:os";
import { OmafError } from "../../errors.js";
import { stderrLogger, type WorkerLogger } from "../workers/logger.js";

/** Tunables of the node environment. */
export interface NodeOptions {
  /** Worker threads; 0 = one per CPU. Default: OMAF_NODE_WORKERS, else one per CPU. */
  workers?: number;
  /**
   * Run the model in the server's own thread instead (OMAF_NODE_IN_PROCESS): no thread crossing, but a model stuck
   * in a loop then stops the whole server, and the request timeout cannot end it.
   */
  inProcess?: boolean;
  /** Longest a prediction may take (queueing included) before OMAF_ERR_TIMEOUT and a new worker; 0 = no limit. Default 30000. */
  requestTimeoutMs?: number;
  /** Heap limit of each worker thread in MiB: one that needs more fails its request and is replaced. Default: V8's. */
  maxHeapMb?: number;
  /** Where restarts and timeouts are logged. Default: process.stderr. */
  logger?: WorkerLogger;
}

/** Resolved options. */
export interface NodeSettings {
  workers: number;
  inProcess: boolean;
  requestTimeoutMs: number;
  maxHeapMb?: number;
  logger: WorkerLogger;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

function settingsError(name: string, value: unknown, expected: string): OmafError {
  return new OmafError("OMAF_ERR_SETTINGS", `${name} is ${JSON.stringify(value)}; expected ${expected}`, { name, value });
}

const wholeNumber = (name: string, value: unknown, min: number): number => {
  const n = typeof value === "string" ? (/^\s*\d+\s*$/.test(value) ? Number(value) : NaN) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) throw settingsError(name, value, `a whole number of at least ${min}`);
  return n;
};

/** Fills in every option from the environment and defaults; a bad value is OMAF_ERR_SETTINGS. */
export function resolveNodeSettings(opts: NodeOptions, env: NodeJS.ProcessEnv = process.env): NodeSettings {
  const workers =
    opts.workers !== undefined
      ? wholeNumber("workers", opts.workers, 0)
      : env.OMAF_NODE_WORKERS
        ? wholeNumber("OMAF_NODE_WORKERS", env.OMAF_NODE_WORKERS, 0)
        : 0;
  let inProcess = opts.inProcess;
  if (inProcess === undefined && env.OMAF_NODE_IN_PROCESS) {
    const text = env.OMAF_NODE_IN_PROCESS.trim().toLowerCase();
    if (!["1", "true", "yes", "on", "0", "false", "no", "off"].includes(text)) {
      throw settingsError("OMAF_NODE_IN_PROCESS", env.OMAF_NODE_IN_PROCESS, "true or false");
    }
    inProcess = ["1", "true", "yes", "on"].includes(text);
  }
  return {
    workers: workers === 0 ? availableParallelism() : workers,
    inProcess: inProcess ?? false,
    requestTimeoutMs: wholeNumber("requestTimeoutMs", opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 0),
    ...(opts.maxHeapMb !== undefined ? { maxHeapMb: wholeNumber("maxHeapMb", opts.maxHeapMb, 1) } : {}),
    logger: opts.logger ?? stderrLogger,
  };
}
