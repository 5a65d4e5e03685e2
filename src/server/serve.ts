// serveArtifact: everything `omaf serve` does before it waits — materialise the artifact, build its Model, the
// inference log, metrics and dataplane, start the chosen listeners and (unless lazy) load the model.
import { join } from "node:path";
import type { Logger } from "pino";
import { materializeArtifact, type MaterializedArtifact } from "../artifact/materialize.js";
import { resolveModelSource } from "../artifact/model-source.js";
import { createInferenceLog } from "../dataplane/inference-log.js";
import { DataPlane, type BatchingOptions } from "../dataplane/dataplane.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { OmafError, toOmafError } from "../errors.js";
import { createModel } from "../runtime/load.js";
import type { PublicSigningKey } from "../signing/keys.js";
import type { Settings } from "../settings.js";
import { ServerMetrics } from "./metrics.js";
import { startServer, type RunningServer } from "./server.js";

export interface ServingArtifact {
  artifact: MaterializedArtifact;
  dataplane: DataPlane;
  server: RunningServer;
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
  const keys = await trustedKeysOf(settings);
  const resolved = await resolveModelSource(source);
  const materialized = await materializeArtifact(resolved, { cacheDir: settings.cacheDir, cacheCheck: settings.cacheCheck });
  // Checked against the digest of the bytes materialize verified, i.e. the ones that are served.
  const signedBy = keys ? await (await import("../signing/verify.js")).verifyServedSignature(resolved, materialized.artifactDigest, keys) : undefined;
  if (signedBy) process.stderr.write(`omaf: signature verified: ${materialized.artifactDigest} signed by ${signedBy}\n`);
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
  const dataplane = new DataPlane(
    model,
    { ...artifact, ...(signedBy ? { signedBy } : {}) },
    {
      logger: log?.logger,
      logPayloads: settings.logPayloads,
      requestTimeoutMs: settings.requestTimeoutMs,
      maxInFlight: settings.maxInFlight,
      metrics,
      batching: batchingOf(settings, artifact.manifest),
    },
  );
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
  return { artifact, dataplane, server, loadError, ...(signedBy ? { signedBy } : {}), log: log?.logger, flushLog };
}

/**
 * The trusted keys, read before anything is unpacked (a bad path fails at once), and whether a signature is required;
 * undefined when no key is given. Requiring a signature without a key to check it with is a settings error.
 */
async function trustedKeysOf(settings: Settings): Promise<{ keys: PublicSigningKey[]; required: boolean } | undefined> {
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
  const { interpreterFor } = await import("../runtime/python/env-choice.js");
  return interpreterFor(artifact.dir, artifact.manifest, {
    choice: settings.env,
    cacheDir: settings.cacheDir,
    conda: settings.conda,
    onProgress: (line) => process.stderr.write(`omaf: ${line}\n`),
    onOutput: (chunk) => process.stderr.write(chunk),
  });
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
