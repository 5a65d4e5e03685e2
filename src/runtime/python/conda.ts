// The conda part of `omaf env create`: which of micromamba, mamba and conda runs, the environment file it is given,
// and its command lines. Running them is environment.ts's job.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { OmafError } from "../../errors.js";

/** How a conda tool is called: micromamba has `create -f`, conda and mamba `env create -f`. */
export type CondaFlavor = "micromamba" | "mamba" | "conda";

/** A conda tool found to run. */
export interface CondaTool {
  flavor: CondaFlavor;
  /** The executable's path. */
  exe: string;
}

/** Looked for on PATH in this order when the choice is `auto`: the fastest solver first. */
export const CONDA_TOOLS: readonly CondaFlavor[] = ["micromamba", "mamba", "conda"];

/** A conda choice: `auto` (the first of CONDA_TOOLS on PATH), `none` (venv and pip), or an executable. */
export const DEFAULT_CONDA = "auto";

async function isExecutable(file: string): Promise<boolean> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return false;
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The first executable `name` in the folders of `searchPath` (PATH), as a path. */
export async function findOnPath(name: string, searchPath: string | undefined): Promise<string | undefined> {
  for (const dir of (searchPath ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.resolve(dir, name);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

/** The flavor of an executable, by its name: micromamba*, mamba*, else conda. */
export function condaFlavorOf(exe: string): CondaFlavor {
  const name = path.basename(exe).toLowerCase();
  if (name.startsWith("micromamba")) return "micromamba";
  if (name.startsWith("mamba")) return "mamba";
  return "conda";
}

/** The conda choice in effect: the option (false = none), else OMAF_CONDA, else auto. */
export function condaChoice(option: string | false | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (option === false) return "none";
  const chosen = (option ?? env.OMAF_CONDA ?? "").trim();
  return chosen === "" ? DEFAULT_CONDA : chosen;
}

/**
 * The tool a conda choice names: undefined for `none`, and for `auto` when none of CONDA_TOOLS is on PATH. An
 * executable that cannot be found is OMAF_ERR_ENV_CREATE.
 */
export async function resolveCondaTool(choice: string, env: NodeJS.ProcessEnv = process.env): Promise<CondaTool | undefined> {
  const lower = choice.toLowerCase();
  if (lower === "none") return undefined;
  if (lower === "auto") {
    for (const flavor of CONDA_TOOLS) {
      const exe = await findOnPath(flavor, env.PATH);
      if (exe) return { flavor, exe };
    }
    return undefined;
  }
  const exe = choice.includes("/") ? ((await isExecutable(path.resolve(choice))) ? path.resolve(choice) : undefined) : await findOnPath(choice, env.PATH);
  if (!exe) {
    throw new OmafError(
      "OMAF_ERR_ENV_CREATE",
      `the conda tool '${choice}' (--conda / OMAF_CONDA) is not an executable${choice.includes("/") ? "" : " on PATH"}`,
      {
        conda: choice,
      },
    );
  }
  return { flavor: condaFlavorOf(exe), exe };
}

/** The command line that creates the environment of `file` at `prefix`. */
export function condaCreateArgs(tool: CondaTool, prefix: string, file: string): string[] {
  return tool.flavor === "micromamba" ? ["create", "-y", "-p", prefix, "-f", file] : ["env", "create", "-p", prefix, "-f", file];
}

/** The command line that only solves one package spec (nothing is installed): whether the channels can provide it. */
export function condaProbeArgs(prefix: string, channels: readonly string[], spec: string): string[] {
  return ["create", "--dry-run", "-y", "-p", prefix, ...channels.flatMap((c) => ["-c", c]), spec];
}

/** The name of a conda `dependencies` entry (`conda-forge::numpy=1.2` → numpy), lower case. */
export function condaEntryName(entry: string): string | undefined {
  return /^[A-Za-z0-9_.-]+/.exec(entry.trim().replace(/^[^:\s]+::/, ""))?.[0]?.toLowerCase();
}

/**
 * The file handed to the conda tool: the artifact's conda file with its conda packages and channels, without its
 * `pip:` section (omaf installs that with the environment's own pip, so --pip-arg, PIP_* and the one-by-one retry work
 * as for a venv) and without `name`/`prefix` (the prefix is given). `python` is added when it is not declared (a python
 * model needs one), `pip` when there is a pip section to install.
 */
export function condaFileFor(
  document: Record<string, unknown>,
  condaEntries: readonly string[],
  hasPipSection: boolean,
): { text: string; dependencies: string[] } {
  const { name: _name, prefix: _prefix, dependencies: _deps, ...rest } = document;
  const names = new Set(condaEntries.map(condaEntryName));
  const dependencies = [...condaEntries, ...(names.has("python") ? [] : ["python"]), ...(hasPipSection && !names.has("pip") ? ["pip"] : [])];
  return { text: stringify({ ...rest, dependencies }), dependencies };
}
