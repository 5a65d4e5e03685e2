// serveModels: everything `omaf serve` does before it waits — the inference log, metrics and the model registry;
// each source (archive or model folder, given or found in the model repository) opened by openServedModel
// (materialised, its environment found, a dataplane factory); the chosen listeners started; and (unless lazy) every
// model loaded side by side. serveArtifact is the same for one artifact.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { materializeArtifact, type MaterializedArtifact } from "../artifact/materialize.js";
import { createInferenceLog } from "../dataplane/inference-log.js";
import { DataPlane, type BatchingOptions } from "../dataplane/dataplane.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { OmafError } from "../errors.js";
import { ModelRegistry, type OpenedModel } from "../registry/registry.js";
import { createModel } from "../runtime/load.js";
import type { Settings } from "../settings.js";
import { ServerMetrics } from "./metrics.js";
import { startServer, type RunningServer } from "./server.js";

export interface ServingModels {
  registry: ModelRegistry;
  server: RunningServer;
  /** The inference logger, when the inference log is on. */
  log?: Logger;
  /** Writes out buffered inference-log lines; call before exiting. */
  flushLog(): Promise<void>;
}

export interface ServingArtifact {
  artifact: MaterializedArtifact;
  dataplane: DataPlane;
  server: RunningServer;
  /** Every served model (the artifact's, and the model repository's when settings name one). */
  registry: ModelRegistry;
  /** Why the eager load failed (the server keeps running and retries on the next request). */
  loadError?: OmafError;
  /** The inference logger, when the inference log is on. */
  log?: Logger;
  /** Writes out buffered inference-log lines; call before exiting. */
  flushLog(): Promise<void>;
}

/** Starts serving `source` (an artifact or a model folder) with `settings` (see loadSettings). */
export async function serveArtifact(source: string, settings: Settings): Promise<ServingArtifact> {
  const serving = await serveModels([source], settings);
  const entry = serving.registry.entries().find((e) => e.source === source)!;
  const dataplane = entry.dataplane!;
  // openServedModel materialised it.
  const artifact = entry.opened!.artifact as MaterializedArtifact;
  return { ...serving, artifact, dataplane, ...(dataplane.loadError ? { loadError: dataplane.loadError } : {}) };
}

/**
 * Starts serving `sources` (artifacts or model folders) and the model repository the settings name. A source given
 * here that cannot be read, or two sources holding the same model name and version, stop the start with their error;
 * repository entries that cannot be read are reported in the repository index instead. A model whose load fails
 * does not stop the server (its requests retry the load).
 */
export async function serveModels(sources: readonly string[], settings: Settings): Promise<ServingModels> {
  if (sources.length === 0 && !settings.modelRepository) {
    throw new OmafError("OMAF_ERR_USAGE", "nothing to serve: give an artifact, a model folder or --model-repository <folder>");
  }
  if (settings.modelRepositoryWatch > 0 && !settings.modelRepository) {
    throw new OmafError("OMAF_ERR_SETTINGS", "--model-repository-watch needs --model-repository <folder>", { setting: "modelRepositoryWatch" });
  }
  const log = settings.inferenceLog ? createInferenceLog({ file: settings.inferenceLogFile || undefined }) : undefined;
  const flushLog = async () => {
    await log?.flush();
  };
  const metrics = settings.metrics ? new ServerMetrics() : undefined;
  const registry = new ModelRegistry({
    open: (source) => openServedModel(source, settings, { logger: log?.logger, metrics }),
    repository: settings.modelRepository || undefined,
    lazy: settings.lazy,
    unloadTimeoutMs: settings.drainTimeoutMs,
    log: log?.logger,
    metrics,
  });
  metrics?.watch(registry);

  let server: RunningServer;
  try {
    await registry.start(sources);
    server = await startServer({ settings, registry, log: log?.logger, metrics });
  } catch (err) {
    await registry.close().catch(() => {});
    await flushLog();
    throw err;
  }
  await registry.loadAll();
  registry.watch(settings.modelRepositoryWatch);
  return { registry, server, log: log?.logger, flushLog };
}

/**
 * Opens one source as `omaf serve` serves it: materialises the artifact (warnings go to stderr and the log), finds a
 * python model's interpreter, and answers how to make a dataplane for it — each with a new Model (so its own
 * workers), reporting to the model version's metrics.
 */
export async function openServedModel(
  source: string,
  settings: Settings,
  deps: { logger?: Logger; metrics?: ServerMetrics } = {},
): Promise<OpenedModel & { artifact: MaterializedArtifact }> {
  const artifact = await materializeArtifact(source, { cacheDir: settings.cacheDir, cacheCheck: settings.cacheCheck });
  const log = deps.logger;
  // A tampered cache was unpacked again: say so where operators look (stderr and the log).
  for (const w of artifact.warnings) {
    process.stderr.write(`omaf: ${w.code}: ${w.message}\n`);
    log?.warn({ code: w.code, path: w.path }, w.message);
  }
  const python = artifact.manifest.binaries.type === "python" ? await pythonOf(artifact, settings) : undefined;
  const createDataPlane = () => {
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
    const { name, version } = artifact.manifest.model;
    return new DataPlane(model, artifact, {
      logger: log,
      logPayloads: settings.logPayloads,
      requestTimeoutMs: settings.requestTimeoutMs,
      maxInFlight: settings.maxInFlight,
      metrics: deps.metrics?.forModel(name, version),
      batching: batchingOf(settings, artifact.manifest),
    });
  };
  return { artifact, createDataPlane };
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
