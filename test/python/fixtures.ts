// Shared helpers for the python environment tests: throw-away GPPI model folders and a log collector.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { parse } from "yaml";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import type { PythonLogger } from "../../src/runtime/python/options.js";
import { createPythonModel, type PythonModel, type PythonModelOptions } from "../../src/runtime/python/python-model.js";

/** The interpreter with numpy, pandas and scikit-learn (Debian's python3-sklearn & co.). */
export const PYTHON = process.env.OMAF_PYTHON || "/usr/bin/python3";

export const IRIS_DIR = fileURLToPath(new URL("../../examples/python-sklearn", import.meta.url));

export function irisManifest(): OmafManifest {
  return parse(readFileSync(join(IRIS_DIR, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
}

/** A logger that keeps every line (tests stay quiet and can look at what workers wrote). */
export function collectingLogger(): PythonLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (msg: string) => void lines.push(msg);
  return { lines, info: push, warn: push, error: push };
}

/** A temp artifact folder with `model/entrypoint.py` holding `source`; `files` adds more (paths from the root). */
export async function modelDir(
  source: string,
  files: Record<string, string> = {},
  manifest: Partial<OmafManifest["binaries"]> = {},
): Promise<{ dir: string; manifest: OmafManifest; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "omaf-python-"));
  await mkdir(join(dir, "model"));
  await writeFile(join(dir, "model", "entrypoint.py"), source);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(dir, rel, ".."), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  const m: OmafManifest = {
    binaries: { type: "python", dependencies: "conda", ...manifest },
    model: { name: "test-model", version: "1.0.0-1", workDir: "model", entrypoint: "entrypoint" },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "1.0.0" },
  };
  await writeFile(join(dir, "odahuflow.model.yaml"), JSON.stringify(m));
  return { dir, manifest: m, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A PythonModel over a temp entrypoint with a collecting logger; `done()` closes it and removes the folder. */
export async function tempModel(
  source: string,
  opts: Partial<PythonModelOptions> = {},
): Promise<{ model: PythonModel; logger: ReturnType<typeof collectingLogger>; dir: string; done: () => Promise<void> }> {
  const { dir, manifest, cleanup } = await modelDir(source);
  const logger = collectingLogger();
  const model = createPythonModel({ dir, manifest, python: PYTHON, workers: 1, logger, ...opts });
  return {
    model,
    logger,
    dir,
    done: async () => {
      await model.close();
      await cleanup();
    },
  };
}

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Writes `<name>-<version>-py3-none-any.whl` into `dir`: a package whose module holds VALUE = `value`. */
export function buildWheel(dir: string, name: string, version: string, value: number): void {
  const script = `
import sys, zipfile
d, name, version, value = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VALUE = {value}\\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: omaf-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
files[f"{info}/RECORD"] = "".join(f"{p},,\\n" for p in files) + f"{info}/RECORD,,\\n"
with zipfile.ZipFile(f"{d}/{name}-{version}-py3-none-any.whl", "w") as z:
    for p, text in files.items():
        z.writestr(p, text)
`;
  execFileSync("/usr/bin/python3", ["-c", script, dir, name, version, String(value)]);
}
