// What the model receives (list of lists, ints vs floats, numpy when asked) and how numpy/pandas results come back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isOmafError } from "../../src/errors.js";
import { tempModel } from "./fixtures.js";

// The first column name picks what predict_on_matrix answers.
const SOURCE = `
import datetime, decimal
import numpy as np
import pandas as pd

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    kind = cols[0] if cols else 'echo'
    if kind == 'ndarray_float':
        return np.array([[1.5, np.nan], [np.inf, -np.inf]]), ['a', 'b']
    if kind == 'ndarray_int':
        return np.array([1, 2, 3], dtype=np.int64), np.array(['label'])
    if kind == 'ndarray_bool':
        return np.array([[True, False]]), ('x', 'y')
    if kind == 'dataframe':
        return pd.DataFrame({'a': [1, 2], 'b': [0.5, np.nan]}), pd.Index(['a', 'b'])
    if kind == 'dataframe_mixed':
        frame = pd.DataFrame({'n': [1, 2], 's': ['x', None], 't': pd.to_datetime(['2020-01-02', None])})
        return frame, ['n', 's', 't']
    if kind == 'series':
        return pd.Series([1.0, 2.5]), None
    if kind == 'scalars':
        row = [np.float32(0.5), np.int64(7), np.bool_(True), decimal.Decimal('1.25'), datetime.date(2020, 1, 2), float('nan')]
        return [row], ['f', 'i', 'b', 'd', 'date', 'nan']
    if kind == 'types':
        return [[type(m).__name__, type(m[0]).__name__, [type(v).__name__ for v in m[0]], cols]], None
    if kind == 'big_int':
        return np.array([2 ** 60]), None
    if kind == 'unserializable':
        return [[object()]], None
    if kind == 'not_tuple':
        return 42
    return m, cols
`;

let t: Awaited<ReturnType<typeof tempModel>>;
before(async () => {
  t = await tempModel(SOURCE);
  await t.model.load();
});
after(() => t.done());

const ask = (kind: string, row: unknown[] = [0]) => t.model.predictMatrix({ data: [row], columns: [kind, ...row.slice(1).map((_, i) => `c${i}`)] });

test("numpy float arrays come back as nested lists, NaN and infinities as null", async () => {
  assert.deepEqual(await ask("ndarray_float"), {
    prediction: [
      [1.5, null],
      [null, null],
    ],
    columns: ["a", "b"],
  });
});

test("1-D int arrays, bool arrays, and numpy/tuple column names", async () => {
  assert.deepEqual(await ask("ndarray_int"), { prediction: [1, 2, 3], columns: ["label"] });
  assert.deepEqual(await ask("ndarray_bool"), { prediction: [[true, false]], columns: ["x", "y"] });
});

test("pandas DataFrames come back as rows, Series as a list", async () => {
  assert.deepEqual(await ask("dataframe"), {
    prediction: [
      [1, 0.5],
      [2, null],
    ],
    columns: ["a", "b"],
  });
  assert.deepEqual(await ask("dataframe_mixed"), {
    prediction: [
      [1, "x", "2020-01-02T00:00:00"],
      [2, null, null],
    ],
    columns: ["n", "s", "t"],
  });
  assert.deepEqual(await ask("series"), { prediction: [1, 2.5] });
});

test("numpy scalars, decimals and dates inside lists become plain JSON", async () => {
  assert.deepEqual(await ask("scalars"), {
    prediction: [[0.5, 7, true, 1.25, "2020-01-02", null]],
    columns: ["f", "i", "b", "d", "date", "nan"],
  });
});

test("integers beyond 2**53 take the JSON path rather than being rounded in float64", async () => {
  assert.deepEqual(await ask("big_int"), { prediction: [2 ** 60] });
});

test("the model gets a list of row lists; all-integer rows stay ints, mixed rows are floats, other values as sent", async () => {
  const types = async (row: unknown[]) => ((await ask("types", row)).prediction as unknown[][])[0];
  assert.deepEqual(await types([1, 2]), ["list", "list", ["int", "int"], ["types", "c0"]]);
  assert.deepEqual(await types([1, 2.5]), ["list", "list", ["float", "float"], ["types", "c0"]]);
  assert.deepEqual(await types([1, "a", true, null]), ["list", "list", ["int", "str", "bool", "NoneType"], ["types", "c0", "c1", "c2"]]);
});

test("numbers and strings in the matrix reach the model unchanged", async () => {
  const out = await t.model.predictMatrix({
    data: [
      [0.1, -2, 1e300],
      [3, 4.25, -0],
    ],
  });
  assert.deepEqual(out.prediction, [
    [0.1, -2, 1e300],
    [3, 4.25, -0],
  ]);
  const text = await t.model.predictMatrix({
    data: [
      ["a", "ü"],
      ["\u2603", ""],
    ],
  });
  assert.deepEqual(text.prediction, [
    ["a", "ü"],
    ["\u2603", ""],
  ]);
});

test("a result that cannot be JSON, or is not (prediction, columns), is OMAF_ERR_PREDICT", async () => {
  await assert.rejects(ask("unserializable"), (err) => isOmafError(err, "OMAF_ERR_PREDICT") && /JSON/.test(err.message));
  await assert.rejects(ask("not_tuple"), (err) => isOmafError(err, "OMAF_ERR_PREDICT") && /\(prediction, columns\)/.test(err.message));
});

test("matrixFormat 'numpy' hands the model a numpy array", async () => {
  const n = await tempModel(SOURCE, { matrixFormat: "numpy" });
  try {
    await n.model.load();
    const out = await n.model.predictMatrix({ data: [[1, 2]], columns: ["types", "c0"] });
    assert.deepEqual((out.prediction as unknown[][])[0]!.slice(0, 2), ["ndarray", "ndarray"]);
  } finally {
    await n.done();
  }
});

test("get_output_json_serializer(): the model's encoder runs first, omaf's conversions cover the rest", async () => {
  const s = await tempModel(`
import json
import numpy as np

class Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, np.float32):
            return 'f:%.1f' % o
        return json.JSONEncoder.default(self, o)

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    return [[np.float32(2.5), np.int64(3), np.array([1.0, 2.0])]], ['c']

def get_output_json_serializer():
    return Encoder
`);
  try {
    await s.model.load();
    assert.deepEqual(await s.model.predictMatrix({ data: [[1]] }), { prediction: [["f:2.5", 3, [1, 2]]], columns: ["c"] });
  } finally {
    await s.done();
  }
});

test("a serializer that is not a JSONEncoder class is OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
  const s = await tempModel(`
def init():
    return 'matrix'
def predict_on_matrix(m, cols=None):
    return m, cols
def get_output_json_serializer():
    return lambda value: str(value)
`);
  try {
    await assert.rejects(s.model.load(), (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /get_output_json_serializer/.test(err.message));
  } finally {
    await s.done();
  }
});
