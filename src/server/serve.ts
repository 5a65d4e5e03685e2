// serveArtifact: everything `omaf serve` does before it waits — materialise the artifact, build its Model, the
// inference log, metrics and dataplane, start the chosen listeners and (unless lazy) load the model.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { materializeArtifact, type MaterializedArtifact } from "../artifact/materialize.js";
import { resolveModelSource } from "../artifact/model-source.js";
import { createInferenceLog } from "../dataplane/inference-log.js";
import { DataPlane, type BatchingOptions } from "../dataplane/dataplane.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { OmafError, toOmafError } from "../errors.js";
import { createModel } from "../runtime/load.js";
import type { Settings } from "../settings.js";
import { ServerMetrics } from "./metrics.js";
import { startServer, type RunningServer } from "./server.js";

export interface ServingArtifact {
  artifact: MaterializedArtifact;
  dataplane: DataPlane;
  server: RunningServer;
  /** Why the eager load failed (the server keeps running and retries on the next request). */
  loadError?: OmafError;
  /** The inference logger, when the inference log is on. */
  log?: Logger;
  /** Writes out buffered inference-log lines; call before exiting. */
  flushLog(): Promise<void>;
}

/**
 * Starts serving `source` (an artifact, a model folder, or a folder holding one, as KServe's /mnt/models) with
 * `settings` (see loadSettings).
 */
export async function serveArtifact(source: string, settings: Settings): Promise<ServingArtifact> {
  const materialized = await materializeArtifact(await resolveModelSource(source), { cacheDir: settings.cacheDir, cacheCheck: settings.cacheCheck });
  const artifact = withModelName(materialized, settings.modelName);
  const log = settings.inferenceLog ? createInferenceLog({ file: settings.inferenceLogFile || undefined }) : undefined;
  // A tampered cache was unpacked again: say so where operators look (stderr and the log).
  for (const w of artifact.warnings) {
    process.stderr.write(`omaf: ${w.code}: ${w.message}\n`);
    log?.logger.warn({ code: w.code, path: w.path }, w.message);
  }
  const python = artifact.manifest.binaries.type === "python" ? await pythonOf(artifact, settings) : undefined;
  const model = createModel({
    dir: artifact.dir,
    manifest: artifact.manifest,
    provenance: { artifactDigest: artifact.artifactDigest },
    pythonOptions: { requestTimeoutMs: settings.requestTimeoutMs, ...(python ? { python } : {}) },
    javaOptions: {
      requestTimeoutMs: settings.requestTimeoutMs,
      java: settings.java,
      workers: settings.javaWorkers,
      jvmOptions: settings.javaOpts,
      cacheDir: join(settings.cacheDir, "java"),
    },
    nodeOptions: { requestTimeoutMs: settings.requestTimeoutMs, workers: settings.nodeWorkers, inProcess: settings.nodeInProcess },
  });
  const metrics = settings.metrics ? new ServerMetrics() : undefined;
  const dataplane = new DataPlane(model, artifact, {
    logger: log?.logger,
    logPayloads: settings.logPayloads,
    requestTimeoutMs: settings.requestTimeoutMs,
    maxInFlight: settings.maxInFlight,
    metrics,
    batching: batchingOf(settings, artifact.manifest),
  });
  metrics?.watch(dataplane);
  const flushLog = async () => {
    await log?.flush();
  };

  let server: RunningServer;
  try {
    server = await startServer({ settings, dataplane, log: log?.logger, metrics });
  } catch (err) {
    await model.close().catch(() => {});
    await flushLog();
    throw err;
  }
  let loadError: OmafError | undefined;
  if (!settings.lazy) await dataplane.load().catch((err: unknown) => (loadError = toOmafError(err)));
  return { artifact, dataplane, server, loadError, log: log?.logger, flushLog };
}

/**
 * The interpreter a python model runs with, as `--env` says (settings.ts). Undefined means the current one
 * (OMAF_PYTHON, else python3). `auto` never installs anything: it takes the venv `omaf env create` made for this
 * artifact on python3 when there is one, and only when OMAF_PYTHON does not name an interpreter explicitly.
 */
export async function pythonOf(artifact: MaterializedArtifact, settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const choice = settings.env;
  if (choice === "current") return undefined;
  if (choice !== "auto" && choice !== "create") {
    const st = await stat(choice).catch(() => undefined);
    if (!st) throw new OmafError("OMAF_ERR_ENV_MISSING", `--env ${choice}: no such interpreter or venv folder`, { env: choice });
    return st.isDirectory() ? join(choice, "bin", "python") : choice;
  }
  if (choice === "auto" && env.OMAF_PYTHON) return undefined;
  const environment = await import("../runtime/python/environment.js");
  const found = await environment
    .readEnvironmentSpec(artifact.dir, artifact.manifest)
    .then((spec) => environment.findEnvironment(spec, { cacheDir: settings.cacheDir }))
    .catch((err: unknown) => {
      // Under auto, an artifact that declares no environment omaf can build, an unreadable environment file or a
      // missing python3 leave the current interpreter, whose load then reports the problem as it always did.
      if (choice === "auto") return undefined;
      throw err;
    });
  if (found) {
    process.stderr.write(`omaf: python environment ${found.dir}\n`);
    return found.python;
  }
  if (choice === "auto") return undefined;
  const created = await environment.createEnvironment(artifact.dir, artifact.manifest, {
    cacheDir: settings.cacheDir,
    onProgress: (line) => process.stderr.write(`omaf: ${line}\n`),
    onOutput: (chunk) => process.stderr.write(chunk),
  });
  return created.python;
}

/**
 * The artifact as served under `name` (--model-name): every protocol, the metadata and the provenance take the name
 * from the manifest, so renaming the served copy of the manifest renames the model everywhere at once. The files and
 * the digest are untouched.
 */
export function withModelName(artifact: MaterializedArtifact, name: string): MaterializedArtifact {
  if (!name || name === artifact.manifest.model.name) return artifact;
  return { ...artifact, manifest: { ...artifact.manifest, model: { ...artifact.manifest.model, name } } };
}

/** Batching as the settings say, else as the artifact's manifest (`serving`) says, else off. */
export function batchingOf(settings: Settings, manifest: OmafManifest): BatchingOptions {
  const serving = manifest.serving ?? {};
  return {
    maxBatchSize: settings.maxBatchSize ?? serving.max_batch_size ?? 0,
    maxBatchTimeMs: settings.maxBatchTime ?? serving.max_batch_time_ms ?? DEFAULT_MAX_BATCH_TIME_MS,
    rows: settings.batchRows ?? serving.batch_rows ?? false,
  };
}

/** How long a batch waits for requests on their way when neither settings nor manifest say (ms). */
export const DEFAULT_MAX_BATCH_TIME_MS = 5;
