// What every environment gets to build a Model from: the unpacked artifact and its manifest.
import { resolve, sep } from "node:path";
import { OmafError } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { resolveInside } from "../manifest/file-index.js";
import { resolveEntrypoint } from "../manifest/entrypoint.js";
import { folderIndex } from "./entrypoint.js";
import type { ModelMetadata } from "./model.js";

/** The unpacked artifact a Model is created from. */
export interface ModelSource {
  /** Artifact root folder (where the manifest sits). */
  dir: string;
  manifest: OmafManifest;
  /** Provenance of the artifact, reported in metadata. */
  provenance?: { artifactDigest: string };
}

/** The metadata fields that come from the manifest and provenance rather than the model itself. */
export function manifestMetadata(source: ModelSource): Pick<ModelMetadata, "name" | "version" | "author" | "environment" | "artifactDigest"> {
  const { model, binaries } = source.manifest;
  return {
    name: model.name,
    version: model.version,
    ...(typeof model.author === "string" ? { author: model.author } : {}),
    environment: binaries.type,
    ...(source.provenance ? { artifactDigest: source.provenance.artifactDigest } : {}),
  };
}

/** Absolute path of `model.workDir`; refuses one that escapes the artifact root. */
export function modelLocation(source: ModelSource): { rel: string; abs: string } {
  const rel = resolveInside(source.manifest.model.workDir ?? "");
  if (rel === undefined) {
    throw new OmafError("OMAF_ERR_WORKDIR", `model.workDir '${source.manifest.model.workDir}' escapes the artifact root`, {
      workDir: source.manifest.model.workDir,
    });
  }
  const root = resolve(source.dir);
  const abs = resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + sep)) {
    throw new OmafError("OMAF_ERR_WORKDIR", `model.workDir '${rel}' escapes the artifact root`, { workDir: rel });
  }
  return { rel, abs };
}

/** The error a Model answers with when used before load() resolved. */
export function notReady(name: string): OmafError {
  return new OmafError("OMAF_ERR_MODEL_NOT_READY", `model '${name}' is not loaded`);
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * The model folder and the entrypoint file (relative to the artifact root) of a node or onnx model, resolved by the
 * manifest's rules; OMAF_ERR_ENTRYPOINT when nothing matches.
 */
export function entrypointFile(source: ModelSource, type: "node" | "onnx" | "java"): { location: { rel: string; abs: string }; rel: string } {
  const location = modelLocation(source);
  const { entrypoint } = source.manifest.model;
  const rel = resolveEntrypoint(folderIndex(source.dir), type, location.rel, entrypoint);
  if (!rel) {
    const what = type === "onnx" ? "an .onnx file" : type === "java" ? "a JAR file" : "a module file";
    throw new OmafError("OMAF_ERR_ENTRYPOINT", `entrypoint '${entrypoint}' does not resolve to ${what} in '${location.rel || "."}'`, {
      workDir: location.rel,
      entrypoint,
    });
  }
  return { location, rel };
}

/**
 * Wraps a model's load so that callers during a load share it, a success is kept, and a failure lets the next call
 * try again (the dataplane retries a failed load on the next Status or request, as Chassis does).
 */
export function sharedLoad(load: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  return () =>
    (current ??= load().catch((err: unknown) => {
      current = undefined;
      throw err;
    }));
}
