// GPPI matrix entrypoint around the logistic regression train.ts fitted: each row of iris measurements (cm) →
// [class, p_setosa, p_versicolor, p_virginica]. The fitted model is model.json next to this file, found through
// MODEL_LOCATION as GPPI models find their files; it holds ml-logistic-regression's own saved form (one one-vs-rest
// weight vector per class) and the standardisation of the features. Scoring needs no library: a dot product and a
// sigmoid, in the same order of operations as ml-logistic-regression, so the answers equal the library's.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** What train.ts writes as model.json. */
export interface SavedModel {
  features: string[];
  classes: string[];
  /** Standardisation: each feature is (x - mean) / std before the weights apply; weights[0] is the intercept. */
  mean: number[];
  std: number[];
  /** `LogisticRegression#toJSON()` of ml-logistic-regression. */
  logisticRegression: { classifiers: { weights: number[][] }[] };
}

let saved: SavedModel | undefined;

export async function init(): Promise<"matrix"> {
  const location = process.env.MODEL_LOCATION;
  if (!location) throw new Error("MODEL_LOCATION is not set");
  saved = JSON.parse(await readFile(join(location, "model.json"), "utf8")) as SavedModel;
  return "matrix";
}

/**
 * Each class's one-vs-rest score, as ml-logistic-regression's `testScores`. It trains class k's classifier to answer
 * 0 for class k, so a score is the chance of "not k": the class is the one with the lowest score (the first, on a
 * tie, as the library's `predict` picks), and 1 - score its probability.
 */
export function scores(model: SavedModel, row: readonly number[]): number[] {
  const x = [1, ...row.map((v, j) => (v - model.mean[j]) / model.std[j])];
  return model.logisticRegression.classifiers.map(({ weights: [w] }) => {
    let dot = 0;
    for (let j = 0; j < w.length; j++) dot += x[j] * w[j];
    return 1 / (1 + Math.exp(-dot));
  });
}

export function predict_on_matrix(matrix: unknown[][], columns?: string[]): [number[][], string[]] {
  if (!saved) throw new Error("init() was not called");
  const model = saved;
  // Rows may name their columns in any order (a CSV header, Odahu's columns): take the features in training order.
  const order = columns ? model.features.map((f) => columns.indexOf(f)) : model.features.map((_, j) => j);
  if (order.some((i) => i < 0)) throw new Error(`columns must include ${model.features.join(", ")}`);
  const prediction = matrix.map((cells) => {
    const row = order.map((i) => cells[i]);
    if (!row.every((v): v is number => typeof v === "number" && Number.isFinite(v))) throw new Error("every measurement must be a finite number");
    const s = scores(model, row);
    return [s.indexOf(Math.min(...s)), ...s.map((v) => 1 - v)];
  });
  return [prediction, outputColumns(model)];
}

const outputColumns = (model: SavedModel) => ["class", ...model.classes.map((c) => `p_${c}`)];

export function get_info() {
  if (!saved) throw new Error("init() was not called");
  const example = [5.1, 3.5, 1.4, 0.2];
  return [
    saved.features.map((name, j) => ({ name, type: "number", required: true, example: example[j] })),
    outputColumns(saved).map((name) => ({ name, type: "number" })),
  ];
}
