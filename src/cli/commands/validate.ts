import type { Command } from "commander";
import type { OpenedArtifact } from "../../artifact/open.js";
import type { ValidationIssue } from "../../errors.js";
import type { OmafManifest } from "../../manifest/manifest.types.js";
import { action, formatIssue, printJson, type CommonOptions } from "../output.js";

interface ValidateFlags extends CommonOptions {
  python?: boolean;
  interpreter?: string;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Check an artifact's manifest and contents; lists every issue. Exit 0 valid, 1 invalid, 2 usage/IO error.")
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .option("--python", "for python models: check that the interpreter can import the dependencies in binaries.conda_path")
    .option("--interpreter <path>", "Python interpreter for --python (default: $OMAF_PYTHON, else python3)")
    .option("--json", "print the result as JSON")
    .action(
      action(async (source: string, opts: ValidateFlags) => {
        // The reader, manifest parser and validator are loaded by the action, not by the definition (which help loads).
        const { openArtifact } = await import("../../artifact/open.js");
        const a = await openArtifact(source);
        const issues = [...a.issues];
        const python = opts.python && a.valid ? await pythonIssues(a, opts.interpreter) : undefined;
        if (python) issues.push(...python.issues);
        const valid = issues.every((i) => i.severity !== "error");
        if (opts.json) {
          printJson({ source: a.source, kind: a.kind, valid, manifest: a.manifestName, issues, ...(python ? { python: python.report } : {}) });
        } else {
          for (const i of issues) process.stdout.write(`${formatIssue(i)}\n`);
          if (python)
            process.stdout.write(`python: ${python.report.python} (${python.report.pythonVersion}); ${python.report.required.length} dependencies checked\n`);
          const errors = issues.filter((i) => i.severity === "error").length;
          const warnings = issues.length - errors;
          const counts = `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
          process.stdout.write(valid ? `${a.source}: valid${warnings ? ` (${counts})` : ""}\n` : `${a.source}: invalid (${counts})\n`);
        }
        return valid ? 0 : 1;
      }),
    );
}

/** Checks a python model's declared dependencies against an interpreter; missing ones are errors. */
async function pythonIssues(a: OpenedArtifact, python: string | undefined) {
  const manifest = a.manifest as OmafManifest;
  if (manifest.binaries.type !== "python") return undefined;
  // Loaded only here: the dependency check is the one part of validate that needs the python runtime.
  const { checkPythonDependencies } = await import("../../runtime/python/dependencies.js");
  const { readArtifactFile } = await import("../../artifact/open.js");
  const report = await checkPythonDependencies({
    manifest,
    python,
    read: async (rel) => (await readArtifactFile(a.source, rel)).toString("utf8"),
  });
  const issues: ValidationIssue[] = [
    ...report.missing.map(
      (name): ValidationIssue => ({
        code: "OMAF_ERR_PYTHON_DEPENDENCY",
        severity: "error",
        path: manifest.binaries.conda_path ?? "binaries.conda_path",
        message: `${name} is declared but ${report.python} cannot import it`,
      }),
    ),
    ...report.versionMismatches.map(
      (m): ValidationIssue => ({
        code: "OMAF_WARN_PYTHON_VERSION_MISMATCH",
        severity: "warning",
        path: manifest.binaries.conda_path ?? "binaries.conda_path",
        message: `${m.name} ${m.wanted} is declared; ${report.python} has ${m.installed}`,
      }),
    ),
  ];
  return { report, issues };
}
