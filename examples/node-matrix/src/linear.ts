// A linear layer: score = bias + sum_j weights[j] * row[j].
export interface Linear {
  columns: string[];
  weights: number[];
  bias: number;
}

export function score(model: Linear, row: readonly number[]): number {
  let s = model.bias;
  for (let j = 0; j < model.weights.length; j++) s += model.weights[j] * row[j];
  return s;
}
