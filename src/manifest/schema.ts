// The manifest's JSON Schema (schemas/odahuflow.model.schema.json) compiled once with ajv (draft 2020-12).
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { OmafManifest } from "./manifest.types.js";

/** The schema object, read from the package's schemas/ folder. */
export const manifestSchema: Record<string, unknown> = JSON.parse(
  readFileSync(new URL("../../schemas/odahuflow.model.schema.json", import.meta.url), "utf8"),
);

let compiled: ValidateFunction<OmafManifest> | undefined;

/** Validates against the schema; returns every ajv error (allErrors). */
export function schemaErrors(value: unknown): ErrorObject[] {
  compiled ??= new Ajv2020.default({ allErrors: true, strict: true }).compile<OmafManifest>(manifestSchema);
  return compiled(value) ? [] : [...(compiled.errors ?? [])];
}
