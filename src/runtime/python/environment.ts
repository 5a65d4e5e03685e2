// Python environments built from what an artifact declares: `omaf env create` makes a venv under the cache,
// `<cacheDir>/envs/<key>`, and `omaf serve --env` runs the model's workers with its interpreter.
//
// The key is the SHA-256 of the environment file's bytes, the base interpreter's real path and version (and whether
// the venv sees the system's site-packages), so another file or another Python gets another venv, and the same ones
// reuse it. The venv is made in a temp folder beside the final one and renamed into place only once pip has installed
// everything and the interpreter imports every declared package: a folder at the key is always a whole environment.
//
// What is installed, with pip only (conda, mamba and micromamba are not used even when present):
// - `dependencies: conda` (or any conda_path): the conda file's `pip:` entries as they are, plus its conda packages
//   that are Python packages (python, pip and the C libraries that declaredPackages skips are left out), with a conda
//   pin `=1.2` read as pip's `==1.2.*`.
// - `dependencies: pip`: `requirements.txt` in model.workDir, else at the artifact root, given to pip as it is.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { OmafError } from "../../errors.js";
import { resolveInside } from "../../manifest/file-index.js";
import type { OmafManifest } from "../../manifest/manifest.types.js";
import { messageOf } from "../source.js";
import { checkDeclaredPackages, declaredPackages, declaredRequirements, type DeclaredPackage, type PythonDependencyReport } from "./dependencies.js";
import { resolvePython } from "./options.js";

/** What an artifact declares for its Python environment. */
export interface EnvironmentSpec {
  /** `conda` (binaries.conda_path) or `pip` (a requirements.txt). */
  kind: "conda" | "pip";
  /** The environment file, relative to the artifact root. */
  file: string;
  /** Its absolute path. */
  absFile: string;
  /** SHA-256 (hex) of its bytes. */
  sha256: string;
  /** The lines handed to `pip install -r`. */
  requirements: string[];
  /** The packages that must import afterwards. */
  declared: { packages: DeclaredPackage[]; skipped: string[]; pythonVersion?: string };
}

/** A base interpreter as the key sees it. */
export interface BaseInterpreter {
  /** As given (e.g. `python3`). */
  python: string;
  /** Its real path (symbolic links resolved), e.g. /usr/bin/python3.11. */
  realPath: string;
  version: string;
}

/** A created (or found) environment. */
export interface PythonEnvironment {
  key: string;
  /** The venv folder. */
  dir: string;
  /** The venv's interpreter: `<dir>/bin/python`. */
  python: string;
  base: BaseInterpreter;
  spec: EnvironmentSpec;
}

export interface EnvironmentOptions {
  /** The cache folder; environments go to `<cacheDir>/envs`. */
  cacheDir: string;
  /** Base interpreter. Default: OMAF_PYTHON, else python3. */
  python?: string;
  /** Let the venv see the base interpreter's site-packages (part of the key). Default false. */
  systemSitePackages?: boolean;
}

export interface CreateEnvironmentOptions extends EnvironmentOptions {
  /** More pip options, e.g. `--no-index`, `--find-links <dir>`, `--index-url <url>`. pip also reads PIP_* variables. */
  pipArgs?: string[];
  /** Progress lines (what is being done). */
  onProgress?: (line: string) => void;
  /** pip's and venv's own output, as it comes. */
  onOutput?: (chunk: string) => void;
  /** Stops the creation; the temp folder is removed. */
  signal?: AbortSignal;
}

export interface CreateEnvironmentResult extends PythonEnvironment {
  /** False when the environment was already there and reused. */
  created: boolean;
  /** The venv interpreter's check against the declared packages. */
  report: PythonDependencyReport;
  ms: number;
}

const RECORD = "omaf-env.json";

/** A conda package name that pip knows under another name. */
const PIP_NAMES: Readonly<Record<string, string>> = {
  sklearn: "scikit-learn",
  pytorch: "torch",
  "pytorch-cpu": "torch",
  "py-xgboost": "xgboost",
  "py-xgboost-cpu": "xgboost",
  "py-opencv": "opencv-python",
  opencv: "opencv-python",
  "msgpack-python": "msgpack",
  pytables: "tables",
};

/** One conda `dependencies` entry as a pip requirement: `numpy=1.2` → `numpy==1.2.*`, `pandas>=1` stays. */
function condaToPip(spec: string, name: string): string {
  const pipName = PIP_NAMES[name] ?? name;
  const rest = spec
    .trim()
    .replace(/^[^:\s]+::/, "")
    .replace(/^[A-Za-z0-9_.-]+/, "")
    .trim();
  if (rest === "") return pipName;
  const exact = /^={1,2}\s*([0-9][^=,<>|\s]*)(?:=.*)?$/.exec(rest) ?? /^([0-9][^=,<>|\s]*)$/.exec(rest);
  if (exact) {
    const v = exact[1]!;
    return rest.startsWith("==") || v.endsWith("*") ? `${pipName}==${v}` : `${pipName}==${v}.*`;
  }
  // Other conda specifiers that pip reads the same way (>=, <, !=, comma lists); anything else: the name alone.
  return /^[<>!~]=?\s*[0-9][^|\s]*$/.test(rest) ? `${pipName}${rest}` : pipName;
}

async function readInside(dir: string, rel: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, rel));
  } catch (err) {
    throw new OmafError("OMAF_ERR_CONDA_PATH", `cannot read ${what} '${rel}': ${messageOf(err)}`, { path: rel });
  }
}

/** The environment the artifact at `dir` declares; OMAF_ERR_ENV_CREATE when it declares none omaf can build. */
export async function readEnvironmentSpec(dir: string, manifest: OmafManifest): Promise<EnvironmentSpec> {
  if (manifest.binaries.type !== "python") {
    throw new OmafError("OMAF_ERR_ENV_CREATE", `only python models have a Python environment; this one is '${manifest.binaries.type}'`, {
      type: manifest.binaries.type,
    });
  }
  const condaPath = manifest.binaries.conda_path;
  if (condaPath) {
    const rel = resolveInside(condaPath);
    if (rel === undefined) throw new OmafError("OMAF_ERR_CONDA_PATH", `binaries.conda_path '${condaPath}' escapes the artifact root`, { condaPath });
    const bytes = await readInside(dir, rel, "binaries.conda_path");
    let env: unknown;
    try {
      env = parse(bytes.toString("utf8"));
    } catch (err) {
      throw new OmafError("OMAF_ERR_BINARIES_DEPENDENCIES", `the conda environment file '${condaPath}' is not valid YAML: ${messageOf(err)}`, { condaPath });
    }
    const declared = declaredPackages(env);
    const requirements: string[] = [];
    const deps = ((env as { dependencies?: unknown[] } | null)?.dependencies ?? []) as unknown[];
    for (const entry of deps) {
      if (typeof entry === "string" || typeof entry === "number") {
        const name = /^[A-Za-z0-9_.-]+/
          .exec(
            String(entry)
              .trim()
              .replace(/^[^:\s]+::/, ""),
          )?.[0]
          ?.toLowerCase();
        const pkg = declared.packages.find((p) => p.source === "conda" && p.name === name);
        if (pkg) requirements.push(condaToPip(String(entry), pkg.name));
      } else if (entry && typeof entry === "object" && Array.isArray((entry as { pip?: unknown }).pip)) {
        for (const p of (entry as { pip: unknown[] }).pip) if (p !== null && p !== undefined) requirements.push(String(p));
      }
    }
    return { kind: "conda", file: rel, absFile: path.join(dir, rel), sha256: sha256(bytes), requirements, declared };
  }
  if (manifest.binaries.dependencies === "pip") {
    const workDir = resolveInside(manifest.model.workDir ?? ".") ?? ".";
    for (const rel of [path.posix.join(workDir, "requirements.txt"), "requirements.txt"]) {
      const abs = path.join(dir, rel);
      if (!(await stat(abs).catch(() => undefined))?.isFile()) continue;
      const bytes = await readFile(abs);
      const text = bytes.toString("utf8");
      return { kind: "pip", file: rel, absFile: abs, sha256: sha256(bytes), requirements: text.split(/\r?\n/), declared: declaredRequirements(text) };
    }
    throw new OmafError(
      "OMAF_ERR_ENV_CREATE",
      `binaries.dependencies is pip, but there is no requirements.txt in model.workDir '${workDir}' or at the artifact root`,
      {
        workDir,
      },
    );
  }
  throw new OmafError(
    "OMAF_ERR_ENV_CREATE",
    `the artifact declares no Python environment: binaries.conda_path is not set and binaries.dependencies is '${manifest.binaries.dependencies}', not pip`,
    { dependencies: manifest.binaries.dependencies },
  );
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Runs a command; resolves with its exit code and the tail of its output. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; onOutput?: (chunk: string) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      reject(err);
      return;
    }
    let output = "";
    const onData = (t: string) => {
      output = (output + t).slice(-8000);
      opts.onOutput?.(t);
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.stderr!.setEncoding("utf8").on("data", onData);
    const onAbort = () => child.kill("SIGTERM");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(
        e.code === "ENOENT" || e.code === "EACCES"
          ? new OmafError("OMAF_ERR_PYTHON_NOT_FOUND", `cannot run '${cmd}' (${e.code})`, { python: cmd, errno: e.code })
          : e,
      );
    });
    child.on("close", (code) => {
      opts.signal?.removeEventListener("abort", onAbort);
      resolvePromise({ code, output });
    });
  });
}

/** The base interpreter's real path and version (what the key is made of). */
export async function describeInterpreter(python: string): Promise<BaseInterpreter> {
  const r = await run(python, ["-c", "import os, platform, sys; print(os.path.realpath(sys.executable)); print(platform.python_version())"], {});
  const [realPath, version] = r.output.trim().split(/\r?\n/);
  if (r.code !== 0 || !realPath || !version) {
    throw new OmafError("OMAF_ERR_PYTHON_NOT_FOUND", `'${python}' did not answer as a Python interpreter (exit ${r.code}): ${r.output.trim()}`, { python });
  }
  return { python, realPath, version };
}

/** The cache key of the environment `spec` on `base`. */
export function environmentKey(spec: EnvironmentSpec, base: BaseInterpreter, systemSitePackages = false): string {
  return sha256(`${spec.sha256}\0${base.realPath}\0${base.version}${systemSitePackages ? "\0system-site-packages" : ""}`);
}

/** Where the environment of `spec` on `opts.python` is (whether or not it exists yet). */
export async function locateEnvironment(spec: EnvironmentSpec, opts: EnvironmentOptions): Promise<PythonEnvironment> {
  const base = await describeInterpreter(resolvePython(opts.python));
  const key = environmentKey(spec, base, opts.systemSitePackages);
  const dir = path.join(path.resolve(opts.cacheDir), "envs", key);
  return { key, dir, python: path.join(dir, "bin", "python"), base, spec };
}

/** Whether a whole environment is at `env.dir` (its record is written last, before the rename). */
export async function environmentExists(env: PythonEnvironment): Promise<boolean> {
  const [record, python] = await Promise.all([stat(path.join(env.dir, RECORD)).catch(() => undefined), stat(env.python).catch(() => undefined)]);
  return Boolean(record?.isFile() && python);
}

/** The environment of `spec` when it has been created, else undefined. */
export async function findEnvironment(spec: EnvironmentSpec, opts: EnvironmentOptions): Promise<PythonEnvironment | undefined> {
  const env = await locateEnvironment(spec, opts);
  return (await environmentExists(env)) ? env : undefined;
}

/**
 * Creates the venv the artifact at `dir` declares, or reuses it when it exists. Fails with OMAF_ERR_ENV_CREATE naming
 * exactly the declared packages the venv could not provide; nothing is left under `<cacheDir>/envs` then.
 */
export async function createEnvironment(dir: string, manifest: OmafManifest, opts: CreateEnvironmentOptions): Promise<CreateEnvironmentResult> {
  const started = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const spec = await readEnvironmentSpec(dir, manifest);
  const env = await locateEnvironment(spec, opts);
  const elapsed = () => Math.round(performance.now() - started);
  if (await environmentExists(env)) {
    progress(`environment ${env.key.slice(0, 12)} exists: ${env.dir}`);
    const report = await checkDeclaredPackages(env.python, spec.declared);
    return { ...env, created: false, report, ms: elapsed() };
  }
  const wanted = spec.declared.pythonVersion;
  if (wanted && !pythonVersionFits(wanted, env.base.version)) {
    progress(`warning: ${spec.file} asks for python${wanted}; the base interpreter ${env.base.realPath} is ${env.base.version}`);
  }

  const envsDir = path.dirname(env.dir);
  await mkdir(envsDir, { recursive: true });
  const tmp = path.join(envsDir, `.tmp-${env.key.slice(0, 16)}-${process.pid}-${Date.now().toString(36)}`);
  const tmpPython = path.join(tmp, "bin", "python");
  const childEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONDONTWRITEBYTECODE: "1" };
  const checkAborted = () => {
    if (opts.signal?.aborted) throw new OmafError("OMAF_ERR_ENV_CREATE", "interrupted; nothing was left behind", { interrupted: true });
  };
  try {
    checkAborted();
    progress(`creating venv from ${env.base.realPath} (${env.base.version})${opts.systemSitePackages ? " with system site-packages" : ""}`);
    const venvArgs = ["-m", "venv", "--prompt", `omaf-${env.key.slice(0, 12)}`, ...(opts.systemSitePackages ? ["--system-site-packages"] : []), tmp];
    const venv = await run(env.base.python, venvArgs, { onOutput: opts.onOutput, signal: opts.signal, env: childEnv });
    checkAborted();
    if (venv.code !== 0) {
      throw new OmafError("OMAF_ERR_ENV_CREATE", `${env.base.python} -m venv failed (exit ${venv.code}): ${venv.output.trim()}`, {
        python: env.base.python,
        output: venv.output,
      });
    }

    const reqFile = path.join(tmp, "omaf-requirements.txt");
    await writeFile(reqFile, `${spec.requirements.join("\n")}\n`);
    const requirements = spec.requirements.filter((l) => l.trim() && !l.trim().startsWith("#"));
    let pipFailed: { code: number | null; output: string } | undefined;
    if (requirements.length > 0) {
      progress(`pip install: ${requirements.join(" ")}${opts.pipArgs?.length ? ` (${opts.pipArgs.join(" ")})` : ""}`);
      // Relative paths in the file (-r other.txt, ./pkg) are relative to the environment file's folder.
      const pip = await run(tmpPython, ["-m", "pip", "install", ...(opts.pipArgs ?? []), "-r", reqFile], {
        cwd: path.dirname(spec.absFile),
        onOutput: opts.onOutput,
        signal: opts.signal,
        env: childEnv,
      });
      checkAborted();
      if (pip.code !== 0) pipFailed = pip;
    }
    if (pipFailed) {
      // pip installs nothing when one requirement cannot be had; one at a time, the rest go in, so the report
      // below names exactly the packages that cannot be provided.
      progress(`pip failed (exit ${pipFailed.code}); installing one requirement at a time to find which`);
      const optionLines = spec.requirements.filter((l) => l.trim().startsWith("-"));
      for (const line of requirements.filter((l) => !l.trim().startsWith("-"))) {
        await writeFile(reqFile, `${[...optionLines, line].join("\n")}\n`);
        await run(tmpPython, ["-m", "pip", "install", ...(opts.pipArgs ?? []), "-r", reqFile], {
          cwd: path.dirname(spec.absFile),
          onOutput: opts.onOutput,
          signal: opts.signal,
          env: childEnv,
        });
        checkAborted();
      }
    }
    progress(`checking ${spec.declared.packages.length} declared package(s) with the venv's interpreter`);
    const report = await checkDeclaredPackages(tmpPython, spec.declared);
    checkAborted();
    if (report.missing.length > 0 || pipFailed) {
      const missing = report.missing;
      throw new OmafError(
        "OMAF_ERR_ENV_CREATE",
        missing.length > 0
          ? `the environment ${spec.file} declares cannot be made: pip could not provide ${missing.join(", ")}` +
              (pipFailed ? `\n${lastLines(pipFailed.output, 15)}` : "")
          : `pip failed (exit ${pipFailed!.code}):\n${lastLines(pipFailed!.output, 15)}`,
        { missing, python: env.base.python, file: spec.file, ...(pipFailed ? { pipExitCode: pipFailed.code } : {}) },
      );
    }

    // Scripts pip wrote into bin/, venv's activate scripts and pyvenv.cfg name the temp folder; point them at the final one.
    await retargetScripts(path.join(tmp, "bin"), tmp, env.dir);
    await retargetFile(path.join(tmp, "pyvenv.cfg"), tmp, env.dir);
    const record = {
      key: env.key,
      file: spec.file,
      kind: spec.kind,
      fileSha256: spec.sha256,
      base: env.base,
      systemSitePackages: Boolean(opts.systemSitePackages),
      requirements,
      installed: report.required,
      created: new Date().toISOString(),
    };
    await writeFile(path.join(tmp, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    checkAborted();
    try {
      await rename(tmp, env.dir);
    } catch (err) {
      // Another process made the same environment meanwhile: keep theirs.
      if (!(await environmentExists(env))) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    progress(`created ${env.dir}`);
    return { ...env, created: true, report: { ...report, python: env.python }, ms: elapsed() };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Rewrites `from` to `to` in the small text files of a venv's bin/ (shebangs, activate scripts). */
async function retargetScripts(binDir: string, from: string, to: string): Promise<void> {
  for (const name of await readdir(binDir)) {
    const file = path.join(binDir, name);
    const st = await lstat(file);
    if (!st.isFile() || st.size > 1024 * 1024) continue;
    await retargetFile(file, from, to);
  }
}

async function retargetFile(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, "latin1");
  if (text.includes(from)) await writeFile(file, text.split(from).join(to), "latin1");
}

/** Whether a conda python spec (`=3.11`, `3.11.*`, `>=3.8`) could mean `version`; unclear specs count as fitting. */
function pythonVersionFits(spec: string, version: string): boolean {
  const m = /^={0,2}\s*([0-9]+(?:\.[0-9]+)*)(?:\.\*)?$/.exec(spec.trim());
  if (!m) return true;
  return version === m[1] || version.startsWith(`${m[1]}.`);
}

const lastLines = (text: string, n: number) => text.trimEnd().split("\n").slice(-n).join("\n");
