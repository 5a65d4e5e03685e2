// An artifact loaded for offline work (`omaf predict`, `omaf test`): the same materialisation, runtimes and dataplane
// as `omaf serve`, without listeners or an inference log. Settings come from the same table (OMAF_* variables:
// cache folder, request timeout, node workers), so a model behaves offline as it does served.
import { materializeArtifact, type MaterializedArtifact } from "../artifact/materialize.js";
import { DataPlane } from "../dataplane/dataplane.js";
import { createModel } from "../runtime/load.js";
import type { Model } from "../runtime/model.js";
import type { WorkerLogger } from "../runtime/workers/logger.js";
import { loadSettings, type Settings } from "../settings.js";

export interface OfflineOptions {
  /** Python interpreter for python models (default: the one `env` picks). */
  python?: string;
  /**
   * Which Python environment a python model runs with when `python` is not given, as `omaf serve --env`: auto,
   * create, current or a path (default: OMAF_ENV, else auto).
   */
  env?: string;
  /** Longest one model call may take, in ms (default: the serve setting, OMAF_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  /** Where worker output (model prints, tracebacks) goes; default stderr. */
  logger?: WorkerLogger;
  /** Whether a python model's load checks its declared packages first (default: as served, OMAF_PYTHON_CHECK_DEPS). */
  checkDependencies?: boolean;
}

export interface OfflineSession {
  artifact: MaterializedArtifact;
  model: Model;
  dataplane: DataPlane;
  settings: Settings;
  /** The interpreter a python model runs with; undefined: the current one (OMAF_PYTHON, else python3). */
  python?: string;
  /** Stops the model's workers. */
  close(): Promise<void>;
}

/** Materialises `source` and builds its model and dataplane; the model is not loaded yet (dataplane.load()). */
export async function openOffline(source: string, opts: OfflineOptions = {}): Promise<OfflineSession> {
  const settings = loadSettings({
    flags: {
      ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.env === undefined ? {} : { env: opts.env }),
    },
  });
  const artifact = await materializeArtifact(source, { cacheDir: settings.cacheDir, cacheCheck: settings.cacheCheck });
  for (const w of artifact.warnings) process.stderr.write(`omaf: ${w.code}: ${w.message}\n`);
  const python = opts.python ?? (artifact.manifest.binaries.type === "python" ? await interpreterOf(artifact, settings) : undefined);
  const model = createModel({
    dir: artifact.dir,
    manifest: artifact.manifest,
    provenance: { artifactDigest: artifact.artifactDigest },
    pythonOptions: { requestTimeoutMs: settings.requestTimeoutMs, python, logger: opts.logger, checkDependencies: opts.checkDependencies },
    nodeOptions: { requestTimeoutMs: settings.requestTimeoutMs, workers: settings.nodeWorkers, inProcess: settings.nodeInProcess, logger: opts.logger },
  });
  const dataplane = new DataPlane(model, artifact, { requestTimeoutMs: settings.requestTimeoutMs, maxInFlight: 0 });
  return {
    artifact,
    model,
    dataplane,
    settings,
    python,
    close: async () => {
      await dataplane.close();
      await model.close().catch(() => {});
    },
  };
}

/** The interpreter `--env` (OMAF_ENV) picks for a python artifact, as `omaf serve` picks it. */
async function interpreterOf(artifact: MaterializedArtifact, settings: Settings): Promise<string | undefined> {
  const { interpreterForSettings } = await import("../runtime/python/env-choice.js");
  return interpreterForSettings(artifact, settings);
}
