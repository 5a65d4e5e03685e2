import type { Command } from "commander";
import { action, formatIssue, printJson, repeatable, type CommonOptions } from "../output.js";

interface InspectFlags extends CommonOptions {
  pub: string[];
  signature?: string;
}

/** What inspect says of an artifact's signatures. */
interface SignatureStatus {
  /** `none`; `present, not verified` (no keys given); `verified`; `not verified` (with the error). */
  status: "none" | "present, not verified" | "verified" | "not verified";
  /** Where they were read from. */
  file: string;
  /** The key ids the signatures name (unverified hints). */
  keyIds: string[];
  /** With keys: those that verified. */
  verifiedKeyIds?: string[];
  error?: { code: string; message: string };
}

/** Reads the signatures and, when keys are given, verifies the artifact with them (omaf verify's full check). */
async function signatureStatus(source: string, opts: InspectFlags): Promise<SignatureStatus> {
  const { SIGNATURE_PATH } = await import("../../archive/provenance.js");
  const { readFile } = await import("node:fs/promises");
  const { parseEnvelopeLines } = await import("../../signing/dsse.js");
  const { readEmbeddedSignatures, verifyArtifact } = await import("../../signing/verify.js");
  const { toOmafError } = await import("../../errors.js");
  const file = opts.signature ?? SIGNATURE_PATH;
  const text = opts.signature ? await readFile(opts.signature) : await readEmbeddedSignatures(source);
  const lines = text === undefined ? [] : parseEnvelopeLines(text);
  const keyIds = [...new Set(lines.flatMap((l) => l.envelope?.signatures.map((s) => s.keyid ?? "(no key id)") ?? []))];
  if (lines.length === 0) return { status: "none", file, keyIds };
  if (opts.pub.length === 0) return { status: "present, not verified", file, keyIds };
  try {
    const r = await verifyArtifact(source, { keys: opts.pub, signature: opts.signature });
    return { status: "verified", file, keyIds, verifiedKeyIds: r.keyIds };
  } catch (err) {
    const e = toOmafError(err);
    return { status: "not verified", file, keyIds, verifiedKeyIds: [], error: { code: e.code, message: e.message } };
  }
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("Show an artifact's manifest, files (sizes and SHA-256), provenance and signatures.")
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .option("-p, --pub <public.pem>", "verify the signatures with this public key (repeatable; as omaf verify)", repeatable, [])
    .option("-s, --signature <file>", "read the signatures from this .intoto.jsonl instead of the artifact")
    .option("--json", "print as JSON")
    .action(
      action(async (source: string, opts: InspectFlags) => {
        // Loaded by the action, not by the definition (which help loads).
        const { openArtifact } = await import("../../artifact/open.js");
        const a = await openArtifact(source);
        const digest = a.provenance?.artifactDigest;
        const signatures = await signatureStatus(source, opts);
        if (opts.json) {
          printJson({
            source: a.source,
            kind: a.kind,
            valid: a.valid,
            manifestName: a.manifestName,
            manifest: a.manifest,
            artifactDigest: digest ?? null,
            provenance: a.provenance ? { ...a.provenance, files: undefined } : null,
            files: a.files,
            signatures,
            issues: a.issues,
          });
          return;
        }
        const out: string[] = [];
        out.push(`artifact  ${a.source} (${a.kind})`);
        out.push(`digest    ${digest ?? "none recorded (not packed by omaf)"}`);
        if (a.provenance) {
          const p = a.provenance;
          out.push(
            `packed by ${p.packer.tool} ${p.packer.version}${p.toolchain ? `, toolchain ${p.toolchain.name} ${p.toolchain.version}` : ""}${p.createdAt ? `, at ${p.createdAt}` : ""}`,
          );
        }
        out.push(`signature ${signatureLine(signatures)}`);
        out.push("", `manifest (${a.manifestName ?? "missing"}):`);
        if (a.manifest !== undefined) {
          const { stringify } = await import("yaml");
          out.push(
            ...stringify(a.manifest)
              .trimEnd()
              .split("\n")
              .map((l) => `  ${l}`),
          );
        }
        const total = a.files.reduce((n, f) => n + f.size, 0);
        out.push("", `files (${a.files.length}, ${total} bytes):`);
        const width = Math.max(4, ...a.files.map((f) => String(f.size).length));
        for (const f of a.files) out.push(`  ${String(f.size).padStart(width)}  ${f.sha256 ?? "-".padEnd(64)}  ${f.path}`);
        if (a.issues.length) out.push("", "issues:", ...a.issues.map((i) => `  ${formatIssue(i)}`));
        process.stdout.write(`${out.join("\n")}\n`);
      }),
    );
}

function signatureLine(s: SignatureStatus): string {
  if (s.status === "none") return "none";
  if (s.status === "present, not verified") return `present, not verified (give --pub to verify): key id ${s.keyIds.join(", ")}`;
  if (s.status === "verified") return `verified: signed by ${s.verifiedKeyIds!.join(", ")}`;
  return `NOT verified: ${s.error!.code}: ${s.error!.message}`;
}
