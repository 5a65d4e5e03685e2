import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../schemas/${name}`, import.meta.url), "utf8"));

/**
 * Renders src/schemas/validators.generated.ts: the manifest, provenance, DSSE envelope and in-toto statement schemas compiled by ajv ahead of time, so
 * no process pays the schema compile (~50 ms each) on its first validation.
 */
export function renderValidators(): string {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true, code: { source: true, esm: true } });
  ajv.addSchema(schema("odahuflow.model.schema.json"), "manifest");
  ajv.addSchema(schema("provenance.schema.json"), "provenance");
  ajv.addSchema(schema("dsse-envelope.schema.json"), "envelope");
  ajv.addSchema(schema("intoto-statement.schema.json"), "statement");
  const code = standaloneCode.default(ajv, {
    validateManifest: "manifest",
    validateProvenance: "provenance",
    validateEnvelope: "envelope",
    validateStatement: "statement",
  });
  // ajv's ESM output still require()s its small runtime helpers (e.g. ucs2length for minLength).
  return [
    "// Generated from schemas/*.schema.json by `npm run gen:types` (ajv standalone). Do not edit.",
    "// @ts-nocheck",
    'import { createRequire } from "node:module";',
    "const require = createRequire(import.meta.url);",
    code.replace(/^"use strict";/, ""),
    "",
  ].join("\n");
}
