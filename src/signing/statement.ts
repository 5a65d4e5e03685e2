// The in-toto Statement v1 omaf signs: its subject is the artifact, named by the model and identified by its content
// digest (spec/provenance.md), and its predicate copies the provenance record (what packed it, every file's digest).
import { contentDigest, type Provenance } from "../archive/provenance.js";
import { OmafError } from "../errors.js";
import { validateStatement } from "../schemas/validators.js";
import type { InTotoStatement, OmafPredicate } from "./signing.types.js";

/** `_type` of an in-toto Statement v1. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** `predicateType` of omaf's provenance predicate (spec/signing.md). */
export const PREDICATE_TYPE = "https://omaf.dev/provenance/v1";

/** The statement for an artifact with this provenance record; `name` names the subject (the model name). */
export function buildStatement(provenance: Provenance, name: string): InTotoStatement {
  const predicate: OmafPredicate = {
    packer: { tool: provenance.packer.tool, version: provenance.packer.version },
    ...(provenance.toolchain ? { toolchain: { name: provenance.toolchain.name, version: provenance.toolchain.version } } : {}),
    ...(provenance.model ? { model: { name: provenance.model.name, version: provenance.model.version } } : {}),
    ...(provenance.createdAt ? { createdAt: provenance.createdAt } : {}),
    files: provenance.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
  };
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name, digest: { sha256: hexOf(provenance.artifactDigest) } }],
    predicateType: PREDICATE_TYPE,
    predicate,
  };
}

/** `sha256:<hex>` → `<hex>`. */
export function hexOf(artifactDigest: string): string {
  return artifactDigest.replace(/^sha256:/, "");
}

/** The payload bytes: compact JSON, keys in the order built. */
export function serializeStatement(statement: InTotoStatement): Buffer {
  return Buffer.from(JSON.stringify(statement), "utf8");
}

function invalid(message: string): OmafError {
  return new OmafError("OMAF_ERR_SIGNATURE_INVALID", `signed statement: ${message}`);
}

/**
 * Reads a signed payload as omaf's statement (schemas/intoto-statement.schema.json) and checks that its predicate's
 * files add up to its subject's digest. Failures are OMAF_ERR_SIGNATURE_INVALID.
 */
export function parseStatement(payload: Buffer): InTotoStatement {
  let data: unknown;
  try {
    data = JSON.parse(payload.toString("utf8"));
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (!validateStatement(data)) {
    const issues = (validateStatement.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
    throw invalid(`not an in-toto Statement v1 with omaf's predicate: ${issues.join("; ")}`);
  }
  const statement = data as InTotoStatement;
  let files: string;
  try {
    files = hexOf(contentDigest(statement.predicate.files));
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (!statement.subject.some((s) => s.digest.sha256 === files)) throw invalid(`its predicate's files add up to sha256:${files}, not to its subject's digest`);
  return statement;
}
