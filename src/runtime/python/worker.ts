// The Python adapter of the shared process worker: how python/omaf_worker.py is started for one model.
import { OmafError } from "../../errors.js";
import type { WorkerLogger } from "../workers/logger.js";
import { ProcessWorker, type BaseReadyInfo, type ProcessLaunch } from "../process/worker.js";
import type { MatrixFormat } from "./options.js";

export { workerError } from "../process/worker.js";

/** What a Python worker reports once the model is imported and initialised. */
export interface ReadyInfo extends BaseReadyInfo {
  python: string;
  /** numpy is importable: numeric matrices may travel as raw float64. */
  numpy: boolean;
}

/** How to start a worker. */
export interface WorkerLaunch {
  python: string;
  script: string;
  /** Absolute model folder (model.workDir): import path, MODEL_LOCATION and working directory. */
  workDir: string;
  entrypoint: string;
  matrixFormat: MatrixFormat;
  /** Names the model in messages. */
  label: string;
}

/** The process launch of Python worker `index`. */
export function pythonLaunch(index: number, launch: WorkerLaunch): ProcessLaunch {
  const { python, script, workDir, entrypoint, matrixFormat, label } = launch;
  return {
    kind: "python worker",
    command: python,
    args: [script, "serve", "--workdir", workDir, "--entrypoint", entrypoint, "--worker-id", String(index), "--matrix", matrixFormat],
    cwd: workDir,
    env: {
      // Several workers share the CPUs: one BLAS/OpenMP thread each unless the environment says otherwise
      // (idle BLAS threads spin and would starve the other workers and the server).
      OMP_NUM_THREADS: "1",
      OPENBLAS_NUM_THREADS: "1",
      MKL_NUM_THREADS: "1",
      ...process.env,
      MODEL_LOCATION: workDir,
      PYTHONUNBUFFERED: "1",
      // Never write __pycache__ into the unpacked artifact.
      PYTHONDONTWRITEBYTECODE: "1",
      PYTHONIOENCODING: process.env.PYTHONIOENCODING ?? "utf-8",
    },
    label,
    details: { python },
    notFound: (errno) =>
      new OmafError(
        "OMAF_ERR_PYTHON_NOT_FOUND",
        `cannot run the Python interpreter '${python}' (${errno}); set OMAF_PYTHON (or the python option) to the interpreter of the model's environment`,
        { python, errno },
      ),
  };
}

/** One Python worker process. */
export class PythonWorker extends ProcessWorker<ReadyInfo> {
  constructor(index: number, launch: WorkerLaunch, logger: WorkerLogger, onGone: () => void) {
    super(index, pythonLaunch(index, launch), logger, onGone);
  }
}
