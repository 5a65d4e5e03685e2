// Finding and parsing the manifest. Odahu parses the file as JSON first, then YAML; so do we.
import { parse as parseYaml } from "yaml";
import { OmafError } from "../errors.js";

/** Manifest file names accepted at the artifact root, in order of precedence. `pack` writes the first. */
export const MANIFEST_NAMES = ["odahuflow.model.yaml", "odahuflow.model.yml", "odahuflow.project.yaml", "odahuflow.project.yml"] as const;

/** The name omaf writes. */
export const MANIFEST_NAME = MANIFEST_NAMES[0];

/** Largest manifest omaf reads; real ones are a few hundred bytes. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Picks the manifest among root-level file names; returns it and any others that were ignored. */
export function findManifestName(rootFiles: Iterable<string>): { name?: string; ignored: string[] } {
  const present = new Set(rootFiles);
  const found = MANIFEST_NAMES.filter((n) => present.has(n));
  return { name: found[0], ignored: found.slice(1) };
}

/** Parses manifest text: JSON first, then YAML. Throws OMAF_ERR_MANIFEST_PARSE. */
export function parseManifestText(text: string, source = "manifest"): unknown {
  const body = text.replace(/^\uFEFF/, "");
  try {
    return JSON.parse(body);
  } catch {
    // not JSON: fall through to YAML, which is a superset for the manifests seen in the wild
  }
  try {
    return parseYaml(body, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new OmafError("OMAF_ERR_MANIFEST_PARSE", `${source} is neither JSON nor YAML: ${(err as Error).message}`, {
      path: source,
    });
  }
}
