// `omaf predict <artifact> -i <file> [-o <file>]`: offline prediction through the same dataplane and runtimes as
// `omaf serve`. The output goes to a temp file beside the target, renamed at the end, so a failure or Ctrl-C leaves
// no half-written file.
import { Option, type Command } from "commander";
import type { Writable } from "node:stream";
import { abortOnSignals, action, integer, printJson, type CommonOptions } from "../output.js";

interface PredictFlags extends CommonOptions {
  input: string;
  output?: string;
  inputFormat?: "csv" | "jsonl" | "json" | "oip";
  outputFormat?: "csv" | "jsonl" | "json";
  batchSize: number;
  onError: "stop" | "skip" | "null";
  force?: boolean;
  progress: boolean;
  python?: string;
  env?: string;
  timeout?: number;
}

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .summary("Predict on a file of rows (CSV, JSON lines, Odahu JSON, OIP v2 request) without a server")
    .description(
      "Run a model on the rows of a file or stdin, offline, through the same dataplane and runtimes as omaf serve.\n" +
        "Input: CSV with a header (the columns), JSON lines (a row or an object per line), a JSON document " +
        '{"columns"?, "data"} (Odahu\'s invoke body), or an OIP v2 inference request {"inputs": [...]}; the format ' +
        "comes from --input-format, else the file name, else the content. CSV and JSON lines are streamed in chunks of " +
        "--batch-size rows. The output (stdout, or -o) is in the input's format unless --output-format says another, " +
        "and starts with the model name, version and artifact digest. A bad row stops the run with its line number " +
        "(--on-error stop), or is left out (skip) or answered with null (null) and counted.",
    )
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
    .requiredOption("-i, --input <file>", "input file, or - for stdin")
    .option("-o, --output <file>", "output file (default: stdout)")
    .addOption(new Option("--input-format <format>", "input format (default: from the file name or content)").choices(["csv", "jsonl", "json", "oip"]))
    .addOption(new Option("--output-format <format>", "output format for row inputs (default: the input's)").choices(["csv", "jsonl", "json"]))
    .option("--batch-size <rows>", "rows per model call", integer("--batch-size", 1, 10_000_000), 1000)
    .addOption(new Option("--on-error <what>", "what a bad row does: stop the run, skip it, or answer null").choices(["stop", "skip", "null"]).default("stop"))
    .option("-f, --force", "replace an existing output file")
    .option("--python <path>", "Python interpreter for python models (default: the one --env picks)")
    .option(
      "--env <choice>",
      "python models: auto (the environment omaf env create made, else current), create, current or a path, as omaf serve --env (default: $OMAF_ENV, else auto)",
    )
    .option("--timeout <ms>", "longest one model call may take (default: $OMAF_REQUEST_TIMEOUT_MS, else the serve default)", integer("--timeout", 0))
    .option("--no-progress", "no progress bar (it is shown only on a terminal)")
    .option("--json", "print the summary as JSON (on stdout with -o, else on stderr)")
    .action(action(predict));
}

async function predict(source: string, opts: PredictFlags): Promise<number> {
  const { OmafError } = await import("../../errors.js");
  const { openInput } = await import("../../offline/input.js");
  const { openOffline } = await import("../../offline/session.js");
  const { predictRows, predictOip, peakRssMiB } = await import("../../offline/predict.js");
  const { input, size, bytesRead } = await openInput(opts.input, opts.inputFormat);
  if (input.format === "oip" && opts.outputFormat)
    throw new OmafError("OMAF_ERR_USAGE", "an OIP v2 request is answered with an OIP v2 response; --output-format is for row inputs");
  // Signals are caught before the temp file exists, so none can end the process between its creation and removal.
  const abort = abortOnSignals();
  let target: Awaited<ReturnType<typeof openTarget>> | undefined;
  let session: Awaited<ReturnType<typeof openOffline>> | undefined;
  let finished = false;
  const bar = await rowsBar(opts.progress && !opts.json, size);
  try {
    target = opts.output ? await openTarget(opts.output, Boolean(opts.force)) : undefined;
    session = await openOffline(source, { python: opts.python, env: opts.env, requestTimeoutMs: opts.timeout });
    // A signal while the artifact was being opened: stop before the first row.
    if (abort.signal.aborted) throw abort.signal.reason;
    const out = target?.stream ?? process.stdout;
    const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(abort.signal.reason), { once: true }));
    aborted.catch(() => {});
    const run =
      input.format === "oip"
        ? predictOip(session.dataplane, input, out)
        : predictRows(session.dataplane, input, out, {
            batchSize: opts.batchSize,
            onError: opts.onError,
            outputFormat: opts.outputFormat,
            signal: abort.signal,
            onProgress: (rows) => bar.update(rows, bytesRead()),
          });
    const summary = await Promise.race([run, aborted]);
    bar.stop();
    if (target) await target.commit();
    finished = true;
    const report = {
      model: summary.provenance.modelName,
      version: summary.provenance.modelVersion,
      artifactDigest: summary.provenance.artifactDigest,
      input: opts.input,
      output: opts.output ?? "-",
      inputFormat: summary.inputFormat,
      outputFormat: summary.outputFormat,
      rows: summary.rows,
      predicted: summary.predicted,
      failed: summary.failed,
      failures: summary.failures,
      seconds: Math.round(summary.seconds * 1000) / 1000,
      loadSeconds: Math.round(session.dataplane.loadTimeMs ?? 0) / 1000,
      peakRssMiB: peakRssMiB(),
    };
    if (opts.json && opts.output) printJson(report);
    else if (opts.json) process.stderr.write(`${JSON.stringify(report)}\n`);
    else {
      for (const f of summary.failures) process.stderr.write(`${f.where}: ${f.code}: ${f.message}\n`);
      const failed = summary.failed ? `, ${summary.failed} ${opts.onError === "skip" ? "skipped" : "answered null"}` : "";
      const rate = summary.seconds > 0 ? ` (${Math.round(summary.predicted / summary.seconds)} rows/s)` : "";
      const load = `model loaded in ${((session.dataplane.loadTimeMs ?? 0) / 1000).toFixed(2)} s`;
      process.stderr.write(`omaf: ${summary.predicted} of ${summary.rows} rows predicted${failed} in ${summary.seconds.toFixed(2)} s${rate}; ${load}\n`);
    }
    return 0;
  } catch (err) {
    if (abort.signal.aborted) {
      process.stderr.write("omaf: interrupted; no output written\n");
      return 130;
    }
    throw err;
  } finally {
    bar.stop();
    abort.dispose();
    if (!finished) await target?.discard();
    await session?.close();
    // Model workers and stdin may keep the event loop alive; the work is done.
    if (opts.input === "-") process.stdin.destroy();
  }
}

/** The output file's temp twin in the same folder (same file system, so the rename is atomic). */
async function openTarget(file: string, force: boolean): Promise<{ stream: Writable; commit: () => Promise<void>; discard: () => Promise<void> }> {
  const { createWriteStream } = await import("node:fs");
  const { rename, rm, stat } = await import("node:fs/promises");
  const path = await import("node:path");
  const { randomBytes } = await import("node:crypto");
  const { OmafError } = await import("../../errors.js");
  if (
    !force &&
    (await stat(file).then(
      () => true,
      () => false,
    ))
  ) {
    throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${file} exists (use --force to replace it)`);
  }
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
  const stream = createWriteStream(temp, { flags: "wx", highWaterMark: 1 << 20 });
  let failure: Error | undefined;
  stream.on("error", (err) => (failure = err));
  const closed = () =>
    new Promise<void>((resolve) => {
      if (stream.closed) resolve();
      else stream.end(() => resolve());
    });
  return {
    stream,
    commit: async () => {
      await closed();
      if (failure) throw new OmafError("OMAF_ERR_IO", `writing ${temp} failed: ${failure.message}`);
      await rename(temp, file);
    },
    discard: async () => {
      await closed();
      await rm(temp, { force: true });
    },
  };
}

/** A rows and rows/s bar on an interactive stderr (a percentage of the input's bytes when its size is known). */
async function rowsBar(enabled: boolean, size: number | undefined): Promise<{ update: (rows: number, bytes: number) => void; stop: () => void }> {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const { SingleBar, Presets } = await import("cli-progress");
  const format = size ? "predicting [{bar}] {percentage}% | {rows} rows | {rate} rows/s" : "predicting {rows} rows | {rate} rows/s";
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, fps: 5 }, Presets.shades_classic);
  const t0 = performance.now();
  let started = false;
  return {
    update(rows, bytes) {
      const rate = Math.round(rows / Math.max(1e-3, (performance.now() - t0) / 1000));
      if (!started) {
        bar.start(size ?? 0, 0, { rows, rate });
        started = true;
      }
      bar.update(size ? bytes : 0, { rows, rate });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
