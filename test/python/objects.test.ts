// Objects mode: JSON in, JSON out, plus the optional object type functions.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isOmafError } from "../../src/errors.js";
import { tempModel } from "./fixtures.js";

let t: Awaited<ReturnType<typeof tempModel>>;
before(async () => {
  t = await tempModel(`
import numpy as np

def init():
    return 'objects'

def predict_on_objects(obj):
    if isinstance(obj, dict) and obj.get('fail'):
        raise RuntimeError('bad object')
    return {'echo': obj, 'n': np.int64(len(obj)), 'arr': np.arange(3), 'ratio': np.float64('nan')}

def get_object_input_type():
    return {'type': 'object'}

def get_object_output_type():
    return dict
`);
  await t.model.load();
});
after(() => t.done());

test("metadata reports objects mode and the object types", () => {
  const meta = t.model.metadata();
  assert.equal(meta.mode, "objects");
  assert.deepEqual(meta.objectInputType, { type: "object" });
  assert.equal(meta.objectOutputType, "dict");
  assert.deepEqual(meta.inputs, []);
});

test("predictObjects passes the JSON value and converts the answer", async () => {
  assert.deepEqual(await t.model.predictObjects({ a: 1, s: "x" }), {
    echo: { a: 1, s: "x" },
    n: 2,
    arr: [0, 1, 2],
    ratio: null,
  });
  assert.deepEqual(await t.model.predictObjects([1, 2, 3]), { echo: [1, 2, 3], n: 3, arr: [0, 1, 2], ratio: null });
});

test("a failing predict_on_objects is OMAF_ERR_PREDICT with the exception and traceback", async () => {
  await assert.rejects(t.model.predictObjects({ fail: true }), (err) => {
    assert.ok(isOmafError(err, "OMAF_ERR_PREDICT"));
    assert.match(err.message, /predict_on_objects\(\) in module 'entrypoint' failed: RuntimeError: bad object/);
    assert.match(String(err.details?.traceback), /Traceback/);
    return true;
  });
});

test("an objects model refuses matrix requests; a missing input is OMAF_ERR_BAD_INPUT", async () => {
  await assert.rejects(t.model.predictMatrix({ data: [[1]] }), (err) => isOmafError(err, "OMAF_ERR_NOT_IMPLEMENTED"));
  await assert.rejects(t.model.predictObjects(undefined), (err) => isOmafError(err, "OMAF_ERR_BAD_INPUT"));
});

test("an objects model without predict_on_objects fails to load", async () => {
  const m = await tempModel(`
def init():
    return 'objects'
`);
  try {
    await assert.rejects(m.model.load(), (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /predict_on_objects/.test(err.message));
  } finally {
    await m.done();
  }
});
