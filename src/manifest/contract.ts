// The declared serving contract (model.inputs / model.outputs): reading it from the manifest, the rules its schema
// cannot say (each name once), and the comparison with the signature a model file carries (an ONNX graph's inputs
// and outputs), so `omaf validate` finds a contract that the model would refuse before any server starts.
import type { ValidationIssue } from "../errors.js";
import type { TensorSpec } from "../tensor/tensor.js";
import type { OmafManifest } from "./manifest.types.js";

/** Declared inputs and outputs; either list may be absent. */
export interface DeclaredContract {
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
}

/** The manifest's declared contract (undefined when it declares neither list). Assumes a schema-valid manifest. */
export function declaredContract(manifest: OmafManifest): DeclaredContract | undefined {
  const { inputs, outputs } = manifest.model;
  if (!inputs && !outputs) return undefined;
  const specs = (list: typeof inputs) =>
    list?.map((s) => ({ name: s.name, datatype: s.datatype, shape: [...s.shape], ...(s.parameters ? { parameters: s.parameters } : {}) }));
  return { ...(inputs ? { inputs: specs(inputs) } : {}), ...(outputs ? { outputs: specs(outputs) } : {}) };
}

const issue = (code: "OMAF_ERR_CONTRACT" | "OMAF_ERR_CONTRACT_MISMATCH", path: string, message: string): ValidationIssue => ({
  code,
  severity: "error",
  path,
  message,
});

/** Names given twice in model.inputs or model.outputs (the schema checks each entry, not the list). */
export function contractIssues(m: OmafManifest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const kind of ["inputs", "outputs"] as const) {
    const seen = new Set<string>();
    const list = m.model?.[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((spec, i) => {
      if (seen.has(spec.name)) issues.push(issue("OMAF_ERR_CONTRACT", `model.${kind}.${i}.name`, `model.${kind} names '${spec.name}' twice`));
      seen.add(spec.name);
    });
  }
  return issues;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(",")}]`;

/** A model file's own tensor: datatype undefined when it is no tensor omaf can carry, shape undefined when unknown. */
export interface FileTensor {
  name: string;
  datatype?: TensorSpec["datatype"];
  shape?: number[];
}

/**
 * Where a declared list disagrees with the file's own: every declared tensor must exist there with the same datatype
 * and rank, a fixed declared dimension must match a fixed file dimension (a declared -1 over a fixed one is a wider
 * promise than the model keeps), and every input of the file must be declared (the model cannot run without it).
 * A declared fixed dimension over a variable one narrows the contract and is fine.
 */
function compareList(kind: "inputs" | "outputs", declared: readonly TensorSpec[], actual: readonly FileTensor[], file: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const mismatch = (i: number, field: string, message: string) =>
    issues.push(issue("OMAF_ERR_CONTRACT_MISMATCH", `model.${kind}.${i}${field ? `.${field}` : ""}`, message));
  declared.forEach((spec, i) => {
    const own = actual.find((a) => a.name === spec.name);
    const what = `model.${kind} '${spec.name}'`;
    if (!own) {
      mismatch(i, "name", `${what} is not among the ${kind} of ${file} (${actual.map((a) => a.name).join(", ") || "none"})`);
      return;
    }
    if (own.datatype !== spec.datatype) {
      mismatch(i, "datatype", `${what} is declared ${spec.datatype}; ${file} has ${own.datatype ?? "a value that is not a tensor omaf can carry"}`);
    }
    if (own.shape === undefined) return;
    const ownShape = own.shape;
    if (ownShape.length !== spec.shape.length) {
      mismatch(
        i,
        "shape",
        `${what} is declared with rank ${spec.shape.length} ${shapeText(spec.shape)}; ${file} has rank ${ownShape.length} ${shapeText(ownShape)}`,
      );
      return;
    }
    spec.shape.forEach((d, axis) => {
      const o = ownShape[axis];
      if (o >= 0 && d !== o) {
        mismatch(i, "shape", `${what} declares dimension ${axis} as ${d}; ${file} fixes it to ${o} (${shapeText(ownShape)})`);
      }
    });
  });
  if (kind === "inputs") {
    for (const own of actual) {
      if (!declared.some((s) => s.name === own.name)) {
        issues.push(
          issue(
            "OMAF_ERR_CONTRACT_MISMATCH",
            "model.inputs",
            `${file} needs input '${own.name}' (${own.datatype ?? "?"} ${own.shape ? shapeText(own.shape) : "[?]"}), which model.inputs does not declare`,
          ),
        );
      }
    }
  }
  return issues;
}

/** Every disagreement between a declared contract and a model file's own signature. */
export function compareContract(declared: DeclaredContract, actual: { inputs: FileTensor[]; outputs: FileTensor[] }, file: string): ValidationIssue[] {
  return [
    ...(declared.inputs ? compareList("inputs", declared.inputs, actual.inputs, file) : []),
    ...(declared.outputs ? compareList("outputs", declared.outputs, actual.outputs, file) : []),
  ];
}
