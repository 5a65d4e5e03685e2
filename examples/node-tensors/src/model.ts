// Triton's "simple" model as a tensors-mode entrypoint: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1.
// Inputs arrive as typed arrays (Int32Array here, as declared) with their shape; outputs are answered the same way.

interface InputTensor {
  datatype: string;
  shape: number[];
  data: Int32Array;
}

export function init(): string {
  return "tensors";
}

export function predict_on_tensors(inputs: Record<string, InputTensor>) {
  const a = inputs.INPUT0.data;
  const b = inputs.INPUT1.data;
  if (a.some((v) => v < 0)) throw new Error("INPUT0 must not be negative");
  const sum = new Int32Array(a.length);
  const difference = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    sum[i] = a[i] + b[i];
    difference[i] = a[i] - b[i];
  }
  const shape = inputs.INPUT0.shape;
  return { OUTPUT0: { shape, data: sum }, OUTPUT1: { shape, data: difference } };
}
