// Shared helpers for the java environment tests: model JARs built with the real javac and jar, throw-away GJPI
// artifact folders, and the java-iris example built into a temp copy by its own build.sh.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import { createJavaModel, type JavaModel, type JavaModelOptions } from "../../src/runtime/java/java-model.js";

export const JAVA = process.env.OMAF_JAVA || "java";
export const JAVA_IRIS_DIR = fileURLToPath(new URL("../../examples/java-iris", import.meta.url));

/** A logger that keeps every line (tests stay quiet and can look at what workers wrote). */
export function collectingLogger() {
  const lines: string[] = [];
  const push = (msg: string) => void lines.push(msg);
  return { lines, info: push, warn: push, error: push };
}

/** Compiles Java sources (path → text, default package or not) into a class folder; one javac run for all. */
export function compileClasses(root: string, sources: Record<string, string>): string {
  const src = join(root, "src");
  const classes = join(root, "classes");
  mkdirSync(classes, { recursive: true });
  const files = Object.entries(sources).map(([rel, text]) => {
    const file = join(src, rel);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, text);
    return file;
  });
  execFileSync("javac", ["--release", "17", "-nowarn", "-d", classes, ...files], { stdio: "pipe" });
  return classes;
}

/** Writes a JAR of `classes` whose manifest has the given main attributes (e.g. Omaf-Model-Class). */
export function writeJar(jar: string, classes: string, attributes: Record<string, string>): void {
  mkdirSync(join(jar, ".."), { recursive: true });
  const manifest = `${jar}.MF`;
  writeFileSync(
    manifest,
    `Manifest-Version: 1.0\n${Object.entries(attributes)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join("")}`,
  );
  execFileSync("jar", ["--create", "--file", jar, "--manifest", manifest, "-C", classes, "."], { stdio: "pipe" });
  rmSync(manifest);
}

/** A GJPI artifact folder: manifest + model/model.jar. */
export function javaArtifact(dir: string, classes: string, modelClass: string | undefined, entrypoint = "model.jar"): OmafManifest {
  mkdirSync(join(dir, "model"), { recursive: true });
  writeJar(join(dir, "model", "model.jar"), classes, modelClass ? { "Omaf-Model-Class": modelClass } : {});
  const manifest: OmafManifest = {
    binaries: { type: "java", dependencies: "none" },
    model: { name: "test-model", version: "1.0.0-1", workDir: "model", entrypoint },
    odahuflowVersion: "1.0",
    toolchain: { name: "test", version: "1.0.0" },
  };
  writeFileSync(join(dir, "odahuflow.model.yaml"), JSON.stringify(manifest));
  return manifest;
}

/** A temp folder removed by `cleanup()`. */
export function tempDir(prefix = "omaf-java-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of examples/java-iris under `dir`, built by its build.sh (javac, training, jar). */
export function buildJavaIris(dir: string): string {
  cpSync(JAVA_IRIS_DIR, dir, { recursive: true, filter: (src) => !/[\\/](model|build)$/.test(src) });
  execFileSync("sh", [join(dir, "build.sh")], { stdio: "pipe" });
  return dir;
}

/** A JavaModel over an artifact folder with one worker and a collecting logger. */
export function javaModel(dir: string, manifest: OmafManifest, opts: Partial<JavaModelOptions> = {}) {
  const logger = collectingLogger();
  const model: JavaModel = createJavaModel({ dir, manifest, java: JAVA, workers: 1, logger, ...opts });
  return { model, logger };
}
