// The python environment: a GPPI model (`binaries.type: python`) run by Python worker processes.
//
// Contract with the model, as Odahu's GPPI server had it:
// - `model.workDir` is the import path, MODEL_LOCATION and the working directory; `model.entrypoint` is imported.
// - init() answers 'matrix', 'objects' or 'tensors'; info() or get_info() answers (input schema, output schema), each
//   a list of {name, type, required, example} (a mapping of name -> field is accepted too).
// - predict_on_matrix(matrix, columns) gets the rows as a list of row lists (Odahu passed the request's `data`
//   unchanged) and the caller's column names as given, or None. Columns are NOT reordered by omaf: like Odahu,
//   aligning them to the model's schema is the entrypoint's job. It answers (prediction, columns).
// - predict_on_objects(value) gets the request's JSON value and answers any JSON-able value.
// - predict_on_tensors(inputs) (tensors mode) gets {name: numpy array} and answers {name: array}: raw bytes both
//   ways over the pipe (process/tensor-frames.ts); the manifest's declared contract says what the inputs are.
// - get_output_json_serializer(), when present, answers a json.JSONEncoder subclass used to encode the answer.
//
// Results are turned into plain JSON: numpy arrays and scalars, pandas DataFrames (as rows) / Series / Index, dates
// (ISO text), decimals, sets; NaN, Infinity and -Infinity become null. Numbers in a matrix travel as float64, so a
// request that mixes integers and fractions gives the model floats throughout (all-integer matrices stay ints).
import { OmafError } from "../../errors.js";
import { ProcessModel, type TimedMatrixOutput } from "../process/process-model.js";
import type { ModelSource } from "../source.js";
import { resolvePythonSettings, WORKER_SCRIPT, type PythonOptions, type PythonSettings } from "./options.js";
import { PythonWorker, type ReadyInfo, type WorkerLaunch } from "./worker.js";

export type { TimedMatrixOutput };

/** What createPythonModel needs: the unpacked artifact and the bridge's tunables. */
export interface PythonModelOptions extends ModelSource, PythonOptions {}

/** A Python GPPI model served by a pool of worker processes. */
export class PythonModel extends ProcessModel<ReadyInfo> {
  private readonly settings: PythonSettings;

  constructor(opts: PythonModelOptions) {
    const settings = resolvePythonSettings(opts);
    const entrypoint = opts.manifest.model.entrypoint;
    super(opts, settings, {
      environment: "python",
      matrixFunction: "predict_on_matrix()",
      objectsFunction: "predict_on_objects()",
      infoFunction: "info",
      where: `module '${entrypoint}'`,
    });
    this.settings = settings;
  }

  /** Resolved interpreter, worker count, timeout and matrix format. */
  get options(): Readonly<Omit<PythonSettings, "logger">> {
    const { logger: _logger, ...rest } = this.settings;
    return rest;
  }

  protected async workerFactory(location: { abs: string }) {
    await this.checkDeclaredPackages();
    const launch: WorkerLaunch = {
      python: this.settings.python,
      script: WORKER_SCRIPT,
      workDir: location.abs,
      entrypoint: this.source.manifest.model.entrypoint,
      matrixFormat: this.settings.matrixFormat,
      label: `model '${this.source.manifest.model.name}'`,
    };
    const { logger } = this.settings;
    return { kind: "python worker", create: (index: number, onGone: () => void) => new PythonWorker(index, launch, logger, onGone) };
  }

  /**
   * Before any worker starts: the interpreter must import what `binaries.conda_path` declares, so a missing package
   * fails the load at start-up naming the package, the interpreter and the fix, instead of every request failing on
   * an ImportError. Other versions than those pinned are only warned about: the model may well work with them.
   */
  private async checkDeclaredPackages(): Promise<void> {
    const { manifest, dir } = this.source;
    const condaPath = manifest.binaries.conda_path;
    if (!condaPath || !this.settings.checkDependencies) return;
    const { checkPythonDependencies } = await import("./dependencies.js");
    const report = await checkPythonDependencies({ dir, manifest, python: this.settings.python });
    if (report.missing.length > 0) {
      const names = report.missing.join(" ");
      throw new OmafError(
        "OMAF_ERR_PYTHON_DEPENDENCY",
        `${report.python} cannot import ${report.missing.join(", ")}, which ${condaPath} declares: install ${report.missing.length > 1 ? "them" : "it"} ` +
          `(${report.python} -m pip install ${names}), point OMAF_PYTHON at an interpreter that has ${report.missing.length > 1 ? "them" : "it"}, ` +
          "or set OMAF_PYTHON_CHECK_DEPS=0 if the model does not need it",
        { missing: report.missing, python: report.python, condaPath },
      );
    }
    for (const m of report.versionMismatches) {
      this.settings.logger.warn(`[python] ${report.python} has ${m.name} ${m.installed}; ${condaPath} declares ${m.wanted}`);
    }
  }

  protected binaryMatrices(ready: ReadyInfo): boolean {
    return ready.numpy;
  }
}

/** The Model for an unpacked python (GPPI) artifact; call `load()` before predicting and `close()` when done. */
export function createPythonModel(opts: PythonModelOptions): PythonModel {
  return new PythonModel(opts);
}
