import type { Command } from "commander";
import { action, formatIssue, printJson, type CommonOptions } from "../output.js";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("Show an artifact's manifest, files (sizes and SHA-256) and provenance.")
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .option("--json", "print as JSON")
    .action(
      action(async (source: string, opts: CommonOptions) => {
        // Loaded by the action, not by the definition (which help loads).
        const { openArtifact } = await import("../../artifact/open.js");
        const a = await openArtifact(source);
        const digest = a.provenance?.artifactDigest;
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
