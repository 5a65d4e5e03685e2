// `omaf env create|path <artifact>`: the Python environment a python artifact declares, as a venv under the cache
// (runtime/python/environment.ts). `omaf serve --env` uses it.
import type { Command } from "commander";
import { abortOnSignals, action, printJson, type CommonOptions } from "../output.js";

interface EnvFlags extends CommonOptions {
  python?: string;
  cacheDir?: string;
  pipArg: string[];
  systemSitePackages?: boolean;
  link?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerEnv(program: Command): void {
  const env = program
    .command("env")
    .summary("Create the Python environment a python artifact declares, or print its interpreter")
    .description(
      "Python environments from the artifact: a venv under <cache-dir>/envs/<key>, keyed by the SHA-256 of the environment " +
        "file and the base interpreter's path and version. `omaf serve` uses it by default (--env auto).",
    );
  const common = (cmd: Command) =>
    cmd
      .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
      .option("--python <path>", "base Python interpreter (default: $OMAF_PYTHON, else python3)")
      .option("--cache-dir <path>", "cache folder (default: $OMAF_CACHE_DIR, else ~/.cache/omaf)")
      .option("--system-site-packages", "let the venv see the base interpreter's packages (a separate environment; off by default)")
      .option("--json", "print the result as JSON");
  common(
    env
      .command("create")
      .summary("Build the artifact's Python environment with venv and pip (reused when it exists)")
      .description(
        "Build the environment a python artifact declares: its conda file's pip: entries and pip-installable conda packages " +
          "(binaries.conda_path), or requirements.txt in model.workDir, else at the artifact root (binaries.dependencies: pip). " +
          "Runs <python> -m venv into a temp folder, <venv>/bin/python -m pip install, checks that every declared package " +
          "imports, then renames it into place; on failure or Ctrl-C nothing is left. conda is not used. pip reads PIP_* " +
          "environment variables as usual. Exit 1 (OMAF_ERR_ENV_CREATE) names the packages that could not be provided.",
      ),
  )
    .option("--pip-arg <arg>", "pass an option to pip install, repeatable (e.g. --pip-arg=--no-index --pip-arg=--find-links=wheels/)", collect, [])
    .option("--link <path>", "also make <path> a symbolic link to the venv folder: a fixed path for serve --env (container images use it)")
    .action(action(create));
  common(env.command("path").summary("Print the interpreter of the artifact's environment (exit 1 when it was not created)")).action(action(where));
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
      pipArgs: opts.pipArg,
      signal,
      onProgress: (line) => process.stderr.write(`omaf: ${line}\n`),
      onOutput: (chunk) => process.stderr.write(chunk),
    });
    if (opts.link) await linkTo(result.dir, opts.link);
    const summary = {
      created: result.created,
      key: result.key,
      dir: result.dir,
      python: result.python,
      base: result.base,
      file: result.spec.file,
      kind: result.spec.kind,
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
  const { readEnvironmentSpec, locateEnvironment, environmentExists } = await import("../../runtime/python/environment.js");
  const { OmafError } = await import("../../errors.js");
  const spec = await readEnvironmentSpec(artifact.dir, artifact.manifest);
  const env = await locateEnvironment(spec, { cacheDir, python: opts.python, systemSitePackages: opts.systemSitePackages });
  if (!(await environmentExists(env))) {
    throw new OmafError(
      "OMAF_ERR_ENV_MISSING",
      `no environment for ${spec.file} on ${env.base.realPath} (${env.base.version}) at ${env.dir}; run: omaf env create ${source}`,
      { dir: env.dir, key: env.key },
    );
  }
  if (opts.json) printJson({ key: env.key, dir: env.dir, python: env.python, base: env.base, file: spec.file });
  else process.stdout.write(`${env.python}\n`);
  return 0;
}
