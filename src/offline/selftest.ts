// `omaf test`: loads a model as `omaf serve` would and checks it step by step, like Odahu's `gppi test`:
//   open     the artifact is valid and unpacks
//   deps     python models: the interpreter has what binaries.conda_path declares (Odahu's gppi commands run in the
//            current environment with --use-current-env; omaf always does, and checks it first; --skip-deps skips)
//   load     the entrypoint imports and init() answers 'matrix' or 'objects' (an ONNX session opens)
//   info     info()/get_info() schemas are well formed (an ONNX model: its input and output tensors)
//   sample   the sample input: the manifest's `sample.input`, else Odahu's head_input.pkl (python), else the ONNX
//            inputs' shapes filled with sample values, else the info() examples (one row, or one object) — see
//            samples.ts, which the docs page's example requests come from too
//   predict  the model answers the sample
//   compare  the answer equals the expected output (`sample.output` or head_output.pkl), when there is one
// Each step has its time; a failed step carries the stable error code and, for python models, the model's traceback.
// Steps after a failure are not run.
import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { OmafError, toOmafError, type ErrorCode } from "../errors.js";
import type { ModelMetadata } from "../runtime/model.js";
import { resolvePython, WORKER_SCRIPT } from "../runtime/python/options.js";
import { modelLocation } from "../runtime/source.js";
import { specText, type Tensor } from "../tensor/tensor.js";
import { valuesFromData } from "../tensor/values.js";
import type { RowInput } from "./input.js";
import { predictOip, predictRows } from "./predict.js";
import { artifactPath, declaredSample, readManifestSample, type FileSample } from "./samples.js";
import { openOffline, type OfflineOptions, type OfflineSession } from "./session.js";

export type StepName = "open" | "deps" | "load" | "info" | "sample" | "predict" | "compare";

export interface StepResult {
  step: StepName;
  status: "pass" | "fail" | "skip";
  ms: number;
  /** What the step found (or why it was skipped). */
  detail?: string;
  error?: { code: ErrorCode; message: string; traceback?: string };
}

export interface TestReport {
  source: string;
  passed: boolean;
  model?: string;
  version?: string;
  artifactDigest?: string;
  steps: StepResult[];
}

/** What a sample gives the predict step. */
interface Sample {
  label: string;
  run: (s: OfflineSession) => Promise<Answer>;
  expected?: Answer;
  expectedLabel?: string;
}

/** A prediction to compare: rows (or tensors as JSON) and column names when known. */
interface Answer {
  prediction: unknown;
  columns?: string[];
  /** The prediction is a list of OIP output tensors (as JSON). */
  tensors?: boolean;
}

/** Runs every check on `source`; never throws for a model's fault (each is a failed step). */
export async function testArtifact(source: string, opts: OfflineOptions & { onStep?: (r: StepResult) => void; skipDeps?: boolean } = {}): Promise<TestReport> {
  const report: TestReport = { source, passed: false, steps: [] };
  const step = async <T>(name: StepName, fn: () => Promise<{ value: T; detail?: string } | { skip: string }>): Promise<T | undefined | false> => {
    const t0 = performance.now();
    let r: StepResult;
    let value: T | undefined;
    try {
      const out = await fn();
      if ("skip" in out) r = { step: name, status: "skip", ms: 0, detail: out.skip };
      else {
        value = out.value;
        r = { step: name, status: "pass", ms: 0, ...(out.detail ? { detail: out.detail } : {}) };
      }
    } catch (err) {
      const e = toOmafError(err, "OMAF_ERR_INTERNAL");
      const traceback = typeof e.details?.traceback === "string" ? e.details.traceback : undefined;
      r = { step: name, status: "fail", ms: 0, error: { code: e.code, message: e.message, ...(traceback ? { traceback } : {}) } };
    }
    r.ms = Math.round((performance.now() - t0) * 10) / 10;
    report.steps.push(r);
    opts.onStep?.(r);
    return r.status === "fail" ? false : value;
  };

  const session = await step("open", async () => {
    // The deps step checks the declared packages itself (or is skipped): the load need not check them again.
    const s = await openOffline(source, { ...opts, checkDependencies: false });
    return { value: s, detail: `${s.artifact.manifest.binaries.type} model ${s.artifact.manifest.model.name} ${s.artifact.manifest.model.version}` };
  });
  if (!session) return report;
  Object.assign(report, {
    model: session.dataplane.provenance.modelName,
    version: session.dataplane.provenance.modelVersion,
    artifactDigest: session.dataplane.provenance.artifactDigest,
  });
  try {
    const deps = await step("deps", async () => {
      if (opts.skipDeps) return { skip: "skipped (--skip-deps)" };
      return dependencies(session, session.python);
    });
    if (deps === false) return report;
    const meta = await step("load", async () => {
      await session.dataplane.load();
      const m = session.dataplane.metadata();
      return { value: m, detail: `mode ${m.mode}${m.runtime ? ` (${m.runtime})` : ""}` };
    });
    if (!meta) return report;
    if ((await step("info", async () => checkInfo(meta))) === false) return report;
    const sample = await step("sample", async () => findSample(session, meta, session.python));
    if (sample === false) return report;
    if (sample === undefined) {
      await step("predict", async () => ({ skip: "no sample input" }));
      await step("compare", async () => ({ skip: "no sample input" }));
    } else {
      const answer = await step("predict", async () => {
        const a = await sample.run(session);
        return { value: a, detail: describeAnswer(a) };
      });
      if (answer === false) return report;
      await step("compare", async () => {
        if (!sample.expected) return { skip: "no expected output" };
        compareAnswers(answer!, sample.expected);
        return { value: true, detail: `equals ${sample.expectedLabel}` };
      });
    }
    report.passed = report.steps.every((s) => s.status !== "fail");
    return report;
  } finally {
    await session.close();
  }
}

/** A python model's declared dependencies against the interpreter that will run it. */
async function dependencies(session: OfflineSession, python: string | undefined): Promise<{ value: true; detail: string } | { skip: string }> {
  const manifest = session.artifact.manifest;
  if (manifest.binaries.type !== "python") return { skip: `a ${manifest.binaries.type} model` };
  if (!manifest.binaries.conda_path) return { skip: "no binaries.conda_path" };
  const { checkPythonDependencies } = await import("../runtime/python/dependencies.js");
  const report = await checkPythonDependencies({ dir: session.artifact.dir, manifest, python });
  if (report.missing.length > 0) {
    throw new OmafError(
      "OMAF_ERR_PYTHON_DEPENDENCY",
      `${report.python} cannot import ${report.missing.join(", ")} (declared in ${manifest.binaries.conda_path})`,
      {
        missing: report.missing,
      },
    );
  }
  const mismatches = report.versionMismatches.map((m) => `${m.name} ${m.installed} (declared ${m.wanted})`);
  const versions = mismatches.length ? `; other versions: ${mismatches.join(", ")}` : "";
  return { value: true, detail: `${report.required.length} declared, all importable by ${report.python} (${report.pythonVersion})${versions}` };
}

function describeAnswer(a: Answer): string {
  if (a.tensors) return `outputs ${(a.prediction as { name: string; shape: number[] }[]).map((t) => `${t.name} [${t.shape.join(", ")}]`).join(", ")}`;
  const rows = Array.isArray(a.prediction) ? `${a.prediction.length} row${a.prediction.length === 1 ? "" : "s"}` : "one answer";
  return a.columns ? `${rows}, columns ${a.columns.join(", ")}` : rows;
}

/** The schemas loading accepted, checked for what a client relies on: named fields, each name once. */
function checkInfo(meta: ModelMetadata): { value: true; detail: string } | { skip: string } {
  if (meta.environment === "onnx") {
    return { value: true, detail: `${meta.inputs.map(specText).join(", ")} → ${meta.outputs.map(specText).join(", ")}` };
  }
  if (!meta.inputSchema && !meta.outputSchema) return { skip: "the entrypoint has no info() or get_info()" };
  for (const [kind, schema] of [
    ["input", meta.inputSchema ?? []],
    ["output", meta.outputSchema ?? []],
  ] as const) {
    const seen = new Set<string>();
    for (const f of schema) {
      if (seen.has(f.name)) throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `info(): the ${kind} schema names '${f.name}' twice`);
      seen.add(f.name);
    }
  }
  return { value: true, detail: `${meta.inputSchema?.length ?? 0} input fields, ${meta.outputSchema?.length ?? 0} output fields` };
}

/** The sample input, by precedence; undefined (a skip) when the model has none. */
async function findSample(
  session: OfflineSession,
  meta: ModelMetadata,
  python: string | undefined,
): Promise<{ value: Sample; detail: string } | { skip: string }> {
  const manifest = session.artifact.manifest;
  if (manifest.sample?.input) {
    const s = await manifestSample(session.artifact.dir, manifest.sample.input, manifest.sample.output);
    return { value: s, detail: s.label };
  }
  if (meta.environment === "python") {
    const pickles = await headPickles(session, python);
    if (pickles) return { value: pickles, detail: pickles.label };
  }
  const declared = declaredSample(meta, session.dataplane.takesTensors);
  if (declared?.kind === "tensors") return { value: tensorSample(meta, declared.tensors), detail: declared.label };
  if (declared) return { value: sampleOf(declared), detail: `${meta.mode === "objects" ? "one object" : "one row"} of the info() examples` };
  return { skip: "no sample: add sample.input to the manifest (or head_input.pkl for a python model)" };
}

/** How a request or rows sample is predicted on: through the same paths as `omaf predict`. */
function sampleOf(sample: FileSample): Sample {
  if (sample.kind === "oip") return { label: sample.label, run: (s) => runOip(s, { format: "oip", body: sample.body }) };
  return { label: sample.label, run: (s) => runRows(s, sample) };
}

async function manifestSample(dir: string, input: string, output: string | undefined): Promise<Sample> {
  // Read now, so a missing or unreadable file fails this step and not the prediction.
  const sample = sampleOf(await readManifestSample(dir, input));
  if (output) {
    const { readFile } = await import("node:fs/promises");
    const outFile = artifactPath(dir, output, "sample.output");
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(outFile, "utf8"));
    } catch (err) {
      throw new OmafError("OMAF_ERR_SAMPLE", `sample.output '${output}': ${(err as Error).message}`);
    }
    sample.expected = expectedOf(doc, `sample.output '${output}'`);
    sample.expectedLabel = `sample.output ${output}`;
  }
  return sample;
}

/** A JSON expected answer: {"prediction", "columns"?} or an OIP response {"outputs"}. */
function expectedOf(doc: unknown, where: string): Answer {
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const d = doc as { prediction?: unknown; columns?: unknown; outputs?: unknown };
    if (Array.isArray(d.outputs)) return { prediction: d.outputs.map((o) => pick(o as Record<string, unknown>)) };
    if (d.prediction !== undefined) return { prediction: d.prediction, ...(Array.isArray(d.columns) ? { columns: d.columns as string[] } : {}) };
  }
  throw new OmafError("OMAF_ERR_SAMPLE", `${where} must be {"prediction": [...], "columns"?: [...]} or an OIP v2 response {"outputs": [...]}`);
}

/** The parts of an OIP output tensor that say what the model answered. */
const pick = (o: Record<string, unknown>) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: o.data });

/** Rows through the same path as `omaf predict` (a bad row fails the run with its place). */
async function runRows(s: OfflineSession, rows: { columns?: string[]; data: unknown[] }): Promise<Answer> {
  const input: RowInput = {
    format: "json",
    columns: rows.columns,
    items: (async function* () {
      yield rows.data.map((value, i) => ({ where: `row ${i + 1}`, value }));
    })(),
  };
  const sink = new Collector();
  await predictRows(s.dataplane, input, sink, { outputFormat: "json" });
  const doc = JSON.parse(sink.text()) as { prediction: unknown; columns?: string[] };
  return { prediction: doc.prediction, ...(doc.columns ? { columns: doc.columns } : {}) };
}

async function runOip(s: OfflineSession, input: { format: "oip"; body: Buffer }): Promise<Answer> {
  const sink = new Collector();
  await predictOip(s.dataplane, input, sink);
  const doc = JSON.parse(sink.text()) as { outputs: Record<string, unknown>[] };
  return { prediction: doc.outputs.map(pick), tensors: true };
}

/** Odahu's head_input.pkl / head_output.pkl, read by the model's own interpreter. */
async function headPickles(session: OfflineSession, python: string | undefined): Promise<Sample | undefined> {
  const workDir = modelLocation({ dir: session.artifact.dir, manifest: session.artifact.manifest }).abs;
  const interpreter = resolvePython(python);
  const text = await new Promise<string>((resolve, reject) => {
    execFile(interpreter, [WORKER_SCRIPT, "sample", "--workdir", workDir], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new OmafError("OMAF_ERR_SAMPLE", `reading head_input.pkl with ${interpreter} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
  const found = JSON.parse(text) as {
    input?: { columns?: string[] | null; data: unknown[] };
    output?: { columns?: string[] | null; data: unknown[] };
    inputError?: { message: string; traceback: string };
    outputError?: { message: string; traceback: string };
  };
  const error = found.inputError ?? found.outputError;
  if (error) throw new OmafError("OMAF_ERR_SAMPLE", error.message, { traceback: error.traceback });
  if (!found.input) return undefined;
  const input = found.input;
  const sample: Sample = {
    label: `head_input.pkl (${input.data.length} rows)`,
    run: (s) => runRows(s, { data: input.data, ...(input.columns ? { columns: input.columns } : {}) }),
  };
  if (found.output) {
    sample.expected = { prediction: found.output.data, ...(found.output.columns ? { columns: found.output.columns } : {}) };
    sample.expectedLabel = "head_output.pkl";
  }
  return sample;
}

/** The inputs' shapes filled with sample values (samples.ts), predicted as named tensors; the outputs checked against the metadata. */
function tensorSample(meta: ModelMetadata, tensors: Tensor[]): Sample {
  return {
    label: "sample values in the inputs' shapes",
    run: async (s) => {
      const outputs = await s.dataplane.predictTensors(tensors, undefined, { protocol: "test", requestId: "" });
      for (const spec of meta.outputs) {
        const t = outputs.find((o) => o.name === spec.name);
        if (!t) throw new OmafError("OMAF_ERR_PREDICT", `the model answered no output '${spec.name}'`);
        if (t.datatype !== spec.datatype)
          throw new OmafError("OMAF_ERR_PREDICT", `output '${spec.name}' is ${t.datatype}; the model declares ${spec.datatype}`);
      }
      return {
        prediction: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: valuesFromData(t.datatype, t.data) })),
        tensors: true,
      };
    },
  };
}

/** Equal within float rounding (relative 1e-6); column names too when both sides have them. */
function compareAnswers(got: Answer, expected: Answer): void {
  if (got.columns && expected.columns && JSON.stringify(got.columns) !== JSON.stringify(expected.columns)) {
    throw new OmafError("OMAF_ERR_SAMPLE_MISMATCH", `the model answers columns ${JSON.stringify(got.columns)}; expected ${JSON.stringify(expected.columns)}`);
  }
  const where = firstDifference(got.prediction, expected.prediction, "prediction");
  if (where) throw new OmafError("OMAF_ERR_SAMPLE_MISMATCH", `the model's answer differs from the expected output at ${where}`);
}

function firstDifference(a: unknown, b: unknown, at: string): string | undefined {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b), 1e-9) ? undefined : `${at}: ${a} ≠ ${b}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} items ≠ ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${at}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
}

/** A Writable that keeps what it is given (small sample answers). */
class Collector extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
