import { readFileSync } from "node:fs";
import { compile } from "json-schema-to-typescript";

/** Renders the TypeScript types of the manifest from schemas/odahuflow.model.schema.json. */
export async function renderManifestTypes(): Promise<string> {
  const schema = JSON.parse(readFileSync(new URL("../schemas/odahuflow.model.schema.json", import.meta.url), "utf8"));
  return compile(schema, "OmafManifest", {
    bannerComment: "// Generated from schemas/odahuflow.model.schema.json by `npm run gen:types`. Do not edit.",
    additionalProperties: true,
    style: { singleQuote: false },
  });
}
