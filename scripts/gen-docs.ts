// Regenerates the documents that derive from code: spec/errors.md from src/errors.ts.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderErrorTable } from "./error-table.ts";

const out = fileURLToPath(new URL("../spec/errors.md", import.meta.url));
writeFileSync(out, renderErrorTable());
console.log(`wrote ${out}`);
