// GPPI matrix model: each row [a, b, c] → [sum, score], with score from a linear layer whose weights sit next to
// this file (found through MODEL_LOCATION, as GPPI models find their files).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { score, type Linear } from "./linear.js";

let linear: Linear | undefined;

/** Loads the weights; answers the mode. */
export async function init(): Promise<"matrix"> {
  const location = process.env.MODEL_LOCATION;
  if (!location) throw new Error("MODEL_LOCATION is not set");
  linear = JSON.parse(await readFile(join(location, "weights.json"), "utf8")) as Linear;
  return "matrix";
}

export function predict_on_matrix(matrix: number[][], columns?: string[]): [number[][], string[]] {
  if (!linear) throw new Error("init() was not called");
  const model = linear;
  // Rows may come with named columns in any order; put them in the order the weights expect.
  const order = columns ? model.columns.map((c) => columns.indexOf(c)) : model.columns.map((_, j) => j);
  if (order.some((i) => i < 0)) throw new Error(`columns must include ${model.columns.join(", ")}`);
  const prediction = matrix.map((row) => {
    const values = order.map((i) => row[i]);
    if (values.some((v) => typeof v !== "number")) throw new Error("every value must be a number");
    return [values.reduce((a, b) => a + b, 0), score(model, values)];
  });
  return [prediction, ["sum", "score"]];
}

export function get_info() {
  return [
    [
      { name: "a", type: "number", required: true, example: 1 },
      { name: "b", type: "number", required: true, example: 2 },
      { name: "c", type: "number", required: true, example: 3 },
    ],
    [
      { name: "sum", type: "number", example: 6 },
      { name: "score", type: "number", example: 6.5 },
    ],
  ];
}
