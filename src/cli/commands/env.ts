// `omaf env create|path <artifact>`: the Python environment a python artifact declares, as a venv or a conda
// environment under the cache (runtime/python/environment.ts). `omaf serve --env` uses it.
import path from "node:path";
import type { Command } from "commander";
import type { PythonEnvironment } from "../../runtime/python/environment.js";
import { abortOnSignals, action, printJson, type CommonOptions } from "../output.js";

interface EnvFlags extends CommonOptions {
  python?: string;
  cacheDir?: string;
  pipArg: string[];
  systemSitePackages?: boolean;
  /** A tool, or false for --no-conda. */
  conda?: string | false;
  link?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerEnv(program: Command): void {
  const env = program
    .command("env")
    .summary("Create the Python environment a python artifact declares, or print its interpreter")
    .description(
      "Python environments from the artifact, under <cache-dir>/envs/<key>: a conda environment made by micromamba, mamba " +
        "or conda when one is on PATH and the artifact has a conda file, else a venv made by pip. The key is the SHA-256 of " +
        "the environment file and, for a venv, the base interpreter's path and version. `omaf serve` uses it by default (--env auto).",
    );
  const common = (cmd: Command) =>
    cmd
      .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
      .option("--python <path>", "base interpreter of a venv (default: $OMAF_PYTHON, else python3); given, a venv is made even when conda is on PATH")
      .option("--cache-dir <path>", "cache folder (default: $OMAF_CACHE_DIR, else ~/.cache/omaf)")
      .option("--system-site-packages", "let a venv see the base interpreter's packages (a separate environment; off by default)")
      .option(
        "--conda <tool>",
        "conda tool for a conda file: auto (micromamba, mamba, conda: the first on PATH), none, or an executable (default: $OMAF_CONDA, else auto)",
      )
      .option("--no-conda", "make a venv with pip even when a conda tool is on PATH (as --conda none)")
      .option("--json", "print the result as JSON");
  common(
    env
      .command("create")
      .summary("Build the artifact's Python environment with conda or venv and pip (reused when it exists)")
      .description(
        "Build the environment a python artifact declares. A conda file (binaries.conda_path) with micromamba, mamba or " +
          "conda on PATH (or --conda): the tool creates a prefix from its conda packages and channels (micromamba create " +
          "-y -p PREFIX -f FILE; conda and mamba env create -p PREFIX -f FILE), then the prefix's pip installs its pip: " +
          "entries. Otherwise a venv: <python> -m venv, then pip installs the conda file's pip: entries and pip-installable " +
          "conda packages, or requirements.txt in model.workDir, else at the artifact root (binaries.dependencies: pip). " +
          "Every declared package is then checked to import, and the environment appears at its key only when whole; on " +
          "failure or Ctrl-C nothing is left. pip reads PIP_* environment variables as usual. Exit 1 " +
          "(OMAF_ERR_ENV_CREATE) names the packages that could not be provided.",
      ),
  )
    .option("--pip-arg <arg>", "pass an option to pip install, repeatable (e.g. --pip-arg=--no-index --pip-arg=--find-links=wheels/)", collect, [])
    .option("--link <path>", "also make <path> a symbolic link to the venv folder: a fixed path for serve --env (container images use it)")
    .action(action(create));
  common(
    env
      .command("path")
      .summary("Print the interpreter of the artifact's environment (exit 1 when none was created)")
      .description(
        "Print the interpreter of the environment omaf serve --env auto would use: the newest one made from the artifact's " +
          "environment file, on any interpreter, venv or conda. --python (or $OMAF_PYTHON), --system-site-packages, " +
          "--conda <tool> or --no-conda (or $OMAF_CONDA) ask for exactly the one omaf env create makes with them.",
      ),
  ).action(action(where));
}

async function open(source: string, opts: EnvFlags) {
  const { materializeArtifact, defaultCacheDir } = await import("../../artifact/materialize.js");
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const artifact = await materializeArtifact(source, { cacheDir });
  return { artifact, cacheDir };
}

async function create(source: string, opts: EnvFlags): Promise<number> {
  const { artifact, cacheDir } = await open(source, opts);
  const { createEnvironment } = await import("../../runtime/python/environment.js");
  const { signal, dispose } = abortOnSignals();
  try {
    const result = await createEnvironment(artifact.dir, artifact.manifest, {
      cacheDir,
      python: opts.python,
      systemSitePackages: opts.systemSitePackages,
      conda: opts.conda,
      pipArgs: opts.pipArg,
      signal,
      onProgress: (line) => process.stderr.write(`omaf: ${line}\n`),
      onOutput: (chunk) => process.stderr.write(chunk),
    });
    if (opts.link) await linkTo(result.dir, opts.link);
    const summary = {
      created: result.created,
      ...describe(result),
      packages: result.report.required,
      versionMismatches: result.report.versionMismatches,
      ms: result.ms,
    };
    if (opts.json) printJson(summary);
    else process.stdout.write(`${result.python}\n`);
    return 0;
  } finally {
    dispose();
  }
}

/** The JSON fields that say which environment it is. */
function describe(env: PythonEnvironment) {
  return {
    key: env.key,
    dir: env.dir,
    python: env.python,
    manager: env.manager,
    ...(env.base ? { base: env.base } : {}),
    ...(env.conda ? { conda: env.conda } : {}),
    systemSitePackages: env.systemSitePackages,
    file: env.spec.file,
    kind: env.spec.kind,
  };
}

/** Points `link` at `dir`, replacing a link (not a file or folder) already there. */
async function linkTo(dir: string, link: string): Promise<void> {
  const { lstat, rm, symlink } = await import("node:fs/promises");
  const { OmafError } = await import("../../errors.js");
  const existing = await lstat(link).catch(() => undefined);
  if (existing && !existing.isSymbolicLink()) throw new OmafError("OMAF_ERR_TARGET_EXISTS", `--link ${link}: a file or folder is in the way`, { path: link });
  if (existing) await rm(link);
  await symlink(dir, link, "dir");
}

async function where(source: string, opts: EnvFlags): Promise<number> {
  const { artifact, cacheDir } = await open(source, opts);
  const environment = await import("../../runtime/python/environment.js");
  const { OmafError } = await import("../../errors.js");
  const spec = await environment.readEnvironmentSpec(artifact.dir, artifact.manifest);
  const options = { cacheDir, python: opts.python, systemSitePackages: opts.systemSitePackages, conda: opts.conda };
  const env = await environment.findEnvironment(spec, options);
  if (!env) {
    if (!environment.choosesEnvironment(options)) {
      throw new OmafError(
        "OMAF_ERR_ENV_MISSING",
        `no environment made from ${spec.file} (sha256 ${spec.sha256.slice(0, 12)}) in ${path.join(path.resolve(cacheDir), "envs")}; run: omaf env create ${source}`,
        { file: spec.file },
      );
    }
    const target = await environment.locateEnvironment(spec, options);
    const made = target.base ? `on ${target.base.realPath} (${target.base.version})` : `by ${target.conda!.flavor}`;
    throw new OmafError("OMAF_ERR_ENV_MISSING", `no environment for ${spec.file} ${made} at ${target.dir}; run: omaf env create ${source}`, {
      dir: target.dir,
      key: target.key,
    });
  }
  if (opts.json) printJson(describe(env));
  else process.stdout.write(`${env.python}\n`);
  return 0;
}
