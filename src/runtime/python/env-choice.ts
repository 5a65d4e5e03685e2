// Which interpreter a python model runs with, as `--env` (OMAF_ENV) says; `omaf serve`, `omaf predict` and
// `omaf test` share it. `auto` never installs anything: it takes an environment `omaf env create` made for the
// artifact when there is one, and only when OMAF_PYTHON does not name an interpreter explicitly.
import { stat } from "node:fs/promises";
import path from "node:path";
import { OmafError } from "../../errors.js";
import type { OmafManifest } from "../../manifest/manifest.types.js";

export interface EnvChoiceOptions {
  /** `auto`, `create`, `current`, or the path of an interpreter or environment folder. */
  choice: string;
  /** The cache folder the environments are in (`<cacheDir>/envs`). */
  cacheDir: string;
  /** The conda tool `create` uses (`auto`, `none` or an executable); default OMAF_CONDA, else auto. */
  conda?: string;
  /** Progress lines, e.g. the environment chosen. */
  onProgress?: (line: string) => void;
  /** The tools' own output while `create` builds an environment. */
  onOutput?: (chunk: string) => void;
}

/** The interpreter for the python artifact at `dir`; undefined means the current one (OMAF_PYTHON, else python3). */
export async function interpreterFor(
  dir: string,
  manifest: OmafManifest,
  opts: EnvChoiceOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const { choice } = opts;
  const progress = opts.onProgress ?? (() => {});
  if (choice === "current") return undefined;
  if (choice !== "auto" && choice !== "create") {
    const st = await stat(choice).catch(() => undefined);
    if (!st) throw new OmafError("OMAF_ERR_ENV_MISSING", `--env ${choice}: no such interpreter or environment folder`, { env: choice });
    return st.isDirectory() ? path.join(choice, "bin", "python") : choice;
  }
  if (choice === "auto" && env.OMAF_PYTHON) return undefined;
  const environment = await import("./environment.js");
  if (choice === "create") {
    const created = await environment.createEnvironment(dir, manifest, {
      cacheDir: opts.cacheDir,
      conda: opts.conda,
      onProgress: progress,
      onOutput: opts.onOutput,
    });
    progress(`python environment ${created.dir}`);
    return created.python;
  }
  const found = await environment
    .readEnvironmentSpec(dir, manifest)
    .then((spec) => environment.findEnvironment(spec, { cacheDir: opts.cacheDir, conda: opts.conda }))
    // An artifact that declares no environment omaf can build, an unreadable environment file or a missing python3
    // leave the current interpreter, whose load then reports the problem as it always did.
    .catch(() => undefined);
  if (!found) return undefined;
  progress(`python environment ${found.dir}`);
  return found.python;
}

/**
 * interpreterFor with the serving settings (`--env`, the cache, `--conda`), progress and the tools' output on stderr:
 * what `omaf serve`, `omaf predict` and `omaf test` run for a python artifact.
 */
export function interpreterForSettings(
  artifact: { dir: string; manifest: OmafManifest },
  settings: { env: string; cacheDir: string; conda: string },
): Promise<string | undefined> {
  return interpreterFor(artifact.dir, artifact.manifest, {
    choice: settings.env,
    cacheDir: settings.cacheDir,
    conda: settings.conda,
    onProgress: (line) => process.stderr.write(`omaf: ${line}\n`),
    onOutput: (chunk) => process.stderr.write(chunk),
  });
}
