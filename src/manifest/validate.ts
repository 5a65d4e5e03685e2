// Manifest validation: the JSON Schema, then the rules a schema cannot say, then cross-checks against the files.
// Every issue is returned at once; nothing stops at the first.
// semver's one function used here, not its index: the index loads all of semver's ~50 modules at every start.
import semverValid from "semver/functions/valid.js";
import type { ErrorObject } from "ajv";
import type { ErrorCode, ValidationIssue } from "../errors.js";
import type { OmafManifest } from "./manifest.types.js";
import { schemaErrors } from "./schema.js";
import { resolveInside, type FileIndex } from "./file-index.js";
import { ENVIRONMENTS, entrypointCandidates, resolveEntrypoint } from "./entrypoint.js";
import { contractIssues } from "./contract.js";

/** Which code a schema error at a field path gets; anything else is OMAF_ERR_MANIFEST_SCHEMA. */
const FIELD_CODES: Record<string, ErrorCode> = {
  "binaries.type": "OMAF_ERR_BINARIES_TYPE",
  "binaries.dependencies": "OMAF_ERR_BINARIES_DEPENDENCIES",
  "binaries.conda_path": "OMAF_ERR_CONDA_PATH",
  "model.name": "OMAF_ERR_MODEL_NAME",
  "model.version": "OMAF_ERR_MODEL_VERSION",
  "model.workDir": "OMAF_ERR_WORKDIR",
  "model.entrypoint": "OMAF_ERR_ENTRYPOINT",
  odahuflowVersion: "OMAF_ERR_ODAHUFLOW_VERSION",
  "toolchain.name": "OMAF_ERR_TOOLCHAIN_NAME",
  "toolchain.version": "OMAF_ERR_TOOLCHAIN_VERSION",
  sample: "OMAF_ERR_SAMPLE_PATH",
  "sample.input": "OMAF_ERR_SAMPLE_PATH",
  "sample.output": "OMAF_ERR_SAMPLE_PATH",
};

/** What each field must look like, for messages people can act on. */
const FIELD_RULES: Record<string, string> = {
  "binaries.type": "one of python, java, node, onnx",
  "binaries.dependencies": "a dependency system such as conda, pip, npm or none",
  "model.name": "letters, digits and dashes only (e.g. wine-quality)",
  "model.version": "<Apache version>-<suffix>, e.g. 1.0.0-12333122",
  "toolchain.name": "a name of letters, digits, '.', '_' or '-' (e.g. mlflow)",
  "toolchain.version": "a version such as 1.0.0",
  odahuflowVersion: "the string '1.0' (quote it in YAML)",
};

const error = (code: ErrorCode, path: string, message: string): ValidationIssue => ({ code, severity: "error", path, message });

function fieldPath(e: ErrorObject): string {
  const base = e.instancePath.split("/").slice(1).join(".");
  const missing = e.keyword === "required" ? String((e.params as { missingProperty: string }).missingProperty) : "";
  return [base, missing].filter(Boolean).join(".");
}

function describeSchemaError(e: ErrorObject, path: string, value: unknown): string {
  const shown = JSON.stringify(value);
  const rule = FIELD_RULES[path];
  if (e.keyword === "required") return `${path} is required${rule ? `: ${rule}` : ""}`;
  if (rule) return `${path} is ${shown}; it must be ${rule}`;
  if (e.keyword === "enum") return `${path} is ${shown}; it must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
  return `${path || "manifest"} ${e.message ?? "is invalid"}`;
}

function valueAt(root: unknown, path: string): unknown {
  let v: unknown = root;
  for (const key of path ? path.split(".") : []) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** The code of a schema error at `path`: the field's own, the contract's for anything under model.inputs/outputs. */
function codeOf(path: string): ErrorCode {
  if (/^model\.(inputs|outputs)(\.|$)/.test(path)) return "OMAF_ERR_CONTRACT";
  return FIELD_CODES[path] ?? "OMAF_ERR_MANIFEST_SCHEMA";
}

/** Schema issues, one per field (ajv may report a field twice: type and pattern). */
function schemaIssues(value: unknown): ValidationIssue[] {
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const e of schemaErrors(value)) {
    const path = fieldPath(e);
    if (seen.has(path)) continue;
    seen.add(path);
    issues.push(error(codeOf(path), path, describeSchemaError(e, path, valueAt(value, path))));
  }
  return issues;
}

/**
 * The version rule the schema's pattern cannot fully say: the Apache version must parse as a version once padded to
 * three parts (semver), and a plain version without `-<suffix>` is a warning, not an error — Odahu's own server takes
 * any string and many toolchains write plain versions, so refusing them would refuse working artifacts; the warning
 * keeps the convention visible.
 */
function versionIssues(version: string): ValidationIssue[] {
  const dash = version.indexOf("-");
  const base = dash < 0 ? version : version.slice(0, dash);
  const parts = base.split(".");
  while (parts.length < 3) parts.push("0");
  const padded = parts.join(".") + (dash < 0 ? "" : version.slice(dash));
  if (!semverValid(padded)) {
    return [error("OMAF_ERR_MODEL_VERSION", "model.version", `model.version "${version}" is not a valid version (${FIELD_RULES["model.version"]})`)];
  }
  if (dash < 0) {
    return [
      {
        code: "OMAF_WARN_VERSION_NO_SUFFIX",
        severity: "warning",
        path: "model.version",
        message: `model.version "${version}" has no -<suffix> (e.g. ${version}-1); accepted, but Odahu expects <version>-<suffix>`,
      },
    ];
  }
  return [];
}

/** Cross-checks of workDir, entrypoint, conda_path and the sample files against the artifact's files. */
function fileIssues(m: OmafManifest, files: FileIndex): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { workDir, entrypoint } = m.model ?? {};
  const type = m.binaries?.type;

  let dir: string | undefined;
  if (typeof workDir === "string") {
    dir = resolveInside(workDir);
    if (dir === undefined) issues.push(error("OMAF_ERR_WORKDIR", "model.workDir", `model.workDir "${workDir}" leaves the artifact root`));
    else if (!files.hasDir(dir)) {
      issues.push(error("OMAF_ERR_WORKDIR", "model.workDir", `model.workDir "${workDir}" is not a folder in the artifact`));
      dir = undefined;
    }
  }

  if (dir !== undefined && typeof entrypoint === "string" && ENVIRONMENTS.includes(type)) {
    if (!resolveEntrypoint(files, type, dir, entrypoint)) {
      const tried = entrypointCandidates(type, dir, entrypoint);
      const where = tried.length ? ` (looked for ${tried.join(", ")})` : " (it leaves the artifact root)";
      issues.push(error("OMAF_ERR_ENTRYPOINT", "model.entrypoint", `model.entrypoint "${entrypoint}" does not resolve to a file for a ${type} model${where}`));
    } else if (type === "onnx" && !entrypoint.endsWith(".onnx")) {
      issues.push(error("OMAF_ERR_ENTRYPOINT", "model.entrypoint", `model.entrypoint "${entrypoint}" of an onnx model must be an .onnx file`));
    }
  }

  const condaPath = m.binaries?.conda_path;
  if (typeof condaPath === "string" && condaPath) {
    const p = resolveInside(condaPath);
    if (p === undefined) issues.push(error("OMAF_ERR_CONDA_PATH", "binaries.conda_path", `binaries.conda_path "${condaPath}" leaves the artifact root`));
    else if (!files.hasFile(p))
      issues.push(error("OMAF_ERR_CONDA_PATH", "binaries.conda_path", `binaries.conda_path "${condaPath}" is not a file in the artifact`));
  }

  for (const field of ["input", "output"] as const) {
    const file = m.sample?.[field];
    if (typeof file !== "string" || !file) continue;
    const p = resolveInside(file);
    if (p === undefined) issues.push(error("OMAF_ERR_SAMPLE_PATH", `sample.${field}`, `sample.${field} "${file}" leaves the artifact root`));
    else if (!files.hasFile(p)) issues.push(error("OMAF_ERR_SAMPLE_PATH", `sample.${field}`, `sample.${field} "${file}" is not a file in the artifact`));
  }
  return issues;
}

/**
 * Validates a parsed manifest. With `files`, also checks that workDir, entrypoint, conda_path and the sample files
 * exist in the artifact. Returns every issue (errors and warnings); the manifest is valid when none has severity "error".
 */
export function validateManifest(value: unknown, files?: FileIndex): ValidationIssue[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [
      error(
        "OMAF_ERR_MANIFEST_SCHEMA",
        "",
        `the manifest must be a mapping of fields, not ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`,
      ),
    ];
  }
  const issues = schemaIssues(value);
  const m = value as OmafManifest;
  const failed = new Set(issues.map((i) => i.path));
  if (typeof m.model?.version === "string" && !failed.has("model.version")) issues.push(...versionIssues(m.model.version));
  if (!issues.some((i) => i.code === "OMAF_ERR_CONTRACT")) issues.push(...contractIssues(m));
  if (files) issues.push(...fileIssues(m, files).filter((i) => !failed.has(i.path)));
  return issues;
}

/** True when no issue is an error. */
export function isValid(issues: readonly ValidationIssue[]): boolean {
  return issues.every((i) => i.severity !== "error");
}
