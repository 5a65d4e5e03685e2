import type { Command } from "commander";
import { abortOnSignals, action, formatIssue, integer, printJson, progressBar, type CommonOptions } from "../output.js";

interface PackFlags extends CommonOptions {
  output?: string;
  force?: boolean;
  level?: number;
  progress: boolean;
}

export function registerPack(program: Command): void {
  program
    .command("pack")
    .description(
      "Validate a model folder and pack it as a deterministic OMAF artifact (ZIP with provenance).\nFiles matching .omafignore (gitignore syntax) and the defaults (.git, __pycache__, ...) are left out.",
    )
    .argument("<dir>", "model folder with odahuflow.model.yaml at its root")
    .option("-o, --output <file>", "output file (default: {name}-{version}.zip)")
    .option("-f, --force", "replace an existing output file")
    .option("--level <0-9>", "Deflate level (default 6)", integer("--level", 0, 9))
    .option("--no-progress", "no progress bar")
    .option("--json", "print the result as JSON")
    .action(
      action(async (dir: string, opts: PackFlags) => {
        // The archive writer is loaded only when packing.
        const { pack } = await import("../../artifact/pack.js");
        const bar = await progressBar("packing", opts.progress && !opts.json);
        const abort = abortOnSignals();
        try {
          const r = await pack(dir, { output: opts.output, force: opts.force, level: opts.level, onProgress: bar.update, signal: abort.signal });
          bar.stop();
          if (opts.json) printJson(r);
          else {
            for (const w of r.warnings) process.stderr.write(`${formatIssue(w)}\n`);
            process.stdout.write(`${r.output}\n  ${r.files} files, ${r.bytes} bytes\n  ${r.artifactDigest}\n`);
          }
        } finally {
          bar.stop();
          abort.dispose();
        }
      }),
    );
}
