// Python environments built from what an artifact declares: `omaf env create` makes one under the cache,
// `<cacheDir>/envs/<key>`, and `omaf serve --env` runs the model's workers with its interpreter.
//
// Two ways to build one:
// - venv (the default, and always for a requirements.txt): `<python> -m venv`, then pip installs the conda file's
//   `pip:` entries and its conda packages that are Python packages (a conda pin `=1.2` read as pip's `==1.2.*`), or
//   the requirements file. The key is the SHA-256 of the environment file's bytes, the base interpreter's real path
//   and version (and whether the venv sees the system's site-packages).
// - conda (a conda file, and micromamba, mamba or conda on PATH or chosen): the tool creates a prefix from the file's
//   conda packages and channels, with the Python it asks for; the `pip:` entries are then installed by the prefix's
//   own pip. The key is the SHA-256 of the environment file's bytes and "conda".
// Either is made in a folder beside the final one and appears at the key only once everything is installed and the
// interpreter finds every declared package: a folder at the key is always a whole environment.
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { OmafError } from "../../errors.js";
import { isNotRunnable, runCommand, type CommandOptions } from "../../run-command.js";
import { resolveInside } from "../../manifest/file-index.js";
import type { OmafManifest } from "../../manifest/manifest.types.js";
import { messageOf } from "../source.js";
import { condaChoice, condaCreateArgs, condaEntryName, condaFileFor, condaProbeArgs, resolveCondaTool, type CondaTool } from "./conda.js";
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
  /** The lines handed to `pip install -r` when the environment is a venv. */
  requirements: string[];
  /** A conda file's parts, for a conda tool: the parsed file, its conda `dependencies` entries, channels and `pip:` entries. */
  conda?: { document: Record<string, unknown>; entries: string[]; channels: string[]; pip: string[] };
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
  /** The environment's folder (for conda, a link to the prefix). */
  dir: string;
  /** Its interpreter: `<dir>/bin/python`. */
  python: string;
  /** What made it: venv and pip, or a conda tool (and pip for the conda file's `pip:` section). */
  manager: "venv" | "conda";
  /** venv: the interpreter it was made from. */
  base?: BaseInterpreter;
  /** conda: the tool that makes (or made) it. */
  conda?: CondaTool;
  /** venv: whether it sees the base interpreter's site-packages. */
  systemSitePackages: boolean;
  spec: EnvironmentSpec;
}

export interface EnvironmentOptions {
  /** The cache folder; environments go to `<cacheDir>/envs`. */
  cacheDir: string;
  /** Base interpreter of a venv. Default: OMAF_PYTHON, else python3. Given, it asks for a venv. */
  python?: string;
  /** Let the venv see the base interpreter's site-packages (part of the key). Default false. True asks for a venv. */
  systemSitePackages?: boolean;
  /**
   * The conda tool for a conda file: `auto` (the first of micromamba, mamba, conda on PATH), `none` or false (venv and
   * pip), or an executable. Default: OMAF_CONDA, else auto.
   */
  conda?: string | false;
}

export interface CreateEnvironmentOptions extends EnvironmentOptions {
  /** More pip options, e.g. `--no-index`, `--find-links <dir>`, `--index-url <url>`. pip also reads PIP_* variables. */
  pipArgs?: string[];
  /** Progress lines (what is being done). */
  onProgress?: (line: string) => void;
  /** The tools' own output (venv, conda, pip), as it comes. */
  onOutput?: (chunk: string) => void;
  /** Stops the creation; the temp folder is removed. */
  signal?: AbortSignal;
}

export interface CreateEnvironmentResult extends PythonEnvironment {
  /** False when the environment was already there and reused. */
  created: boolean;
  /** The environment interpreter's check against the declared packages. */
  report: PythonDependencyReport;
  ms: number;
}

/** The record in every environment folder, written last: what made it, from which file, and when. */
interface EnvironmentRecord {
  key: string;
  manager?: "venv" | "conda";
  file: string;
  kind: "conda" | "pip";
  fileSha256: string;
  base?: BaseInterpreter;
  conda?: CondaTool;
  systemSitePackages?: boolean;
  created: string;
  [more: string]: unknown;
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
    const document = env && typeof env === "object" && !Array.isArray(env) ? (env as Record<string, unknown>) : {};
    const requirements: string[] = [];
    const entries: string[] = [];
    const pip: string[] = [];
    for (const entry of (document.dependencies ?? []) as unknown[]) {
      if (typeof entry === "string" || typeof entry === "number") {
        entries.push(String(entry));
        const name = condaEntryName(String(entry));
        const pkg = declared.packages.find((p) => p.source === "conda" && p.name === name);
        if (pkg) requirements.push(condaToPip(String(entry), pkg.name));
      } else if (entry && typeof entry === "object" && Array.isArray((entry as { pip?: unknown }).pip)) {
        for (const p of (entry as { pip: unknown[] }).pip) if (p !== null && p !== undefined) pip.push(String(p));
      }
    }
    requirements.push(...pip);
    const channels = Array.isArray(document.channels) ? document.channels.filter((c) => c !== null && c !== undefined).map(String) : [];
    return {
      kind: "conda",
      file: rel,
      absFile: path.join(dir, rel),
      sha256: sha256(bytes),
      requirements,
      conda: { document, entries, channels, pip },
      declared,
    };
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

/** Runs a command; resolves with its exit code and the tail of its output (what error messages quote). */
async function run(cmd: string, args: string[], opts: CommandOptions): Promise<{ code: number | null; output: string }> {
  try {
    const r = await runCommand(cmd, args, opts);
    return { code: r.code, output: r.output.slice(-8000) };
  } catch (err) {
    if (isNotRunnable(err)) throw new OmafError("OMAF_ERR_PYTHON_NOT_FOUND", `cannot run '${cmd}' (${err.code})`, { python: cmd, errno: err.code });
    throw err;
  }
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

/** The cache key of the venv of `spec` on `base`. */
export function environmentKey(spec: EnvironmentSpec, base: BaseInterpreter, systemSitePackages = false): string {
  return sha256(`${spec.sha256}\0${base.realPath}\0${base.version}${systemSitePackages ? "\0system-site-packages" : ""}`);
}

/** The cache key of the conda environment of `spec` (any conda tool makes the same one). */
export function condaEnvironmentKey(spec: EnvironmentSpec): string {
  return sha256(`${spec.sha256}\0conda`);
}

const envsDirOf = (cacheDir: string) => path.join(path.resolve(cacheDir), "envs");

/**
 * The environment createEnvironment makes for `spec` with `opts` (whether or not it exists yet). A conda file gets a
 * conda environment when a conda tool is chosen or found, unless `python` or `systemSitePackages` ask for a venv;
 * anything else a venv on the base interpreter.
 */
export async function locateEnvironment(spec: EnvironmentSpec, opts: EnvironmentOptions): Promise<PythonEnvironment> {
  const envs = envsDirOf(opts.cacheDir);
  const wantsVenv = opts.python !== undefined || Boolean(opts.systemSitePackages);
  const choice = condaChoice(opts.conda);
  if (wantsVenv && typeof opts.conda === "string" && !["auto", "none"].includes(choice.toLowerCase())) {
    throw new OmafError("OMAF_ERR_USAGE", "--python and --system-site-packages make a venv; they do not go with --conda <tool>", { conda: opts.conda });
  }
  if (spec.kind === "conda" && !wantsVenv) {
    const tool = await resolveCondaTool(choice);
    if (tool) {
      const key = condaEnvironmentKey(spec);
      const dir = path.join(envs, key);
      return { key, dir, python: path.join(dir, "bin", "python"), manager: "conda", conda: tool, systemSitePackages: false, spec };
    }
  }
  const base = await describeInterpreter(resolvePython(opts.python));
  const systemSitePackages = Boolean(opts.systemSitePackages);
  const key = environmentKey(spec, base, systemSitePackages);
  const dir = path.join(envs, key);
  return { key, dir, python: path.join(dir, "bin", "python"), manager: "venv", base, systemSitePackages, spec };
}

/** Whether a whole environment is at `env.dir` (its record is written last, before it appears there). */
export async function environmentExists(env: Pick<PythonEnvironment, "dir" | "python">): Promise<boolean> {
  const [record, python] = await Promise.all([stat(path.join(env.dir, RECORD)).catch(() => undefined), stat(env.python).catch(() => undefined)]);
  return Boolean(record?.isFile() && python);
}

/** Every whole environment in `<cacheDir>/envs` made from `spec`'s file (same bytes), newest first. */
export async function listEnvironments(spec: EnvironmentSpec, cacheDir: string): Promise<PythonEnvironment[]> {
  const envs = envsDirOf(cacheDir);
  const names = await readdir(envs).catch(() => [] as string[]);
  const found: { env: PythonEnvironment; created: string }[] = [];
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const dir = path.join(envs, name);
    let record: EnvironmentRecord;
    try {
      record = JSON.parse(await readFile(path.join(dir, RECORD), "utf8")) as EnvironmentRecord;
    } catch {
      continue;
    }
    if (record.fileSha256 !== spec.sha256 || record.key !== name) continue;
    const env: PythonEnvironment = {
      key: name,
      dir,
      python: path.join(dir, "bin", "python"),
      manager: record.manager ?? "venv",
      ...(record.base ? { base: record.base } : {}),
      ...(record.conda ? { conda: record.conda } : {}),
      systemSitePackages: Boolean(record.systemSitePackages),
      spec,
    };
    if (await environmentExists(env)) found.push({ env, created: String(record.created ?? "") });
  }
  return found.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0)).map((f) => f.env);
}

/** Whether `opts` (or OMAF_PYTHON, OMAF_CONDA) choose one environment: a base interpreter, system site-packages, a conda choice other than auto. */
export function choosesEnvironment(opts: EnvironmentOptions): boolean {
  return opts.python !== undefined || Boolean(process.env.OMAF_PYTHON) || Boolean(opts.systemSitePackages) || condaChoice(opts.conda).toLowerCase() !== "auto";
}

/**
 * The environment made for `spec`, else undefined. With no explicit choice — no `python`, OMAF_PYTHON,
 * `systemSitePackages` or conda choice other than auto (`conda`, OMAF_CONDA) — the newest one made from the same
 * environment file, whatever made it and on whichever interpreter; otherwise exactly the one createEnvironment
 * makes with the same options.
 */
export async function findEnvironment(spec: EnvironmentSpec, opts: EnvironmentOptions): Promise<PythonEnvironment | undefined> {
  if (!choosesEnvironment(opts)) return (await listEnvironments(spec, opts.cacheDir))[0];
  const target = await locateEnvironment(spec, opts);
  return (await environmentExists(target)) ? target : undefined;
}

/** What one build step shares: progress, output, the signal, the child environment. */
interface BuildContext {
  opts: CreateEnvironmentOptions;
  progress: (line: string) => void;
  childEnv: NodeJS.ProcessEnv;
  checkAborted: () => void;
}

/**
 * Creates the environment the artifact at `dir` declares, or reuses it when it exists. Fails with
 * OMAF_ERR_ENV_CREATE naming exactly the declared packages that could not be provided; nothing is left under
 * `<cacheDir>/envs` then.
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
  await mkdir(path.dirname(env.dir), { recursive: true });
  const ctx: BuildContext = {
    opts,
    progress,
    childEnv: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONDONTWRITEBYTECODE: "1" },
    checkAborted: () => {
      if (opts.signal?.aborted) throw new OmafError("OMAF_ERR_ENV_CREATE", "interrupted; nothing was left behind", { interrupted: true });
    },
  };
  const report = env.manager === "conda" ? await buildConda(env, ctx) : await buildVenv(env, ctx);
  progress(`created ${env.dir}`);
  return { ...env, created: true, report: { ...report, python: env.python }, ms: elapsed() };
}

/** A unique name beside the final folder, so the last move is on one file system. */
const besideName = (env: PythonEnvironment, prefix: string) =>
  path.join(path.dirname(env.dir), `${prefix}-${env.key.slice(0, 16)}-${process.pid}-${Date.now().toString(36)}`);

async function buildVenv(env: PythonEnvironment, ctx: BuildContext): Promise<PythonDependencyReport> {
  const { spec, base } = env as PythonEnvironment & { base: BaseInterpreter };
  const wanted = spec.declared.pythonVersion;
  if (wanted && !pythonVersionFits(wanted, base.version)) {
    ctx.progress(`warning: ${spec.file} asks for python${wanted}; the base interpreter ${base.realPath} is ${base.version}`);
  }
  const tmp = besideName(env, ".tmp");
  try {
    ctx.checkAborted();
    ctx.progress(`creating venv from ${base.realPath} (${base.version})${env.systemSitePackages ? " with system site-packages" : ""}`);
    const venvArgs = ["-m", "venv", "--prompt", `omaf-${env.key.slice(0, 12)}`, ...(env.systemSitePackages ? ["--system-site-packages"] : []), tmp];
    const venv = await run(base.python, venvArgs, { onOutput: ctx.opts.onOutput, signal: ctx.opts.signal, env: ctx.childEnv });
    ctx.checkAborted();
    if (venv.code !== 0) {
      throw new OmafError("OMAF_ERR_ENV_CREATE", `${base.python} -m venv failed (exit ${venv.code}): ${venv.output.trim()}`, {
        python: base.python,
        output: venv.output,
      });
    }
    const report = await installAndCheck(path.join(tmp, "bin", "python"), spec.requirements, tmp, spec, ctx);
    // Scripts pip wrote into bin/, venv's activate scripts and pyvenv.cfg name the temp folder; point them at the final one.
    await retargetScripts(path.join(tmp, "bin"), tmp, env.dir);
    await retargetFile(path.join(tmp, "pyvenv.cfg"), tmp, env.dir);
    await writeRecord(tmp, env, report, { requirements: meaningful(spec.requirements) });
    ctx.checkAborted();
    try {
      await rename(tmp, env.dir);
    } catch (err) {
      // Another process made the same environment meanwhile: keep theirs.
      if (!(await environmentExists(env))) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    return report;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The conda tool creates the prefix `<envs>/.conda-<key>-<pid>-<time>` from the conda part of the file; pip installs
 * the `pip:` part; then `<envs>/<key>` is made a symbolic link to the prefix. The prefix is never moved: conda writes
 * its path into scripts and binaries as it installs them (openssl's certificate folder, entry points), so a moved
 * prefix would break, while creating the link is as atomic as a rename.
 */
async function buildConda(env: PythonEnvironment, ctx: BuildContext): Promise<PythonDependencyReport> {
  const { spec, conda: tool } = env as PythonEnvironment & { conda: CondaTool };
  const parts = spec.conda!;
  const prefix = besideName(env, ".conda");
  const file = `${prefix}.yml`;
  const run1 = (args: string[]) =>
    run(tool.exe, args, { cwd: path.dirname(spec.absFile), onOutput: ctx.opts.onOutput, signal: ctx.opts.signal, env: ctx.childEnv });
  try {
    ctx.checkAborted();
    const conda = condaFileFor(parts.document, parts.entries, parts.pip.length > 0);
    await writeFile(file, conda.text);
    const args = condaCreateArgs(tool, prefix, file);
    ctx.progress(`creating conda environment: ${tool.exe} ${args.join(" ")}`);
    const created = await run1(args);
    ctx.checkAborted();
    if (created.code !== 0) {
      // A conda solve either provides everything or nothing: each package alone (a dry run installs nothing) tells
      // which ones the channels cannot provide.
      await rm(prefix, { recursive: true, force: true });
      ctx.progress(`${tool.flavor} failed (exit ${created.code}); solving each package alone to find which cannot be provided`);
      const missing: string[] = [];
      for (const dep of conda.dependencies) {
        const probe = await run1(condaProbeArgs(prefix, parts.channels, dep));
        ctx.checkAborted();
        if (probe.code !== 0) missing.push(condaEntryName(dep) ?? dep);
      }
      await rm(prefix, { recursive: true, force: true });
      throw new OmafError(
        "OMAF_ERR_ENV_CREATE",
        missing.length > 0
          ? `the environment ${spec.file} declares cannot be made: ${tool.flavor} could not provide ${missing.join(", ")}\n${lastLines(created.output, 15)}`
          : `${tool.flavor} failed (exit ${created.code}); each package alone can be provided, so together they conflict:\n${lastLines(created.output, 15)}`,
        { missing, conda: tool.exe, file: spec.file, exitCode: created.code },
      );
    }
    const report = await installAndCheck(path.join(prefix, "bin", "python"), parts.pip, prefix, spec, ctx);
    await writeRecord(prefix, env, report, { condaDependencies: conda.dependencies, requirements: meaningful(parts.pip) });
    ctx.checkAborted();
    const target = path.basename(prefix);
    try {
      await symlink(target, env.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process made the same environment meanwhile: keep theirs; a stale link (its prefix removed) is replaced.
      if (await environmentExists(env)) {
        await rm(prefix, { recursive: true, force: true });
        return report;
      }
      await rm(env.dir, { force: true });
      await symlink(target, env.dir);
    }
    return report;
  } catch (err) {
    await rm(prefix, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(file, { force: true });
  }
}

const meaningful = (lines: readonly string[]) => lines.filter((l) => l.trim() && !l.trim().startsWith("#"));

/**
 * `python -m pip install` of `lines` (when any), then the check of every declared package with `python`. Throws
 * OMAF_ERR_ENV_CREATE naming the packages that could not be provided.
 */
async function installAndCheck(
  python: string,
  lines: readonly string[],
  workDir: string,
  spec: EnvironmentSpec,
  ctx: BuildContext,
): Promise<PythonDependencyReport> {
  const { opts, progress } = ctx;
  const reqFile = path.join(workDir, "omaf-requirements.txt");
  const requirements = meaningful(lines);
  let pipFailed: { code: number | null; output: string } | undefined;
  const pip = async (file: string[]) => {
    await writeFile(reqFile, `${file.join("\n")}\n`);
    // Relative paths in the file (-r other.txt, ./pkg) are relative to the environment file's folder.
    const r = await run(python, ["-m", "pip", "install", ...(opts.pipArgs ?? []), "-r", reqFile], {
      cwd: path.dirname(spec.absFile),
      onOutput: opts.onOutput,
      signal: opts.signal,
      env: ctx.childEnv,
    });
    ctx.checkAborted();
    return r;
  };
  try {
    if (requirements.length > 0) {
      progress(`pip install: ${requirements.join(" ")}${opts.pipArgs?.length ? ` (${opts.pipArgs.join(" ")})` : ""}`);
      const r = await pip([...lines]);
      if (r.code !== 0) pipFailed = r;
    }
    if (pipFailed) {
      // pip installs nothing when one requirement cannot be had; one at a time, the rest go in, so the check below
      // names exactly the packages that cannot be provided.
      progress(`pip failed (exit ${pipFailed.code}); installing one requirement at a time to find which`);
      const optionLines = lines.filter((l) => l.trim().startsWith("-"));
      for (const line of requirements.filter((l) => !l.trim().startsWith("-"))) await pip([...optionLines, line]);
    }
  } finally {
    await rm(reqFile, { force: true });
  }
  progress(`checking ${spec.declared.packages.length} declared package(s) with ${python}`);
  const report = await checkDeclaredPackages(python, spec.declared);
  ctx.checkAborted();
  if (report.missing.length > 0 || pipFailed) {
    const missing = report.missing;
    throw new OmafError(
      "OMAF_ERR_ENV_CREATE",
      missing.length > 0
        ? `the environment ${spec.file} declares cannot be made: pip could not provide ${missing.join(", ")}` +
            (pipFailed ? `\n${lastLines(pipFailed.output, 15)}` : "")
        : `pip failed (exit ${pipFailed!.code}):\n${lastLines(pipFailed!.output, 15)}`,
      { missing, python, file: spec.file, ...(pipFailed ? { pipExitCode: pipFailed.code } : {}) },
    );
  }
  return report;
}

async function writeRecord(folder: string, env: PythonEnvironment, report: PythonDependencyReport, more: Record<string, unknown>): Promise<void> {
  const record: EnvironmentRecord = {
    key: env.key,
    manager: env.manager,
    file: env.spec.file,
    kind: env.spec.kind,
    fileSha256: env.spec.sha256,
    ...(env.base ? { base: env.base } : {}),
    ...(env.conda ? { conda: env.conda } : {}),
    systemSitePackages: env.systemSitePackages,
    pythonVersion: report.pythonVersion,
    ...more,
    installed: report.required,
    created: new Date().toISOString(),
  };
  await writeFile(path.join(folder, RECORD), `${JSON.stringify(record, null, 2)}\n`);
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
