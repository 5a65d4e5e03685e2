import type { Command } from "commander";
import { action, printJson, type CommonOptions } from "../output.js";

interface SignFlags extends CommonOptions {
  key: string;
  detached?: boolean;
}

export function registerSign(program: Command): void {
  program
    .command("sign")
    .description(
      "Sign an artifact: an in-toto statement about its content digest in a DSSE envelope, stored in the zip as " +
        ".omaf/signature.intoto.jsonl (the content digest does not change) or, with --detached, as <zip>.intoto.jsonl beside it.",
    )
    .argument("<artifact>", "artifact .zip packed by omaf")
    .requiredOption("-k, --key <private.pem>", "Ed25519 private key (PKCS#8 PEM, as omaf keygen writes it)")
    .option("--detached", "write <artifact>.intoto.jsonl instead of changing the artifact")
    .option("--json", "print the result as JSON")
    .action(
      action(async (artifact: string, opts: SignFlags) => {
        const { signArtifact } = await import("../../signing/sign.js");
        const r = await signArtifact(artifact, { key: opts.key, detached: opts.detached });
        if (opts.json) printJson(r);
        else {
          if (r.dropped > 0) process.stderr.write(`omaf: ${r.dropped} line(s) of the old signature file were not envelopes and were left out\n`);
          process.stdout.write(`${r.output}\n  signed by ${r.keyId}\n  ${r.artifactDigest} (${r.subject}), ${r.envelopes} signature(s)\n`);
        }
      }),
    );
}
