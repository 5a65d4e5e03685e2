import type { Command } from "commander";
import { action, printJson, type CommonOptions } from "../output.js";

interface KeygenFlags extends CommonOptions {
  output: string;
  force?: boolean;
}

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("Generate an Ed25519 signing key pair: <name>.key (PKCS#8 PEM, mode 0600) and <name>.pub (SPKI PEM); prints the key id.")
    .option("-o, --output <name>", "path of the key files without extension", "omaf-signing")
    .option("-f, --force", "replace existing key files")
    .option("--json", "print the result as JSON")
    .action(
      action(async (opts: KeygenFlags) => {
        const { writeSigningKey } = await import("../../signing/keys.js");
        const r = await writeSigningKey(opts.output, { force: opts.force });
        if (opts.json) printJson(r);
        else process.stdout.write(`${r.privateKeyFile}  (private: keep it secret)\n${r.publicKeyFile}  (public: give it to verifiers)\n  key id ${r.keyId}\n`);
      }),
    );
}
