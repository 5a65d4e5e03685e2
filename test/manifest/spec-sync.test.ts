// The spec files are the source of truth: generated code and docs must match them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { renderManifestTypes } from "../../scripts/manifest-types.js";
import { renderSigningTypes } from "../../scripts/signing-types.js";
import { renderValidators } from "../../scripts/validators.js";
import { renderErrorTable } from "../../scripts/error-table.js";
import { manifestSchema } from "../../src/manifest/schema.js";
import { ENVIRONMENTS } from "../../src/manifest/entrypoint.js";

const read = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), "utf8");

test("src/manifest/manifest.types.ts is what the JSON Schema generates (run `npm run gen:types`)", async () => {
  assert.equal(read("src/manifest/manifest.types.ts"), await renderManifestTypes());
});

test("src/signing/signing.types.ts is what the envelope and statement schemas generate (run `npm run gen:types`)", async () => {
  assert.equal(read("src/signing/signing.types.ts"), await renderSigningTypes());
});

test("src/schemas/validators.generated.ts is what ajv compiles from the schemas (run `npm run gen:types`)", () => {
  assert.equal(read("src/schemas/validators.generated.ts"), renderValidators());
});

test("spec/errors.md lists exactly the codes in src/errors.ts (run `npm run gen:docs`)", () => {
  assert.equal(read("spec/errors.md"), renderErrorTable());
});

test("the environments the validator knows are the schema's binaries.type enum", () => {
  const schemaEnum = (manifestSchema as any).properties.binaries.properties.type.enum;
  assert.deepEqual([...ENVIRONMENTS].sort(), [...schemaEnum].sort());
});
