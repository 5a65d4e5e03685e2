// `omaf validate`'s check of a declared contract against the model file itself, where the file carries a signature
// omaf can read without running it (ONNX). Other environments learn their model's tensors only when it runs, so
// their contract is checked against requests at serve time instead.
import type { ValidationIssue } from "../errors.js";
import { compareContract, declaredContract } from "../manifest/contract.js";
import { resolveEntrypoint } from "../manifest/entrypoint.js";
import { fileIndex, resolveInside } from "../manifest/file-index.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { readOnnxSignature } from "./onnx-signature.js";

/** Largest ONNX file read for the check; a bigger one is left unchecked with a warning (it is read whole). */
export const MAX_SIGNATURE_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Issues of a schema-valid manifest's declared contract against its ONNX entrypoint: OMAF_ERR_CONTRACT_MISMATCH per
 * disagreement, OMAF_WARN_CONTRACT_UNCHECKED when the file is too large to read here.
 */
export async function contractFileIssues(
  manifest: OmafManifest,
  files: ReadonlyArray<{ path: string; size: number }>,
  read: (path: string, maxBytes: number) => Promise<Uint8Array>,
  maxBytes = MAX_SIGNATURE_FILE_BYTES,
): Promise<ValidationIssue[]> {
  const declared = declaredContract(manifest);
  if (!declared || manifest.binaries.type !== "onnx") return [];
  const dir = resolveInside(manifest.model.workDir);
  if (dir === undefined) return [];
  const file = resolveEntrypoint(fileIndex(files.map((f) => f.path)), "onnx", dir, manifest.model.entrypoint);
  if (!file) return [];
  const size = files.find((f) => f.path === file)?.size ?? 0;
  if (size > maxBytes) {
    return [
      {
        code: "OMAF_WARN_CONTRACT_UNCHECKED",
        severity: "warning",
        path: "model.inputs",
        message: `${file} is ${size} bytes, more than the ${maxBytes} omaf reads to compare it with the declared contract; the contract is checked against requests only`,
      },
    ];
  }
  try {
    return compareContract(declared, readOnnxSignature(await read(file, maxBytes), file), file);
  } catch (err) {
    const e = err as { code?: string; message: string };
    return [
      { code: e.code === "OMAF_ERR_ENTRYPOINT" ? "OMAF_ERR_ENTRYPOINT" : "OMAF_ERR_IO", severity: "error", path: "model.entrypoint", message: e.message },
    ];
  }
}
