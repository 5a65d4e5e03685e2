// Process-level checks: serving a node model never loads onnxruntime, and the runtime works outside tsx
// (a bundle of src/runtime run by plain node, as the built CLI runs).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { examplesDir, repoRoot, TempModels } from "./helpers.js";

const run = promisify(execFile);
const temp = new TempModels();
after(() => temp.cleanup());

const probe = join(repoRoot, "test/runtime/fixtures/probe-runtime.mjs");
const srcRuntime = pathToFileURL(join(repoRoot, "src/runtime/load.ts")).href;

interface ProbeReport {
  environment: string;
  out: unknown;
  cjs: string[];
  mapped: number | null;
}

async function probeChild(nodeArgs: string[], runtimeUrl: string, example: string, ...rest: string[]): Promise<ProbeReport> {
  const { stdout } = await run(process.execPath, [...nodeArgs, probe, runtimeUrl, join(examplesDir, example), ...rest], {
    cwd: repoRoot,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ProbeReport;
}

test("a node model loads and predicts without onnxruntime-node ever being loaded", async () => {
  const report = await probeChild(["--import", "tsx"], srcRuntime, "node-matrix");
  assert.deepEqual(report.out, { prediction: [[6, 5.5]], columns: ["sum", "score"] });
  assert.deepEqual(report.cjs, []);
  if (report.mapped !== null) assert.equal(report.mapped, 0);
});

test("control: the same probe does see onnxruntime once an onnx model is loaded", async () => {
  const report = await probeChild(["--import", "tsx"], srcRuntime, "iris-onnx");
  assert.equal(report.environment, "onnx");
  assert.equal((report.out as { prediction: unknown[][] }).prediction[0][1], 0);
  assert.ok(
    report.cjs.some((p) => p.includes("onnxruntime-node")),
    `require cache: ${report.cjs.join(", ")}`,
  );
  if (report.mapped !== null) assert.ok(report.mapped > 0);
});

test("plain node (no tsx loader) runs the runtime: TS entrypoints through tsx's API, JS and ONNX models directly", async () => {
  const dir = await temp.create({});
  const outfile = join(dir, "runtime.mjs");
  // Bare imports stay external, pinned to this checkout's packages, so the bundle runs from the temp folder.
  await build({
    entryPoints: [join(repoRoot, "src/runtime/load.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "silent",
    plugins: [
      {
        name: "pin-packages",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("node:") ? { external: true } : { path: import.meta.resolve(args.path), external: true },
          );
        },
      },
    ],
  });
  const bundle = pathToFileURL(outfile).href;
  const ts = await probeChild([], bundle, "node-matrix");
  assert.deepEqual(ts.out, { prediction: [[6, 5.5]], columns: ["sum", "score"] });
  assert.deepEqual(ts.cjs, []);
  const js = await probeChild([], bundle, "node-objects");
  assert.deepEqual(js.out, { label: "positive", score: 1, positive: 1, negative: 0 });
  const onnx = await probeChild([], bundle, "iris-onnx", import.meta.resolve("onnxruntime-node"));
  assert.equal((onnx.out as { prediction: unknown[][] }).prediction[0][1], 0);
});
