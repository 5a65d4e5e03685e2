// Checks a Python interpreter against the conda environment file of a python artifact (`binaries.conda_path`).
// It tells which declared packages the interpreter lacks, so `omaf validate --python` and the model's load can say so
// before serving fails on an ImportError; `omaf env create` (environment.ts) installs them into a venv.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse } from "yaml";
import { OmafError } from "../../errors.js";
import { isNotRunnable, runCommand } from "../../run-command.js";
import type { OmafManifest } from "../../manifest/manifest.types.js";
import { resolveInside } from "../../manifest/file-index.js";
import { messageOf } from "../source.js";
import { resolvePython, WORKER_SCRIPT } from "./options.js";

/** One package the environment file declares. */
export interface DeclaredPackage {
  /** Package name as declared (conda or pip), lower case, without version or channel. */
  name: string;
  /** Where it was declared. */
  source: "conda" | "pip";
  /** The module the package is imported as (e.g. scikit-learn -> sklearn). */
  module: string;
  /** The exact version asked for (`=1.2`, `==1.2`), when one is pinned. */
  pinned?: string;
}

/** The outcome of checkPythonDependencies. */
export interface PythonDependencyReport {
  /** The interpreter asked. */
  python: string;
  /** Its version, e.g. "3.11.2". */
  pythonVersion: string;
  /** The Python version the environment file asks for (`python=3.6`), when it does. */
  requiredPythonVersion?: string;
  /** Declared package names that were checked (conda and pip). */
  required: string[];
  /** Those the interpreter cannot import and has no installed distribution for. */
  missing: string[];
  /** Installed, but not at the pinned version: `{name, wanted, installed}`. */
  versionMismatches: { name: string; wanted: string; installed: string }[];
  /** Declared entries that are not Python packages (python itself, C libraries, pip options) and were not checked. */
  skipped: string[];
}

/** Package names whose import name differs from the package name. Others: lower case, '-' -> '_'. */
export const IMPORT_NAMES: Readonly<Record<string, string>> = {
  "scikit-learn": "sklearn",
  sklearn: "sklearn",
  "scikit-image": "skimage",
  pyyaml: "yaml",
  pillow: "PIL",
  "opencv-python": "cv2",
  "opencv-python-headless": "cv2",
  "opencv-contrib-python": "cv2",
  opencv: "cv2",
  "py-opencv": "cv2",
  "python-dateutil": "dateutil",
  beautifulsoup4: "bs4",
  protobuf: "google.protobuf",
  "tensorflow-gpu": "tensorflow",
  "tensorflow-cpu": "tensorflow",
  pytorch: "torch",
  "pytorch-cpu": "torch",
  "msgpack-python": "msgpack",
  attrs: "attr",
  pyjwt: "jwt",
  "py-xgboost": "xgboost",
  "py-xgboost-cpu": "xgboost",
  pywavelets: "pywt",
  "python-json-logger": "pythonjsonlogger",
  mysqlclient: "MySQLdb",
  "psycopg2-binary": "psycopg2",
  pytables: "tables",
  "google-cloud-storage": "google.cloud.storage",
  "python-dotenv": "dotenv",
  "ruamel.yaml": "ruamel.yaml",
  "ruamel-yaml": "ruamel.yaml",
  pyzmq: "zmq",
  pyserial: "serial",
  "setuptools-scm": "setuptools_scm",
  "typing-extensions": "typing_extensions",
  "importlib-metadata": "importlib_metadata",
  "mlflow-skinny": "mlflow",
};

/** Conda packages that are not Python modules (interpreter, toolchain, C/C++ libraries). */
const NOT_PYTHON = [
  /^python$/,
  /^pip$/,
  /^_/,
  /^lib(?!rosa$|cst$)/,
  /^mkl/,
  /^intel-openmp$/,
  /^openssl$/,
  /^ca-certificates$/,
  /^openblas$/,
  /^blas$/,
  /^cudatoolkit$/,
  /^cuda/,
  /^cudnn$/,
  /^nccl$/,
  /^zlib$/,
  /^xz$/,
  /^bzip2$/,
  /^sqlite$/,
  /^tk$/,
  /^readline$/,
  /^ncurses$/,
  /^ld_impl/,
  /^tzdata$/,
  /^nodejs$/,
  /^gcc/,
  /^gxx/,
  /^make$/,
  /^cmake$/,
  /^hdf5$/,
  /^openjdk$/,
  /^r-base$/,
];

/** The module a package is imported as. */
export function importNameOf(pkg: string): string {
  const lower = pkg.toLowerCase();
  return IMPORT_NAMES[lower] ?? lower.replace(/-/g, "_");
}

/** `name`, version pin and whether it is a package at all, from one conda `dependencies` entry. */
function parseCondaSpec(spec: string): { name: string; pinned?: string } | undefined {
  // channel::name=version=build, name>=1.0, "name 1.0.*"
  const bare = spec.trim().replace(/^[^:\s]+::/, "");
  const m = /^([A-Za-z0-9_.-]+)\s*(.*)$/.exec(bare);
  if (!m) return undefined;
  const rest = m[2]!.trim();
  const exact = /^={1,2}\s*([^=,<>|\s]+)(?:=.*)?$/.exec(rest) ?? /^([0-9][^=,<>|\s]*)$/.exec(rest);
  return { name: m[1]!.toLowerCase(), ...(exact ? { pinned: exact[1] } : {}) };
}

/** A pip project name normalised as PEP 503 does (lower case, runs of -_. as one dash). */
const pipName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");

/** `name` and version pin of one pip requirement line; undefined for options, URLs and files. */
function parsePipSpec(spec: string): { name: string; pinned?: string } | undefined {
  const line = spec.split(/\s+#/)[0]!.split(";")[0]!.trim();
  if (!line || line.startsWith("-")) return undefined;
  const egg = /#egg=([A-Za-z0-9_.-]+)/.exec(spec);
  if (/^[a-z+]+:\/\//i.test(line) || line.startsWith(".") || line.startsWith("/")) {
    return egg ? { name: pipName(egg[1]!) } : undefined;
  }
  const m = /^([A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(.*)$/.exec(line);
  if (!m) return undefined;
  const named = / @ /.test(line) ? undefined : /^==\s*([^,;\s*]+)$/.exec(m[3]!.trim());
  return { name: pipName(m[1]!), ...(named ? { pinned: named[1] } : {}) };
}

/** Packages a conda environment file (parsed YAML) declares, the Python version it asks for, and skipped entries. */
export function declaredPackages(env: unknown): { packages: DeclaredPackage[]; pythonVersion?: string; skipped: string[] } {
  const packages: DeclaredPackage[] = [];
  const skipped: string[] = [];
  let pythonVersion: string | undefined;
  const deps = env && typeof env === "object" ? (env as { dependencies?: unknown }).dependencies : undefined;
  if (deps !== undefined && deps !== null && !Array.isArray(deps)) {
    throw new OmafError("OMAF_ERR_BINARIES_DEPENDENCIES", "the conda environment file's 'dependencies' is not a list");
  }
  const add = (source: "conda" | "pip", raw: string, parsed: { name: string; pinned?: string } | undefined) => {
    if (!parsed) {
      skipped.push(raw);
      return;
    }
    if (source === "conda" && parsed.name === "python") {
      pythonVersion =
        raw
          .trim()
          .replace(/^[^:\s]+::/, "")
          .slice("python".length)
          .trim() || undefined;
    }
    if (source === "conda" && NOT_PYTHON.some((re) => re.test(parsed.name))) {
      skipped.push(raw);
      return;
    }
    if (packages.some((p) => p.name === parsed.name)) return;
    packages.push({ name: parsed.name, source, module: importNameOf(parsed.name), ...(parsed.pinned ? { pinned: parsed.pinned } : {}) });
  };
  for (const entry of (deps as unknown[] | undefined) ?? []) {
    if (typeof entry === "string" || typeof entry === "number") add("conda", String(entry), parseCondaSpec(String(entry)));
    else if (entry && typeof entry === "object" && Array.isArray((entry as { pip?: unknown }).pip)) {
      // A YAML list item that holds only a comment is null: nothing declared.
      for (const p of (entry as { pip: unknown[] }).pip) if (p !== null && p !== undefined) add("pip", String(p), parsePipSpec(String(p)));
    } else skipped.push(JSON.stringify(entry));
  }
  return { packages, skipped, ...(pythonVersion ? { pythonVersion } : {}) };
}

/** Packages a pip requirements file declares (options, URLs without #egg= and file references are skipped). */
export function declaredRequirements(text: string): { packages: DeclaredPackage[]; skipped: string[] } {
  const packages: DeclaredPackage[] = [];
  const skipped: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const parsed = parsePipSpec(line);
    if (!parsed) skipped.push(line);
    else if (!packages.some((p) => p.name === parsed.name)) {
      packages.push({ name: parsed.name, source: "pip", module: importNameOf(parsed.name), ...(parsed.pinned ? { pinned: parsed.pinned } : {}) });
    }
  }
  return { packages, skipped };
}

/** Whether `installed` satisfies an exact pin the way conda and pip read it (`1.2` matches `1.2.x`; `1.2.*` too). */
function versionMatches(wanted: string, installed: string): boolean {
  const w = wanted.replace(/\.\*$/, "");
  return installed === w || installed.startsWith(`${w}.`);
}

interface CheckAnswer {
  python: string;
  packages: { name: string; found: boolean; version: string | null }[];
}

/** Runs the worker script's check-deps command with `python`. */
async function askInterpreter(python: string, packages: DeclaredPackage[]): Promise<CheckAnswer> {
  const input = JSON.stringify({ packages: packages.map((p) => ({ name: p.name, module: p.module })) });
  const r = await runCommand(python, [WORKER_SCRIPT, "check-deps"], {
    input,
    keep: 16 * 1024 * 1024,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  }).catch((e: Error) => {
    throw isNotRunnable(e)
      ? new OmafError("OMAF_ERR_PYTHON_NOT_FOUND", `cannot run the Python interpreter '${python}' (${e.code}); set OMAF_PYTHON`, { python, errno: e.code })
      : new OmafError("OMAF_ERR_INTERNAL", `cannot run '${python}': ${e.message}`, { python });
  });
  try {
    if (r.code !== 0) throw new Error(`exited with code ${r.code}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as CheckAnswer;
  } catch (e) {
    throw new OmafError("OMAF_ERR_PYTHON_NOT_FOUND", `'${python}' could not check the dependencies: ${messageOf(e)}`, { python });
  }
}

/**
 * Which packages declared in the artifact's conda environment file (`binaries.conda_path`) the interpreter lacks.
 * A package counts as present when its distribution is installed (importlib.metadata) or its module can be found
 * (importlib.util.find_spec; nothing is imported). Without conda_path, nothing is required.
 */
export async function checkPythonDependencies(opts: {
  /** Artifact root on disk; or give `read` to take files from elsewhere (e.g. straight from a ZIP). */
  dir?: string;
  /** Reads a file by its path relative to the artifact root. */
  read?: (relPath: string) => Promise<string>;
  manifest: OmafManifest;
  python?: string;
}): Promise<PythonDependencyReport> {
  const python = resolvePython(opts.python);
  const condaPath = opts.manifest.binaries?.conda_path;
  let declared: ReturnType<typeof declaredPackages> = { packages: [], skipped: [] };
  if (condaPath) {
    const rel = resolveInside(condaPath);
    if (rel === undefined) {
      throw new OmafError("OMAF_ERR_CONDA_PATH", `binaries.conda_path '${condaPath}' escapes the artifact root`, { condaPath });
    }
    const read = opts.read ?? ((p: string) => readFile(resolve(opts.dir ?? ".", p), "utf8"));
    let text: string;
    try {
      text = await read(rel);
    } catch (err) {
      throw new OmafError("OMAF_ERR_CONDA_PATH", `cannot read binaries.conda_path '${condaPath}': ${messageOf(err)}`, { condaPath });
    }
    let env: unknown;
    try {
      env = parse(text);
    } catch (err) {
      throw new OmafError("OMAF_ERR_BINARIES_DEPENDENCIES", `the conda environment file '${condaPath}' is not valid YAML: ${messageOf(err)}`, {
        condaPath,
      });
    }
    declared = declaredPackages(env);
  }

  return checkDeclaredPackages(python, declared);
}

/** Which of `declared.packages` the interpreter lacks (the second half of checkPythonDependencies). */
export async function checkDeclaredPackages(python: string, declared: ReturnType<typeof declaredPackages>): Promise<PythonDependencyReport> {
  const answer = await askInterpreter(python, declared.packages);
  const byName = new Map(answer.packages.map((p) => [p.name, p]));
  const missing: string[] = [];
  const versionMismatches: PythonDependencyReport["versionMismatches"] = [];
  for (const pkg of declared.packages) {
    const found = byName.get(pkg.name);
    if (!found?.found) missing.push(pkg.name);
    else if (pkg.pinned && found.version && !versionMatches(pkg.pinned, found.version)) {
      versionMismatches.push({ name: pkg.name, wanted: pkg.pinned, installed: found.version });
    }
  }
  return {
    python,
    pythonVersion: answer.python,
    ...(declared.pythonVersion ? { requiredPythonVersion: declared.pythonVersion } : {}),
    required: declared.packages.map((p) => p.name),
    missing,
    versionMismatches,
    skipped: declared.skipped,
  };
}
