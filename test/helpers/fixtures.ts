// Model folders on disk for tests.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(prefix = "omaf-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The seed manifest (a python MLflow-style model). */
export const seedManifest = () => ({
  binaries: { type: "python", dependencies: "conda", conda_path: "mlflow/model/mlflow_env.yml" },
  model: { name: "wine-quality", version: "1.0.0-12333122", workDir: "mlflow/model", entrypoint: "entrypoint" },
  odahuflowVersion: "1.0",
  toolchain: { name: "mlflow", version: "1.0.0" },
});

/** Writes files (path → content) under root, creating folders. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

/** A valid seed model folder under `root/name`, optionally with a changed manifest or extra files. */
export async function seedFolder(root: string, opts: { manifest?: unknown; files?: Record<string, string | Buffer>; name?: string } = {}): Promise<string> {
  const dir = path.join(root, opts.name ?? "model");
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify(opts.manifest ?? seedManifest()),
    "mlflow/model/mlflow_env.yml": "name: wine\ndependencies:\n  - python=3.11\n  - scikit-learn\n",
    "mlflow/model/entrypoint.py": "def init():\n    return 'matrix'\n\ndef predict_on_matrix(m, cols=None):\n    return [[0] for _ in m], ['quality']\n",
    "mlflow/model/data/weights.bin": Buffer.alloc(4096, 7),
    "README.md": "# wine quality\n",
    ...opts.files,
  });
  return dir;
}
