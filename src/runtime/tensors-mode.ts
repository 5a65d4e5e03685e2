// The tensors mode of GPPI-style entrypoints (python, node): init() answers "tensors" and predict_on_tensors(inputs)
// takes the named input tensors and answers named output tensors. The serving contract comes from the manifest
// (model.inputs, model.outputs): the dataplane checks requests against it before the model runs, and the answers
// are read here — in the declared datatype when one is declared — so every protocol encodes them alike.
import { OmafError } from "../errors.js";
import type { DeclaredContract } from "../manifest/contract.js";
import { declaredContract } from "../manifest/contract.js";
import { checkTensor, isDatatype } from "../tensor/datatype.js";
import { flattenData } from "../tensor/json.js";
import type { Datatype, Tensor, TensorData, TensorSpec } from "../tensor/tensor.js";
import { dataFromValues, valuesFromData } from "../tensor/values.js";
import type { ModelMetadata } from "./model.js";
import type { ModelSource } from "./source.js";

/**
 * The metadata with the declared contract in force: declared inputs and outputs replace what the model or its schema
 * implied. A tensors-mode model without model.inputs, and an objects-mode model with a contract, are refused
 * (OMAF_ERR_CONTRACT): the first has nothing to read requests by, the second takes JSON documents, not tensors.
 */
export function withDeclaredContract(meta: ModelMetadata, source: ModelSource): ModelMetadata {
  const declared = declaredContract(source.manifest);
  const where = `model '${meta.name}'`;
  if (meta.mode === "tensors" && !declared?.inputs) {
    throw new OmafError("OMAF_ERR_CONTRACT", `${where} serves tensors (init() answered 'tensors') but its manifest declares no model.inputs`);
  }
  if (!declared) return meta;
  if (meta.mode === "objects") {
    throw new OmafError("OMAF_ERR_CONTRACT", `${where} serves objects (JSON documents); model.inputs / model.outputs apply to matrix and tensors models only`);
  }
  return { ...meta, inputs: declared.inputs ?? meta.inputs, outputs: declared.outputs ?? meta.outputs, declaredContract: true };
}

/** Datatype of a typed array a model answered (Uint8Array is UINT8, Uint16Array UINT16: declare BOOL or FP16). */
function datatypeOfArray(data: unknown): Datatype | undefined {
  if (data instanceof Float32Array) return "FP32";
  if (data instanceof Float64Array) return "FP64";
  if (data instanceof Int32Array) return "INT32";
  if (data instanceof BigInt64Array) return "INT64";
  if (data instanceof Int8Array) return "INT8";
  if (data instanceof Int16Array) return "INT16";
  if (data instanceof Uint8Array) return "UINT8";
  if (data instanceof Uint16Array) return "UINT16";
  if (data instanceof Uint32Array) return "UINT32";
  if (data instanceof BigUint64Array) return "UINT64";
  return undefined;
}

/** Datatype of plain values: FP64 numbers, BYTES strings, BOOL booleans. */
function datatypeOfValues(values: readonly unknown[]): Datatype {
  const first = values[0];
  if (typeof first === "string" || first instanceof Uint8Array) return "BYTES";
  if (typeof first === "boolean") return "BOOL";
  if (typeof first === "bigint") return "INT64";
  return "FP64";
}

/** Dimensions of a nested list. */
function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return shape;
}

const isTyped = (v: unknown): v is Exclude<TensorData, Uint8Array[]> => ArrayBuffer.isView(v) && !(v instanceof DataView);

/**
 * One answered tensor as an omaf Tensor: `data` a typed array (with `shape`), a nested list (its shape is the
 * list's), or a flat list with `shape`; `datatype` optional. A declared output's datatype wins: the values are
 * converted to it (range-checked), so a model may answer plain numbers for an INT32 output.
 */
function readOutput(name: string, value: unknown, spec: TensorSpec | undefined, where: string): Tensor {
  const fail = (why: string) => new OmafError("OMAF_ERR_PREDICT", `${where} answered output '${name}' ${why}`, { output: name });
  const t = (isTyped(value) || Array.isArray(value) ? { data: value } : value) as { datatype?: unknown; shape?: unknown; data?: unknown } | null;
  if (t === null || typeof t !== "object" || t.data === undefined) throw fail("without data (expected {datatype?, shape?, data} or an array)");
  if (t.datatype !== undefined && !isDatatype(t.datatype)) throw fail(`with datatype ${JSON.stringify(t.datatype)}, which is not an OIP datatype`);
  let shape: number[];
  if (Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0)) shape = t.shape as number[];
  else if (t.shape !== undefined) throw fail(`with shape ${JSON.stringify(t.shape)}`);
  else if (isTyped(t.data)) shape = spec?.shape.every((d) => d >= 0) ? spec.shape : [t.data.length];
  else shape = nestedShape(t.data);
  const own = (t.datatype as Datatype | undefined) ?? datatypeOfArray(t.data);
  const datatype = spec?.datatype ?? own ?? datatypeOfValues(flattenData(t.data, shape, `output '${name}'`));
  try {
    let data: TensorData;
    const rawBytes = Array.isArray(t.data) && t.data.length > 0 && t.data.every((b) => b instanceof Uint8Array);
    if (own === datatype && (isTyped(t.data) || (datatype === "BYTES" && rawBytes))) data = t.data as TensorData;
    else {
      const values = isTyped(t.data) && own ? valuesFromData(own, t.data) : flattenData(Array.from(t.data as ArrayLike<unknown>), shape, `output '${name}'`);
      data = dataFromValues(datatype, values, `output '${name}'`);
    }
    return checkTensor({ name, datatype, shape, data }, "OMAF_ERR_PREDICT");
  } catch (err) {
    throw fail(`that does not fit ${datatype} ${JSON.stringify(shape)}: ${(err as Error).message}`);
  }
}

/**
 * What predict_on_tensors() answered — `{name: tensor}` or `[{name, ...tensor}]` — as the requested outputs (all
 * when `outputNames` is undefined), in the order asked for, or declared order, or the model's own.
 */
export function readTensorOutputs(answer: unknown, declared: DeclaredContract["outputs"], outputNames: readonly string[] | undefined, where: string): Tensor[] {
  const entries: [string, unknown][] = Array.isArray(answer)
    ? answer.map((t, i) => {
        const name = (t as { name?: unknown } | null)?.name;
        if (typeof name !== "string") throw new OmafError("OMAF_ERR_PREDICT", `${where} answered output ${i} without a name`);
        return [name, t];
      })
    : answer !== null && typeof answer === "object"
      ? Object.entries(answer)
      : [];
  if (entries.length === 0)
    throw new OmafError("OMAF_ERR_PREDICT", `${where} must answer named output tensors ({name: tensor}), not ${JSON.stringify(answer) ?? String(answer)}`);
  const byName = new Map(entries);
  const order = outputNames ?? (declared ? declared.map((s) => s.name) : entries.map(([n]) => n));
  return order.map((name) => {
    if (!byName.has(name)) throw new OmafError("OMAF_ERR_PREDICT", `${where} answered no output '${name}' (it answered ${entries.map(([n]) => n).join(", ")})`);
    return readOutput(
      name,
      byName.get(name),
      declared?.find((s) => s.name === name),
      where,
    );
  });
}
