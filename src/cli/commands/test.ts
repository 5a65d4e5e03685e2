// `omaf test <artifact>`: the self-check of Odahu's `gppi test` — load the model as `omaf serve` would, check its
// functions and schemas, predict on its sample input and compare with the expected output (offline/selftest.ts).
import type { Command } from "commander";
import { action, printJson, type CommonOptions } from "../output.js";

interface TestFlags extends CommonOptions {
  python?: string;
  env?: string;
  skipDeps?: boolean;
}

export function registerTest(program: Command): void {
  program
    .command("test")
    .summary("Load a model and check it: entrypoint, init(), info(), a prediction on its sample input")
    .description(
      "Load an artifact's model as omaf serve would and check it step by step: open (valid, unpacks), deps (python " +
        "models: the interpreter has the packages binaries.conda_path declares), load (the " +
        "entrypoint imports, init() answers 'matrix' or 'objects'), info (well-formed schemas), sample (the manifest's " +
        "sample.input, else head_input.pkl for python models, else the ONNX inputs' shapes filled with sample values, " +
        "else the info() examples), predict, compare (with sample.output or head_output.pkl). Prints each step with " +
        "its time; a failed step shows its error code and the model's traceback. Exit 0 only when every step passes.",
    )
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .option("--python <path>", "Python interpreter for python models (default: the one --env picks)")
    .option(
      "--env <choice>",
      "python models: auto (the environment omaf env create made, else current), create, current or a path, as omaf serve --env (default: $OMAF_ENV, else auto)",
    )
    .option("--skip-deps", "do not check a python model's declared dependencies against the interpreter")
    .option("--json", "print the report as JSON")
    .action(
      action(async (source: string, opts: TestFlags) => {
        const { testArtifact } = await import("../../offline/selftest.js");
        const { ERROR_CODES } = await import("../../errors.js");
        const report = await testArtifact(source, {
          python: opts.python,
          env: opts.env,
          skipDeps: opts.skipDeps,
          onStep: opts.json
            ? undefined
            : (r) => {
                const mark = r.status === "pass" ? "ok  " : r.status === "skip" ? "skip" : "FAIL";
                process.stdout.write(`${mark} ${r.step.padEnd(8)} ${`${r.ms.toFixed(1)} ms`.padStart(10)}${r.detail ? `  ${r.detail}` : ""}\n`);
                if (r.error) {
                  process.stdout.write(`     ${r.error.code}: ${r.error.message.replaceAll("\n", "\n     ")}\n`);
                  if (r.error.traceback) process.stdout.write(`     ${r.error.traceback.trimEnd().replaceAll("\n", "\n     ")}\n`);
                }
              },
        });
        if (opts.json) printJson(report);
        else process.stdout.write(`${report.source}: ${report.passed ? "passed" : "failed"}\n`);
        if (report.passed) return 0;
        const failed = report.steps.find((s) => s.status === "fail");
        return failed?.error ? ERROR_CODES[failed.error.code].exit : 1;
      }),
    );
}
