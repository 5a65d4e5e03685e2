import type { Command } from "commander";
import { action, printJson, repeatable, type CommonOptions } from "../output.js";

interface VerifyFlags extends CommonOptions {
  pub: string[];
  signature?: string;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "Verify an artifact's signature: exit 0 only when a signature by one of the given keys signs a statement about " +
        "this artifact's content digest and every file's bytes match its provenance record.",
    )
    .argument("<artifact>", "artifact .zip (or model folder)")
    .requiredOption("-p, --pub <public.pem>", "Ed25519 public key (SPKI PEM) to trust; repeat for several", repeatable, [])
    .option("-s, --signature <file>", "read the signatures from this .intoto.jsonl instead of the artifact")
    .option("--json", "print the result as JSON")
    .action(
      action(async (artifact: string, opts: VerifyFlags) => {
        const { verifyArtifact } = await import("../../signing/verify.js");
        const r = await verifyArtifact(artifact, { keys: opts.pub, signature: opts.signature });
        if (opts.json) printJson({ verified: true, ...r });
        else process.stdout.write(`${r.source}: verified\n  signed by ${r.keyIds.join(", ")}\n  ${r.artifactDigest} (${r.files} files hashed)\n`);
      }),
    );
}
