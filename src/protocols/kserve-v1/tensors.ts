// KServe v1 predict bodies ↔ named tensors, for tensor-native models (ONNX), by TensorFlow Serving's REST rules:
// - row format: each instance is one row of the batch (the first dimension) — the row's value for a one-input model,
//   an object {input_name: value} for several inputs — and each prediction is one row of the outputs: the row of the
//   one output, or {output_name: row} for several;
// - columnar format: `inputs` is the value of the one input (the whole batch) or {input_name: value}, answered as
//   `outputs`: the one output's value, or {output_name: value}.
// Values are read with the model's declared datatype and written as omaf writes tensor values in JSON (values.ts).
import { badInput, type OmafError } from "../../errors.js";
import { formatSpec, shapeFits } from "../../dataplane/validate.js";
import { flattenData } from "../../tensor/json.js";
import { elementCount, type Tensor, type TensorSpec } from "../../tensor/tensor.js";
import { dataFromValues, valuesFromData, type JsonElement } from "../../tensor/values.js";

/** The input tensors of a batch of row-format instances. */
export function tensorsFromInstances(instances: readonly unknown[], specs: readonly TensorSpec[]): Tensor[] {
  checkDeclared(specs);
  const named = instances.every(isPlainObject);
  if (!named && instances.some(isPlainObject)) throw badInput("instances mix objects and values; use one form");
  if (!named && specs.length > 1) {
    throw badInput(`the model has ${specs.length} inputs (${names(specs)}); each instance is an object {input_name: value}`);
  }
  if (named) instances.forEach((inst, i) => checkNames(inst as Record<string, unknown>, specs, `instance ${i}`));
  return specs.map((spec) => batchTensor(spec, named ? instances.map((inst) => (inst as Record<string, unknown>)[spec.name]) : instances));
}

/** The input tensors of a columnar `inputs` value. */
export function tensorsFromColumnar(inputs: unknown, specs: readonly TensorSpec[]): Tensor[] {
  checkDeclared(specs);
  if (isPlainObject(inputs)) {
    checkNames(inputs, specs, `"inputs"`);
    return specs.map((spec) => wholeTensor(spec, inputs[spec.name]));
  }
  if (specs.length > 1) throw badInput(`the model has ${specs.length} inputs (${names(specs)}); "inputs" is an object {input_name: value}`);
  return [wholeTensor(specs[0], inputs)];
}

/** `predictions`: one entry per instance, each the row of every output (by name when there are several). */
export function predictionsFromTensors(outputs: readonly Tensor[], batch: number): unknown[] {
  const rows = outputs.map((t) => {
    if (t.shape[0] !== batch) {
      throw badInput(`output '${t.name}' has shape [${t.shape.join(",")}], not one row per instance (${batch}); send the columnar form {"inputs": ...}`);
    }
    return splitRows(t);
  });
  if (rows.length === 1) return rows[0];
  return Array.from({ length: batch }, (_, i) => Object.fromEntries(outputs.map((t, k) => [t.name, rows[k][i]])));
}

/** `outputs`: the one output's value, or {output_name: value}. */
export function columnarFromTensors(outputs: readonly Tensor[]): unknown {
  if (outputs.length === 1) return nestedValue(outputs[0]);
  return Object.fromEntries(outputs.map((t) => [t.name, nestedValue(t)]));
}

/** One input of a batch of instances: every instance's value has the same shape, the model's shape minus its batch dimension. */
function batchTensor(spec: TensorSpec, values: readonly unknown[]): Tensor {
  if (spec.shape.length === 0) throw badInput(`input '${spec.name}' is a scalar (${formatSpec(spec)}), not a batch of rows; send {"inputs": ...}`);
  const rowSpec = spec.shape.slice(1);
  const first = shapeOf(values[0]);
  if (!shapeFits(first, rowSpec)) {
    throw badInput(
      `each instance of input '${spec.name}' is one row of ${formatSpec(spec)}, a value of shape ${formatShape(rowSpec)}; instance 0 has shape ${formatShape(first)}`,
    );
  }
  try {
    // The batch is one nested list of shape [instances, ...row]: flattened in one walk, converted in one pass.
    const shape = [values.length, ...first];
    const where = `input '${spec.name}'`;
    return { name: spec.name, datatype: spec.datatype, shape, data: dataFromValues(spec.datatype, flattenData(values, shape, where), where) };
  } catch (err) {
    // Name the instance and its own element: a place in the whole batch would mean little to the client.
    throw instanceError(spec, values, first) ?? err;
  }
}

/** The first instance that does not fit (its shape or a value), as the error naming it; looked for once the batch failed. */
function instanceError(spec: TensorSpec, values: readonly unknown[], first: readonly number[]): OmafError | undefined {
  for (let i = 0; i < values.length; i++) {
    const shape = shapeOf(values[i]);
    if (!sameShape(shape, first)) {
      return badInput(
        `instance ${i} of input '${spec.name}' has shape ${formatShape(shape)} but instance 0 has ${formatShape(first)}; instances must have the same shape`,
      );
    }
    const where = `instance ${i} of input '${spec.name}'`;
    try {
      dataFromValues(spec.datatype, flattenData(values[i], shape, where), where);
    } catch (err) {
      return err as OmafError;
    }
  }
  return undefined;
}

/** One input given whole (columnar form); its shape is checked against the model's by the dataplane. */
function wholeTensor(spec: TensorSpec, value: unknown): Tensor {
  const where = `input '${spec.name}'`;
  const shape = shapeOf(value);
  return { name: spec.name, datatype: spec.datatype, shape, data: dataFromValues(spec.datatype, flattenData(value, shape, where), where) };
}

/** The shape a nested list claims by its first elements (a non-list is a scalar); flattenData checks the rest. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return shape;
}

/** Each row of an output [batch, ...] as nested lists (a scalar for a 1-D output). */
function splitRows(t: Tensor): unknown[] {
  const values = valuesFromData(t.datatype, t.data);
  const rowShape = t.shape.slice(1);
  const perRow = elementCount(rowShape);
  const rows = new Array<unknown>(t.shape[0]);
  for (let i = 0; i < rows.length; i++) rows[i] = nest(values, i * perRow, rowShape);
  return rows;
}

function nestedValue(t: Tensor): unknown {
  return nest(valuesFromData(t.datatype, t.data), 0, t.shape);
}

/** `shape`-nested lists of `values` from `offset`; shape [] is the one value there. */
function nest(values: readonly JsonElement[], offset: number, shape: readonly number[]): unknown {
  if (shape.length === 0) return values[offset];
  if (shape.length === 1) return values.slice(offset, offset + shape[0]);
  const [n, ...rest] = shape;
  const stride = elementCount(rest);
  return Array.from({ length: n }, (_, i) => nest(values, offset + i * stride, rest));
}

/** An object of inputs names each of the model's inputs once, and nothing else. */
function checkNames(given: Record<string, unknown>, specs: readonly TensorSpec[], where: string): void {
  for (const key of Object.keys(given)) {
    if (!specs.some((s) => s.name === key)) throw badInput(`${where}: the model has no input '${key}'; inputs: ${names(specs)}`);
  }
  for (const spec of specs) {
    if (given[spec.name] === undefined) throw badInput(`${where} lacks input '${spec.name}' (${formatSpec(spec)})`);
  }
}

function checkDeclared(specs: readonly TensorSpec[]): void {
  if (specs.length === 0) throw badInput("the model declares no inputs, so omaf cannot tell how to read the request");
}

const names = (specs: readonly TensorSpec[]) => specs.map((s) => s.name).join(", ");
const formatShape = (shape: readonly number[]) => `[${shape.join(",")}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}
