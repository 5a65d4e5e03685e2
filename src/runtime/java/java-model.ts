// The java environment: a GJPI model (`binaries.type: java`, spec/gjpi.md) run by JVM worker processes over the
// same framed pipes, pool, restarts and timeouts as the Python workers (src/runtime/process/).
//
// Contract with the model, in short: `model.entrypoint` is a JAR (relative to model.workDir) whose manifest names the
// model class in `Omaf-Model-Class`; the class has a public no-argument constructor and public methods init(),
// predictOnMatrix(double[][] | Object[][], String[]) or predictOnObjects(Object), and optionally info()/getInfo(),
// getObjectInputType(), getObjectOutputType(), getOutputJsonSerializer(). Plain Java types only: the JAR needs no
// omaf library. MODEL_LOCATION and the working directory are model.workDir, as for GPPI.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { OmafError } from "../../errors.js";
import { ProcessModel, type TimedMatrixOutput } from "../process/process-model.js";
import { ProcessWorker, type BaseReadyInfo, type ProcessLaunch } from "../process/worker.js";
import { entrypointFile, type ModelSource } from "../source.js";
import { compiledWorker, javaNotFound } from "./compile.js";
import { resolveJavaSettings, WORKER_SOURCE, type JavaOptions, type JavaSettings } from "./options.js";

export type { TimedMatrixOutput };

/** What a Java worker reports once the model class is loaded and initialised. */
export interface JavaReadyInfo extends BaseReadyInfo {
  java: string;
  modelClass: string;
}

/** What createJavaModel needs: the unpacked artifact and the bridge's tunables. */
export interface JavaModelOptions extends ModelSource, JavaOptions {}

/**
 * JVM options omaf sets before the user's (later options win, so OMAF_JAVA_OPTS can override them): the serial
 * collector, since several JVMs share the CPUs with the server; no hsperfdata files; UTF-8 on stderr.
 */
const BASE_JVM_OPTIONS = ["-XX:+UseSerialGC", "-XX:-UsePerfData", "-Dfile.encoding=UTF-8", "-Dsun.stderr.encoding=UTF-8", "-Dstderr.encoding=UTF-8"];

/** A Java GJPI model served by a pool of JVM worker processes. */
export class JavaModel extends ProcessModel<JavaReadyInfo> {
  private readonly settings: JavaSettings;

  constructor(opts: JavaModelOptions) {
    const settings = resolveJavaSettings(opts);
    super(opts, settings, {
      environment: "java",
      matrixFunction: "predictOnMatrix()",
      objectsFunction: "predictOnObjects()",
      infoFunction: "info",
      where: `JAR '${opts.manifest.model.entrypoint}'`,
    });
    this.settings = settings;
  }

  /** Resolved launcher, worker count, JVM options, timeout and cache folder. */
  get options(): Readonly<Omit<JavaSettings, "logger">> {
    const { logger: _logger, ...rest } = this.settings;
    return rest;
  }

  protected async workerFactory() {
    const { location, rel } = entrypointFile(this.source, "java");
    const jar = join(this.source.dir, rel);
    if (!(await stat(jar)).isFile()) {
      throw new OmafError("OMAF_ERR_ENTRYPOINT", `entrypoint '${rel}' is not a file`, { entrypoint: rel });
    }
    const { java, jvmOptions, cacheDir, logger } = this.settings;
    const classes = await compiledWorker(java, WORKER_SOURCE, cacheDir);
    const label = `model '${this.source.manifest.model.name}'`;
    const launch = (index: number): ProcessLaunch => ({
      kind: "java worker",
      command: java,
      args: [...BASE_JVM_OPTIONS, ...jvmOptions, "-cp", classes, "OmafWorker", "serve", "--jar", jar, "--worker-id", String(index)],
      cwd: location.abs,
      env: { ...process.env, MODEL_LOCATION: location.abs },
      label,
      details: { java },
      notFound: (errno) => javaNotFound(java, errno),
    });
    return {
      kind: "java worker",
      create: (index: number, onGone: () => void) => new ProcessWorker<JavaReadyInfo>(index, launch(index), logger, onGone),
    };
  }

  protected binaryMatrices(): boolean {
    return true;
  }
}

/** The Model for an unpacked java (GJPI) artifact; call `load()` before predicting and `close()` when done. */
export function createJavaModel(opts: JavaModelOptions): JavaModel {
  return new JavaModel(opts);
}
