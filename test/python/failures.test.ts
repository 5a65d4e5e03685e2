// Crashes, hangs and broken entrypoints: each gives a clear error code and the model keeps serving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isOmafError } from "../../src/errors.js";
import { resolvePythonSettings } from "../../src/runtime/python/options.js";
import { alive, modelDir, tempModel } from "./fixtures.js";
import { createPythonModel } from "../../src/runtime/python/python-model.js";

const MAGIC = `
import os, sys, time

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    v = m[0][0]
    if v == 666:
        os._exit(3)
    if v == 777:
        time.sleep(120)
    if v == 888:
        sys.exit(5)
    return [[v * 2]], ['double']
`;

test("a worker that exits mid-request fails that request; queued requests and the next ones are served", async () => {
  const t = await tempModel(MAGIC, { workers: 1 });
  try {
    await t.model.load();
    const [before] = t.model.workerPids();
    const crashing = t.model.predictMatrix({ data: [[666]] });
    const queued = t.model.predictMatrix({ data: [[5]] });
    await assert.rejects(crashing, (err) => {
      assert.ok(isOmafError(err, "OMAF_ERR_WORKER_CRASHED"), String(err));
      assert.match(err.message, /predict_on_matrix\(\) crashed the worker: python worker 0 \(pid \d+\) exited with code 3/);
      return true;
    });
    assert.deepEqual((await queued).prediction, [[10]]);
    assert.deepEqual((await t.model.predictMatrix({ data: [[1]] })).prediction, [[2]]);
    const [afterPid] = t.model.workerPids();
    assert.notEqual(afterPid, before);
    assert.ok(!alive(before!));
    assert.ok(t.logger.lines.some((l) => /exited with code 3; starting a new worker/.test(l)));
  } finally {
    await t.done();
  }
});

test("sys.exit() inside predict is an error of that request, not a crash", async () => {
  const t = await tempModel(MAGIC, { workers: 1 });
  try {
    await t.model.load();
    const [pid] = t.model.workerPids();
    await assert.rejects(t.model.predictMatrix({ data: [[888]] }), (err) => isOmafError(err, "OMAF_ERR_PREDICT") && /SystemExit/.test(err.message));
    assert.deepEqual((await t.model.predictMatrix({ data: [[2]] })).prediction, [[4]]);
    assert.deepEqual(t.model.workerPids(), [pid]);
  } finally {
    await t.done();
  }
});

test("a hanging request times out, its worker is replaced, and the other worker serves meanwhile", async () => {
  const t = await tempModel(MAGIC, { workers: 2, requestTimeoutMs: 2_000 });
  try {
    await t.model.load();
    const hung = t.model.predictMatrix({ data: [[777]] });
    let hungSettled = false;
    hung.catch(() => {}).finally(() => (hungSettled = true));
    // Served by the other worker while the first one hangs.
    assert.deepEqual((await t.model.predictMatrix({ data: [[3]] })).prediction, [[6]]);
    assert.equal(hungSettled, false);
    await assert.rejects(hung, (err) => isOmafError(err, "OMAF_ERR_TIMEOUT") && /predict_on_matrix\(\) took longer than 2000 ms/.test(err.message));
    // Both workers serve again (the killed one after its restart).
    const answers = await Promise.all([1, 2, 3, 4].map((v) => t.model.predictMatrix({ data: [[v]] })));
    assert.deepEqual(
      answers.map((a) => a.prediction),
      [[[2]], [[4]], [[6]], [[8]]],
    );
    assert.ok(t.logger.lines.some((l) => /ran longer than 2000 ms; killing the worker/.test(l)));
  } finally {
    await t.done();
  }
});

test("model prints, on Python's stdout or straight to fd 1, go to the log and never into the channel", async () => {
  const t = await tempModel(`
import os, sys
print('hello from import')

def init():
    print('init here')
    return 'matrix'

def predict_on_matrix(m, cols=None):
    print('predicting', m)
    os.write(1, b'raw write to fd 1\\n')
    sys.stderr.write('a warning\\n')
    return m, cols
`);
  try {
    await t.model.load();
    assert.deepEqual((await t.model.predictMatrix({ data: [[1, 2]] })).prediction, [[1, 2]]);
    assert.deepEqual((await t.model.predictMatrix({ data: [[3, 4]] })).prediction, [[3, 4]]);
    const log = t.logger.lines.join("\n");
    for (const line of ["hello from import", "init here", "predicting [[1, 2]]", "raw write to fd 1", "a warning"]) {
      assert.ok(log.includes(`[python worker 0] ${line}`), `log has '${line}'`);
    }
  } finally {
    await t.done();
  }
});

test("an import error is OMAF_ERR_ENTRYPOINT_LOAD with the Python traceback in the message", async () => {
  const t = await tempModel(`
import helper_that_is_missing_xyz

def init():
    return 'matrix'
`);
  try {
    await assert.rejects(t.model.load(), (err) => {
      assert.ok(isOmafError(err, "OMAF_ERR_ENTRYPOINT_LOAD"), String(err));
      assert.match(err.message, /cannot import entrypoint module 'entrypoint'/);
      assert.match(err.message, /Traceback \(most recent call last\)/);
      assert.match(err.message, /entrypoint\.py", line 2/);
      assert.match(err.message, /ModuleNotFoundError: No module named 'helper_that_is_missing_xyz'/);
      return true;
    });
  } finally {
    await t.done();
  }
});

test("a missing init() or predict_on_matrix() is OMAF_ERR_ENTRYPOINT_FUNCTION naming function and module", async () => {
  const noInit = await tempModel(`x = 1\n`);
  const noPredict = await tempModel(`def init():\n    return 'matrix'\n`);
  const badMode = await tempModel(`def init():\n    return 'tensor'\n`);
  try {
    await assert.rejects(
      noInit.model.load(),
      (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /init\(\) is missing in module 'entrypoint'/.test(err.message),
    );
    await assert.rejects(
      noPredict.model.load(),
      (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /predict_on_matrix\(\) is missing in module 'entrypoint'/.test(err.message),
    );
    await assert.rejects(
      badMode.model.load(),
      (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /returned 'tensor'; expected 'matrix', 'objects' or 'tensors'/.test(err.message),
    );
  } finally {
    await Promise.all([noInit.done(), noPredict.done(), badMode.done()]);
  }
});

test("init() or info() raising is OMAF_ERR_MODEL_INIT; a malformed info() schema is OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
  const initFails = await tempModel(`def init():\n    raise IOError('no weights file')\n`);
  const infoFails = await tempModel(`def init():\n    return 'matrix'\ndef predict_on_matrix(m, c=None):\n    return m, c\ndef info():\n    return 1 / 0\n`);
  const badInfo = await tempModel(
    `def init():\n    return 'matrix'\ndef predict_on_matrix(m, c=None):\n    return m, c\ndef get_info():\n    return [{'type': 'int'}], []\n`,
  );
  try {
    await assert.rejects(
      initFails.model.load(),
      (err) => isOmafError(err, "OMAF_ERR_MODEL_INIT") && /init\(\) in module 'entrypoint' failed: OSError: no weights file/.test(err.message),
    );
    await assert.rejects(infoFails.model.load(), (err) => isOmafError(err, "OMAF_ERR_MODEL_INIT") && /info\(\) .* ZeroDivisionError/.test(err.message));
    await assert.rejects(badInfo.model.load(), (err) => isOmafError(err, "OMAF_ERR_ENTRYPOINT_FUNCTION") && /get_info\(\) .* bad schema/.test(err.message));
  } finally {
    await Promise.all([initFails.done(), infoFails.done(), badInfo.done()]);
  }
});

test("a process that dies while importing the model is OMAF_ERR_MODEL_INIT with its last output", async () => {
  const t = await tempModel(`import os, sys\nsys.stderr.write('about to die\\n')\nos._exit(7)\n`);
  try {
    await assert.rejects(t.model.load(), (err) => {
      assert.ok(isOmafError(err, "OMAF_ERR_MODEL_INIT"), String(err));
      assert.match(err.message, /exited with code 7 before loading model 'test-model'/);
      assert.match(err.message, /about to die/);
      return true;
    });
  } finally {
    await t.done();
  }
});

test("a missing interpreter is OMAF_ERR_PYTHON_NOT_FOUND", async () => {
  const { dir, manifest, cleanup } = await modelDir(MAGIC);
  const model = createPythonModel({ dir, manifest, python: "/nonexistent/bin/python3", workers: 2 });
  try {
    await assert.rejects(model.load(), (err) => isOmafError(err, "OMAF_ERR_PYTHON_NOT_FOUND") && /OMAF_PYTHON/.test(err.message));
  } finally {
    await model.close();
    await cleanup();
  }
});

test("OMAF_PYTHON, OMAF_PYTHON_WORKERS and OMAF_PYTHON_MATRIX are read; bad values are OMAF_ERR_SETTINGS", () => {
  const s = resolvePythonSettings({}, { OMAF_PYTHON: "/opt/env/bin/python", OMAF_PYTHON_WORKERS: "3", OMAF_PYTHON_MATRIX: "numpy" });
  assert.equal(s.python, "/opt/env/bin/python");
  assert.equal(s.workers, 3);
  assert.equal(s.matrixFormat, "numpy");
  const d = resolvePythonSettings({}, {});
  assert.equal(d.python, "python3");
  assert.ok(d.workers >= 1);
  assert.equal(d.matrixFormat, "list");
  assert.equal(resolvePythonSettings({ python: "/x/python", workers: 1 }, { OMAF_PYTHON: "/y", OMAF_PYTHON_WORKERS: "4" }).python, "/x/python");
  assert.throws(
    () => resolvePythonSettings({}, { OMAF_PYTHON_WORKERS: "lots" }),
    (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
  );
  assert.throws(
    () => resolvePythonSettings({}, { OMAF_PYTHON_MATRIX: "arrow" }),
    (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
  );
  assert.throws(
    () => resolvePythonSettings({ workers: 0 }, {}),
    (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
  );
});
