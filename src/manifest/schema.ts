// The manifest's JSON Schema (schemas/odahuflow.model.schema.json), checked by the validator ajv compiled from it
// ahead of time (src/schemas/validators.generated.ts; a test keeps the two in step).
import { readFileSync } from "node:fs";
import type { ErrorObject } from "ajv";
import { validateManifest } from "../schemas/validators.js";

/** The schema object, read from the package's schemas/ folder. */
export const manifestSchema: Record<string, unknown> = JSON.parse(readFileSync(new URL("../../schemas/odahuflow.model.schema.json", import.meta.url), "utf8"));

/** Validates against the schema; returns every error (ajv allErrors). */
export function schemaErrors(value: unknown): ErrorObject[] {
  return validateManifest(value) ? [] : [...(validateManifest.errors ?? [])];
}
