import { readFileSync } from "node:fs";
import { compile } from "json-schema-to-typescript";

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../schemas/${name}`, import.meta.url), "utf8"));

/** Renders the TypeScript types of the DSSE envelope and the in-toto statement from their schemas. */
export async function renderSigningTypes(): Promise<string> {
  const options = { bannerComment: "", additionalProperties: true, style: { singleQuote: false } };
  const envelope = await compile(schema("dsse-envelope.schema.json"), "DsseEnvelope", options);
  const statement = await compile(schema("intoto-statement.schema.json"), "InTotoStatement", options);
  return [
    "// Generated from schemas/dsse-envelope.schema.json and schemas/intoto-statement.schema.json by `npm run gen:types`. Do not edit.",
    "",
    envelope.trim(),
    "",
    statement.trim(),
    "",
  ].join("\n");
}
