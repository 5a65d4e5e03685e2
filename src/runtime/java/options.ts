// Options of the java environment, and where they come from: the caller, else OMAF_JAVA* variables, else defaults.
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OmafError } from "../../errors.js";
import { stderrLogger, type WorkerLogger } from "../workers/logger.js";

/** Tunables of the Java (GJPI) bridge. */
export interface JavaOptions {
  /** The `java` launcher (a JDK 17 or later). Default: OMAF_JAVA, else `java` on PATH. */
  java?: string;
  /** Worker processes (JVMs); 0 = one per CPU. Default: OMAF_JAVA_WORKERS, else one per CPU. */
  workers?: number;
  /** Extra JVM options, e.g. ["-Xmx512m"]; a string is split at white space. Default: OMAF_JAVA_OPTS, else none. */
  jvmOptions?: string[] | string;
  /** Longest a prediction may take (queueing included) before OMAF_ERR_TIMEOUT; 0 = no limit. Default 30000. */
  requestTimeoutMs?: number;
  /** Where the worker's compiled classes are kept (once per worker source and launcher). Default: the temp folder. */
  cacheDir?: string;
  /** Where worker output and restarts are logged. Default: process.stderr. */
  logger?: WorkerLogger;
}

/** Resolved options. */
export interface JavaSettings {
  java: string;
  workers: number;
  jvmOptions: string[];
  requestTimeoutMs: number;
  cacheDir: string;
  logger: WorkerLogger;
}

export const DEFAULT_JAVA = "java";
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The worker source shipped in the package's `java/` folder (same depth from src/ and dist/). */
export const WORKER_SOURCE = fileURLToPath(new URL("../../../java/OmafWorker.java", import.meta.url));

function settingsError(name: string, value: unknown, expected: string): OmafError {
  return new OmafError("OMAF_ERR_SETTINGS", `${name} is ${JSON.stringify(value)}; expected ${expected}`, { name, value });
}

/** JVM options from text: split at white space (no quoting; one option per word, as JAVA_TOOL_OPTIONS reads them). */
export function splitJvmOptions(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Fills in every option from the environment and defaults; a bad value is OMAF_ERR_SETTINGS. */
export function resolveJavaSettings(opts: JavaOptions, env: NodeJS.ProcessEnv = process.env): JavaSettings {
  const java: unknown = opts.java ?? (env.OMAF_JAVA || undefined) ?? DEFAULT_JAVA;
  if (typeof java !== "string" || java.trim() === "") throw settingsError("java", java, "a java launcher name or path");

  let workers: unknown = opts.workers;
  let name = "workers";
  if (workers === undefined && env.OMAF_JAVA_WORKERS) {
    name = "OMAF_JAVA_WORKERS";
    workers = /^\s*\d+\s*$/.test(env.OMAF_JAVA_WORKERS) ? Number(env.OMAF_JAVA_WORKERS) : env.OMAF_JAVA_WORKERS;
  }
  workers ??= 0;
  if (typeof workers !== "number" || !Number.isInteger(workers) || workers < 0) {
    throw settingsError(name, name === "workers" ? workers : env.OMAF_JAVA_WORKERS, "a whole number (0 = one per CPU)");
  }

  const rawOpts = opts.jvmOptions ?? env.OMAF_JAVA_OPTS ?? "";
  const jvmOptions = typeof rawOpts === "string" ? splitJvmOptions(rawOpts) : rawOpts;
  if (!Array.isArray(jvmOptions) || !jvmOptions.every((o) => typeof o === "string")) {
    throw settingsError("jvmOptions", rawOpts, "a list of JVM options or a string of them");
  }

  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 0) {
    throw settingsError("requestTimeoutMs", requestTimeoutMs, "a whole number of milliseconds (0 = no limit)");
  }
  return {
    java,
    workers: workers === 0 ? availableParallelism() : workers,
    jvmOptions,
    requestTimeoutMs,
    cacheDir: opts.cacheDir ?? join(tmpdir(), "omaf-java"),
    logger: opts.logger ?? stderrLogger,
  };
}
