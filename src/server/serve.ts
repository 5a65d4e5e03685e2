// serveModels: everything `omaf serve` does before it waits — the inference log, metrics, tracing (when an OTLP
// endpoint is set: OpenTelemetry is loaded only then) and the model registry;
// each source (archive or model folder, given or found in the model repository) opened by openServedModel
// (materialised, its environment found, a dataplane factory); the chosen listeners started; and (unless lazy) every
// model loaded side by side. serveArtifact is the same for one artifact.
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { materializeArtifact, type MaterializedArtifact } from "../artifact/materialize.js";
import { resolveModelSource } from "../artifact/model-source.js";
import { createInferenceLog } from "../dataplane/inference-log.js";
import { DataPlane, type BatchingOptions } from "../dataplane/dataplane.js";
import type { RequestTracer } from "../dataplane/tracing.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { OmafError } from "../errors.js";
import { ModelRegistry, type OpenedModel } from "../registry/registry.js";
import { createModel } from "../runtime/load.js";
import type { PublicSigningKey } from "../signing/keys.js";
import type { Settings } from "../settings.js";
import { ServerMetrics } from "./metrics.js";
import { startServer, type RunningServer } from "./server.js";
import type { Tracing } from "./tracing.js";

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
  /** omaf's key id of the trusted key whose signature was verified, when there is one. */
  signedBy?: string;
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
  const serving = await serveModels([source], settings);
  // The registry knows its sources by their absolute paths.
  const absolute = resolve(source);
  const entry = serving.registry.entries().find((e) => e.source === absolute)!;
  const dataplane = entry.dataplane!;
  // openServedModel materialised it.
  const artifact = entry.opened!.artifact as MaterializedArtifact;
  const { signedBy } = dataplane.provenance;
  return { ...serving, artifact, dataplane, ...(dataplane.loadError ? { loadError: dataplane.loadError } : {}), ...(signedBy ? { signedBy } : {}) };
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
  if (settings.modelName && sources.length + (settings.modelRepository ? 1 : 0) > 1) {
    throw new OmafError("OMAF_ERR_SETTINGS", "--model-name renames the one served model; it cannot name several models or a model repository", {
      setting: "modelName",
    });
  }
  const keys = await trustedKeysOf(settings);
  const log = settings.inferenceLog ? createInferenceLog({ file: settings.inferenceLogFile || undefined }) : undefined;
  const flushLog = async () => {
    await log?.flush();
  };
  const metrics = settings.metrics ? new ServerMetrics() : undefined;
  const tracing = settings.otlpEndpoint ? await startTracing(settings) : undefined;
  const tracer = tracing?.tracer;
  const registry = new ModelRegistry({
    open: (source) => openServedModel(source, settings, { logger: log?.logger, metrics, keys, tracer }),
    repository: settings.modelRepository || undefined,
    lazy: settings.lazy,
    unloadTimeoutMs: settings.drainTimeoutMs,
    log: log?.logger,
    metrics,
    tracer,
  });
  metrics?.watch(registry);

  let server: RunningServer;
  try {
    await registry.start(sources);
    server = await startServer({ settings, registry, log: log?.logger, metrics, tracing });
  } catch (err) {
    await registry.close().catch(() => {});
    await tracing?.shutdown(settings.drainTimeoutMs);
    await flushLog();
    throw err;
  }
  await registry.loadAll();
  registry.watch(settings.modelRepositoryWatch);
  return { registry, server, log: log?.logger, flushLog };
}

/** OpenTelemetry tracing as the settings say, its packages loaded now. */
async function startTracing(settings: Settings): Promise<Tracing> {
  const { startTracing } = await import("./tracing.js");
  return startTracing({ endpoint: settings.otlpEndpoint, serviceName: settings.otlpServiceName });
}

/**
 * Opens one source as `omaf serve` serves it: finds the artifact in a folder that holds one (KServe's /mnt/models),
 * materialises it (warnings go to stderr and the log), checks its signature when keys are given, names it as
 * --model-name says, finds a python model's interpreter, and answers how to make a dataplane for it — each with a new
 * Model (so its own workers), reporting to the model version's metrics.
 */
export async function openServedModel(
  source: string,
  settings: Settings,
  deps: { logger?: Logger; metrics?: ServerMetrics; keys?: TrustedKeys; tracer?: RequestTracer } = {},
): Promise<OpenedModel & { artifact: MaterializedArtifact }> {
  const resolved = await resolveModelSource(source);
  const materialized = await materializeArtifact(resolved, { cacheDir: settings.cacheDir, cacheCheck: settings.cacheCheck });
  // Checked against the digest of the bytes materialize verified, i.e. the ones that are served.
  const signedBy = deps.keys ? await (await import("../signing/verify.js")).verifyServedSignature(resolved, materialized.artifactDigest, deps.keys) : undefined;
  if (signedBy) process.stderr.write(`omaf: signature verified: ${materialized.artifactDigest} signed by ${signedBy}\n`);
  const artifact = { ...withModelName(materialized, settings.modelName), ...(signedBy ? { signedBy } : {}) };
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
      tracer: deps.tracer,
    });
  };
  return { artifact, createDataPlane };
}

/** The keys a served artifact's signature is checked against, and whether one is required. */
type TrustedKeys = { keys: PublicSigningKey[]; required: boolean };

/**
 * The trusted keys, read before anything is unpacked (a bad path fails at once), and whether a signature is required;
 * undefined when no key is given. Requiring a signature without a key to check it with is a settings error.
 */
async function trustedKeysOf(settings: Settings): Promise<TrustedKeys | undefined> {
  if (settings.trustedKey.length === 0) {
    if (!settings.requireSignature) return undefined;
    throw new OmafError("OMAF_ERR_SETTINGS", "--require-signature needs at least one --trusted-key (OMAF_TRUSTED_KEYS) to verify with", {
      setting: "requireSignature",
    });
  }
  const { loadPublicKeys } = await import("../signing/verify.js");
  return { keys: await loadPublicKeys(settings.trustedKey), required: settings.requireSignature };
}

/** The interpreter a python model runs with, as `--env` says (runtime/python/env-choice.ts); undefined: the current one. */
async function pythonOf(artifact: MaterializedArtifact, settings: Settings): Promise<string | undefined> {
  const { interpreterForSettings } = await import("../runtime/python/env-choice.js");
  return interpreterForSettings(artifact, settings);
}

/**
 * The artifact as served under `name` (--model-name): every protocol, the metadata and the provenance take the name
 * from the manifest, so renaming the served copy of the manifest renames the model everywhere at once. The files and
 * the digest are untouched.
 */
function withModelName(artifact: MaterializedArtifact, name: string): MaterializedArtifact {
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
