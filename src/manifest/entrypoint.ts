// Where `model.entrypoint` points for each environment, checked against a FileIndex (folder or ZIP listing).
import type { OmafManifest } from "./manifest.types.js";
import { resolveInside, type FileIndex } from "./file-index.js";

/** The environments (binaries.type) the schema allows; test/manifest checks this list against the schema. */
export const ENVIRONMENTS: readonly OmafManifest["binaries"]["type"][] = ["python", "java", "node", "onnx"];

/** Extensions tried, in order, when a node entrypoint is given without one. */
export const NODE_ENTRYPOINT_EXTENSIONS = [".js", ".mjs", ".cjs", ".ts", ".mts"] as const;

const join = (dir: string, file: string) => (dir ? `${dir}/${file}` : file);

/** Candidate files (relative to the artifact root) that `entrypoint` may denote in `workDir`. */
export function entrypointCandidates(type: OmafManifest["binaries"]["type"], workDir: string, entrypoint: string): string[] {
  switch (type) {
    case "python": {
      // A module import path (a.b.c) — or, leniently, a file name ending in .py.
      const file = entrypoint.endsWith(".py") ? entrypoint : entrypoint.replaceAll(".", "/");
      return entrypoint.endsWith(".py") ? [join(workDir, file)] : [join(workDir, `${file}.py`), join(workDir, `${file}/__init__.py`)];
    }
    case "node": {
      const exact = resolveInside(entrypoint, workDir);
      if (!exact || exact === workDir) return [];
      return [exact, ...NODE_ENTRYPOINT_EXTENSIONS.map((ext) => exact + ext)];
    }
    case "java":
    case "onnx": {
      const exact = resolveInside(entrypoint, workDir);
      return exact === undefined ? [] : [exact];
    }
  }
}

/** The file the entrypoint resolves to, or undefined. */
export function resolveEntrypoint(files: FileIndex, type: OmafManifest["binaries"]["type"], workDir: string, entrypoint: string): string | undefined {
  return entrypointCandidates(type, workDir, entrypoint).find((p) => files.hasFile(p));
}
