// Regenerates what derives from the JSON Schemas (the source of truth): the manifest's and the signing formats'
// TypeScript types and the precompiled validators. `npm run gen:types` writes them; test/manifest/spec-sync.test.ts fails when they drift.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderManifestTypes } from "./manifest-types.ts";
import { renderSigningTypes } from "./signing-types.ts";
import { renderValidators } from "./validators.ts";

const out = fileURLToPath(new URL("../src/manifest/manifest.types.ts", import.meta.url));
writeFileSync(out, await renderManifestTypes());
console.log(`wrote ${out}`);

const validators = fileURLToPath(new URL("../src/schemas/validators.generated.ts", import.meta.url));
writeFileSync(validators, renderValidators());
console.log(`wrote ${validators}`);

const signing = fileURLToPath(new URL("../src/signing/signing.types.ts", import.meta.url));
writeFileSync(signing, await renderSigningTypes());
console.log(`wrote ${signing}`);
