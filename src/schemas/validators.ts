// Typed handles on the validators ajv compiled ahead of time from schemas/*.schema.json (npm run gen:types).
import type { ErrorObject } from "ajv";
import * as generated from "./validators.generated.js";

/** A compiled JSON Schema check: true when `data` is valid, else `errors` lists every problem (allErrors). */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** schemas/odahuflow.model.schema.json */
export const validateManifest = generated.validateManifest as unknown as SchemaValidator;
/** schemas/provenance.schema.json */
export const validateProvenance = generated.validateProvenance as unknown as SchemaValidator;
/** schemas/dsse-envelope.schema.json */
export const validateEnvelope = generated.validateEnvelope as unknown as SchemaValidator;
/** schemas/intoto-statement.schema.json */
export const validateStatement = generated.validateStatement as unknown as SchemaValidator;
