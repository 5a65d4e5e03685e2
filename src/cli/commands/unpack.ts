import path from "node:path";
import type { Command } from "commander";
import { DEFAULT_UNPACK_LIMITS } from "../../archive/limits.js";
import { abortOnSignals, action, integer, printJson, progressBar, type CommonOptions } from "../output.js";

interface UnpackFlags extends CommonOptions {
  dir?: string;
  force?: boolean;
  verify: boolean;
  expectDigest?: string;
  keepSignatures?: boolean;
  signature?: string;
  progress: boolean;
  maxEntries?: number;
  maxSize?: number;
  maxRatio?: number;
  maxArchiveRatio?: number;
}

export function registerUnpack(program: Command): void {
  program
    .command("unpack")
    .description("Extract an artifact safely: no paths outside the target, no links, zip-bomb limits, digests verified.")
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar)")
    .option("-d, --dir <dir>", "target folder (default: the artifact's name without extension)")
    .option("-f, --force", "replace an existing target folder")
    .option("--no-verify", "skip SHA-256 verification against the provenance record")
    .option("--expect-digest <digest>", "fail (OMAF_ERR_DIGEST_MISMATCH, nothing written) unless the files add up to this sha256:<hex> content digest")
    .option("--keep-signatures", "also write the artifact's signatures to <dir>/.omaf/signature.intoto.jsonl, where verify and serve read them")
    .option("--signature <file>", "write this detached .intoto.jsonl there instead of the artifact's own signatures (implies --keep-signatures)")
    .option("--max-entries <n>", `refuse archives with more entries (default ${DEFAULT_UNPACK_LIMITS.maxEntries})`, integer("--max-entries"))
    .option(
      "--max-size <bytes>",
      `refuse archives whose total uncompressed size is larger (default ${DEFAULT_UNPACK_LIMITS.maxTotalBytes}, 64 GiB)`,
      integer("--max-size"),
    )
    .option("--max-ratio <n>", `refuse entries compressed more than n:1 (default ${DEFAULT_UNPACK_LIMITS.maxRatio})`, integer("--max-ratio"))
    .option(
      "--max-archive-ratio <n>",
      `refuse archives whose files add up to more than n times the archive's size (default ${DEFAULT_UNPACK_LIMITS.maxArchiveRatio})`,
      integer("--max-archive-ratio"),
    )
    .option("--no-progress", "no progress bar")
    .option("--json", "print the result as JSON")
    .action(
      action(async (source: string, opts: UnpackFlags) => {
        const { withoutArchiveSuffix } = await import("../../archive/archive-name.js");
        const dest = opts.dir ?? withoutArchiveSuffix(path.basename(source));
        const { unpackArchive } = await import("../../archive/unpack.js");
        const bar = await progressBar("unpacking", opts.progress && !opts.json);
        const abort = abortOnSignals();
        try {
          const r = await unpackArchive(source, dest, {
            force: opts.force,
            verify: opts.verify,
            expectDigest: opts.expectDigest,
            keepSignatures: opts.keepSignatures,
            signature: opts.signature,
            limits: { maxEntries: opts.maxEntries, maxTotalBytes: opts.maxSize, maxRatio: opts.maxRatio, maxArchiveRatio: opts.maxArchiveRatio },
            onProgress: bar.update,
            signal: abort.signal,
          });
          bar.stop();
          const verified = Boolean(r.provenance) && opts.verify;
          if (opts.json) printJson({ dest: r.dest, artifactDigest: r.artifactDigest, verified, signatureFile: r.signatureFile ?? null, files: r.files });
          else {
            const signatures = r.signatureFile ? `  signatures kept in ${r.signatureFile}\n` : "";
            process.stdout.write(`${r.dest}\n  ${r.files.length} files${verified ? ", digests verified" : ""}\n  ${r.artifactDigest}\n${signatures}`);
          }
        } finally {
          bar.stop();
          abort.dispose();
        }
      }),
    );
}
