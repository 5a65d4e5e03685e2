import type { Command } from "commander";
import { openArtifact } from "../../artifact/open.js";
import { action, formatIssue, printJson, type CommonOptions } from "../output.js";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Check an artifact's manifest and contents; lists every issue. Exit 0 valid, 1 invalid, 2 usage/IO error.")
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .option("--json", "print the result as JSON")
    .action(
      action(async (source: string, opts: CommonOptions) => {
        const a = await openArtifact(source);
        if (opts.json) {
          printJson({ source: a.source, kind: a.kind, valid: a.valid, manifest: a.manifestName, issues: a.issues });
        } else {
          for (const i of a.issues) process.stdout.write(`${formatIssue(i)}\n`);
          const errors = a.issues.filter((i) => i.severity === "error").length;
          const warnings = a.issues.length - errors;
          process.stdout.write(
            a.valid
              ? `${a.source}: valid${warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : ""}\n`
              : `${a.source}: invalid (${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"})\n`,
          );
        }
        return a.valid ? 0 : 1;
      }),
    );
}
