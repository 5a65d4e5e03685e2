// The library's short forms: validate an artifact, or read its (valid) manifest.
import type { ValidationIssue } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { manifestOf, openArtifact } from "./open.js";

/** Validates an artifact (ZIP, Odahu gzip tar or folder); `valid` is false when any issue is an error. */
export async function validate(source: string): Promise<{ valid: boolean; issues: ValidationIssue[] }> {
  const { valid, issues } = await openArtifact(source);
  return { valid, issues };
}

/** Reads the manifest of an artifact; throws OMAF_ERR_MANIFEST_INVALID (listing every issue) if it is not valid. */
export async function readManifest(source: string): Promise<OmafManifest> {
  return manifestOf(await openArtifact(source));
}
