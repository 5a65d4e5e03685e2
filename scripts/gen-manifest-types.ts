// Regenerates src/manifest/manifest.types.ts from the manifest's JSON Schema (the source of truth).
// `npm run gen:types` writes it; test/manifest/types.test.ts fails when the committed file has drifted.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderManifestTypes } from "./manifest-types.ts";

const out = fileURLToPath(new URL("../src/manifest/manifest.types.ts", import.meta.url));
writeFileSync(out, await renderManifestTypes());
console.log(`wrote ${out}`);
