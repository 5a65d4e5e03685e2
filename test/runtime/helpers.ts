// Shared helpers for the runtime tests: model folders written under the OS temp folder, and example loading.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { ErrorCode } from "../../src/errors.js";
import { isOmafError } from "../../src/errors.js";
import { DataPlane } from "../../src/dataplane/dataplane.js";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "../../src/runtime/model.js";
import type { Tensor } from "../../src/tensor/tensor.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const examplesDir = join(repoRoot, "examples");

/** The example folder and its parsed manifest. */
export async function example(name: string): Promise<{ dir: string; manifest: OmafManifest }> {
  const dir = join(examplesDir, name);
  const manifest = parse(await readFile(join(dir, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
  return { dir, manifest };
}

/** A manifest for a test model. */
export function manifestFor(type: OmafManifest["binaries"]["type"], entrypoint: string, workDir = "src", name = "test-model"): OmafManifest {
  return {
    binaries: { type, dependencies: "none" },
    model: { name, version: "1.0.0-1", workDir, entrypoint },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "0.0.1" },
  };
}

/** Creates temp model folders (files given relative to the artifact root); removes them all in cleanup(). */
export class TempModels {
  private roots: string[] = [];

  async create(files: Record<string, string | Uint8Array>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "omaf-runtime-"));
    this.roots.push(dir);
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), content);
    }
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.roots.map((d) => rm(d, { recursive: true, force: true })));
    this.roots = [];
  }
}

/** Asserts that `promise` rejects (or `fn` throws) with an OmafError of `code`; answers the error. */
export async function rejectsWith(
  action: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  message?: RegExp,
): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  let caught: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(isOmafError(caught), `expected an OmafError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught as Error & { code: string; details?: Record<string, unknown> };
}

/** A model as the protocols reach it: behind a DataPlane, so every request is checked before the model sees it. */
export interface Served {
  model: Model;
  metadata(): ModelMetadata;
  predictMatrix(input: MatrixInput): Promise<MatrixOutput>;
  predictObjects(input: unknown): Promise<unknown>;
  predictTensors(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]>;
  close(): Promise<void>;
}

/** Loads `model` behind a DataPlane (no timeout to speak of, no in-flight limit). */
export async function served(model: Model, manifest: OmafManifest = manifestFor("onnx", "m.onnx", "model")): Promise<Served> {
  const dp = new DataPlane(model, { manifest, artifactDigest: "sha256:" + "0".repeat(64), source: "test" }, { requestTimeoutMs: 60_000, maxInFlight: 0 });
  await dp.load();
  const ctx = { requestId: "test", protocol: "test" };
  return {
    model,
    metadata: () => dp.metadata(),
    predictMatrix: (input) => dp.predictMatrix(input, ctx),
    predictObjects: (input) => dp.predictObjects(input, ctx),
    predictTensors: (inputs, outputNames) => dp.predictTensors(inputs, outputNames, ctx),
    close: () => dp.close(),
  };
}
