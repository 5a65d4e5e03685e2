// Options of the python environment, and where they come from: the caller, else OMAF_PYTHON* variables, else defaults.
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { OmafError } from "../../errors.js";
import { stderrLogger, type WorkerLogger } from "../workers/logger.js";

/** A pino-like logger; every call gets one finished line. */
export type PythonLogger = WorkerLogger;

/** How the matrix reaches predict_on_matrix(): a list of row lists (what Odahu passes) or a numpy array. */
export type MatrixFormat = "list" | "numpy";

/** Tunables of the Python bridge. */
export interface PythonOptions {
  /** Interpreter of the model's environment. Default: OMAF_PYTHON, else `python3` on PATH. */
  python?: string;
  /** Worker processes. Default: OMAF_PYTHON_WORKERS, else the number of CPUs. */
  workers?: number;
  /** Longest a prediction may take (queueing included) before OMAF_ERR_TIMEOUT; 0 = no limit. Default 30000. */
  requestTimeoutMs?: number;
  /** Matrix form handed to the model. Default: OMAF_PYTHON_MATRIX, else "list". */
  matrixFormat?: MatrixFormat;
  /** Where worker output and restarts are logged. Default: process.stderr. */
  logger?: PythonLogger;
  /**
   * Check, before the workers start, that the interpreter can import what `binaries.conda_path` declares. Default:
   * OMAF_PYTHON_CHECK_DEPS (`0` or `false` turns it off), else on.
   */
  checkDependencies?: boolean;
}

/** Resolved options. */
export interface PythonSettings {
  python: string;
  workers: number;
  requestTimeoutMs: number;
  matrixFormat: MatrixFormat;
  logger: PythonLogger;
  checkDependencies: boolean;
}

export const DEFAULT_PYTHON = "python3";
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The worker script shipped in the package's `python/` folder (same depth from src/ and dist/). */
export const WORKER_SCRIPT = fileURLToPath(new URL("../../../python/omaf_worker.py", import.meta.url));

export { stderrLogger };

function settingsError(name: string, value: unknown, expected: string): OmafError {
  return new OmafError("OMAF_ERR_SETTINGS", `${name} is ${JSON.stringify(value)}; expected ${expected}`, { name, value });
}

/** The interpreter to run: the option, else OMAF_PYTHON, else `python3`. */
export function resolvePython(python: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen: unknown = python ?? (env.OMAF_PYTHON || undefined) ?? DEFAULT_PYTHON;
  if (typeof chosen !== "string" || chosen.trim() === "") throw settingsError("python", chosen, "an interpreter name or path");
  return chosen;
}

/** Fills in every option from the environment and defaults; a bad value is OMAF_ERR_SETTINGS. */
export function resolvePythonSettings(opts: PythonOptions, env: NodeJS.ProcessEnv = process.env): PythonSettings {
  let workers = opts.workers;
  if (workers === undefined && env.OMAF_PYTHON_WORKERS) {
    workers = Number(env.OMAF_PYTHON_WORKERS);
    if (!Number.isInteger(workers) || workers < 1) {
      throw settingsError("OMAF_PYTHON_WORKERS", env.OMAF_PYTHON_WORKERS, "a whole number of at least 1");
    }
  }
  workers ??= availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw settingsError("workers", workers, "a whole number of at least 1");

  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 0) {
    throw settingsError("requestTimeoutMs", requestTimeoutMs, "a whole number of milliseconds (0 = no limit)");
  }

  const matrixFormat = opts.matrixFormat ?? ((env.OMAF_PYTHON_MATRIX || "list") as MatrixFormat);
  if (matrixFormat !== "list" && matrixFormat !== "numpy") {
    throw settingsError(opts.matrixFormat ? "matrixFormat" : "OMAF_PYTHON_MATRIX", matrixFormat, "'list' or 'numpy'");
  }

  const check = env.OMAF_PYTHON_CHECK_DEPS?.trim().toLowerCase();
  if (check !== undefined && check !== "" && !["0", "1", "true", "false"].includes(check)) {
    throw settingsError("OMAF_PYTHON_CHECK_DEPS", env.OMAF_PYTHON_CHECK_DEPS, "1, 0, true or false");
  }
  const checkDependencies = opts.checkDependencies ?? !(check === "0" || check === "false");

  return {
    python: resolvePython(opts.python, env),
    workers,
    requestTimeoutMs,
    matrixFormat,
    logger: opts.logger ?? stderrLogger,
    checkDependencies,
  };
}
