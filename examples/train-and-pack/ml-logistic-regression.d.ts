// Types for ml-logistic-regression 2, which ships none: the part train.ts uses.
declare module "ml-logistic-regression" {
  import type { Matrix } from "ml-matrix";

  interface TwoClassClassifier {
    weights: Matrix;
    /** The sigmoid of each row's score: near 0 for the classifier's own class. */
    testScores(features: Matrix): number[];
  }

  export interface SavedLogisticRegression {
    name: "LogisticRegression";
    numSteps: number;
    learningRate: number;
    numberClasses: number;
    classifiers: { numSteps: number; learningRate: number; weights: number[][] }[];
  }

  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    classifiers: TwoClassClassifier[];
    numberClasses: number;
    /** `features` rows × columns; `classes` a column vector of class indices 0…k-1. */
    train(features: Matrix, classes: Matrix): void;
    /** The class index of each row: the classifier with the lowest score. */
    predict(features: Matrix): number[];
    toJSON(): { name: "LogisticRegression"; numSteps: number; learningRate: number; numberClasses: number; classifiers: TwoClassClassifier[] };
    static load(saved: SavedLogisticRegression): LogisticRegression;
  }
}
