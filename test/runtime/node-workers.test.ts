// Node models in worker threads: a model that spins, crashes, exits or runs out of memory fails only its own request,
// its thread is replaced, and this (the server's) thread keeps running throughout.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { isOmafError } from "../../src/errors.js";
import { createModel } from "../../src/runtime/load.js";
import type { NodeModel } from "../../src/runtime/node-model.js";
import type { NodeOptions } from "../../src/runtime/node/options.js";
import { resolveNodeSettings } from "../../src/runtime/node/options.js";
import { manifestFor, rejectsWith, TempModels } from "./helpers.js";

const temp = new TempModels();
after(() => temp.cleanup());

/** Spins (synchronously) for 4 s on 777, exits on 666, throws from a timer on 555, fills its heap on 444. */
const MISBEHAVE = `
export const init = () => "matrix";
export function predict_on_matrix(rows) {
  const v = rows[0][0];
  if (v === 777) { const end = Date.now() + 4000; while (Date.now() < end); }
  if (v === 666) process.exit(3);
  if (v === 555) { setTimeout(() => { throw new Error("late boom"); }); return new Promise(() => {}); }
  if (v === 444) { const hoard = []; for (;;) hoard.push(new Array(1e5).fill(v)); }
  return [rows.map((r) => [r[0] * 2]), ["double"]];
}
`;

function collectingLogger() {
  const lines: string[] = [];
  const push = (msg: string) => void lines.push(msg);
  return { lines, info: push, warn: push, error: push };
}

async function misbehaving(options: NodeOptions) {
  const dir = await temp.create({ "src/model.mjs": MISBEHAVE });
  const logger = collectingLogger();
  const model = createModel({ dir, manifest: manifestFor("node", "model.mjs"), nodeOptions: { logger, ...options } }) as NodeModel;
  await model.load();
  return { model, logger };
}

/** How often a 10 ms interval fired while `work` ran: this thread was free when it fired about as often as it should. */
async function ticksDuring<T>(work: Promise<T>): Promise<{ ticks: number; ms: number; outcome: T | unknown }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const outcome = await work.catch((err: unknown) => err);
  clearInterval(timer);
  return { ticks, ms: performance.now() - t0, outcome };
}

const double = (v: number) => ({ data: [[v]] });

async function until(check: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    assert.ok(Date.now() < end, "gave up waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("node worker threads", () => {
  test("a model spinning past the timeout: OMAF_ERR_TIMEOUT, its thread is terminated and replaced, this thread stays free", async () => {
    const { model, logger } = await misbehaving({ workers: 1, requestTimeoutMs: 1000 });
    try {
      const [before] = model.workerIds();
      const { ticks, ms, outcome } = await ticksDuring(model.predictMatrix(double(777)));
      assert.ok(isOmafError(outcome, "OMAF_ERR_TIMEOUT"), `expected OMAF_ERR_TIMEOUT, got ${String(outcome)}`);
      assert.match((outcome as Error).message, /predict_on_matrix\(\) took longer than 1000 ms/);
      assert.ok(ms < 2500, `answered after ${ms.toFixed(0)} ms`);
      assert.ok(ticks >= (ms / 10) * 0.3, `this thread ran timers while the model spun (${ticks} ticks in ${ms.toFixed(0)} ms)`);

      // The next request waits for the new thread and is served by it.
      assert.deepEqual((await model.predictMatrix(double(4))).prediction, [[8]]);
      const [replacement] = model.workerIds();
      assert.notEqual(replacement, before);
      assert.ok(
        logger.lines.some((l) => /\[node worker 0\] predict_on_matrix\(\) ran longer than 1000 ms; killing the worker \(thread \d+\)/.test(l)),
        logger.lines.join("\n"),
      );
      assert.ok(
        logger.lines.some((l) => l === `node worker 0 (thread ${before}) was terminated; starting a new worker`),
        logger.lines.join("\n"),
      );

      // Nothing spins any more: the process is idle (a live spinning thread would use about a core).
      const cpu0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 500));
      const cpu = process.cpuUsage(cpu0);
      assert.ok((cpu.user + cpu.system) / 1000 < 200, `process CPU over 500 ms idle: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
    } finally {
      await model.close();
    }
  });

  test("with two workers, one spinning does not hold up requests on the other", async () => {
    const { model } = await misbehaving({ workers: 2, requestTimeoutMs: 3000 });
    try {
      const spinning = model.predictMatrix(double(777));
      let spinningSettled = false;
      spinning.catch(() => {}).finally(() => (spinningSettled = true));
      const t0 = performance.now();
      assert.deepEqual((await model.predictMatrix(double(3))).prediction, [[6]]);
      assert.ok(performance.now() - t0 < 1000, "answered by the other worker at once");
      assert.equal(spinningSettled, false);
      await rejectsWith(spinning, "OMAF_ERR_TIMEOUT");
    } finally {
      await model.close();
    }
  });

  test("process.exit() in predict: that request fails OMAF_ERR_WORKER_CRASHED, the queued one and later ones are served", async () => {
    const { model, logger } = await misbehaving({ workers: 1 });
    try {
      const [before] = model.workerIds();
      const crashing = model.predictMatrix(double(666));
      const queued = model.predictMatrix(double(5));
      const err = await rejectsWith(crashing, "OMAF_ERR_WORKER_CRASHED");
      assert.match(err.message, /predict_on_matrix\(\) crashed the worker: node worker 0 \(thread \d+\) exited with code 3 while running the request/);
      assert.deepEqual((await queued).prediction, [[10]]);
      assert.deepEqual((await model.predictMatrix(double(1))).prediction, [[2]]);
      assert.notEqual(model.workerIds()[0], before);
      assert.ok(logger.lines.some((l) => /exited with code 3; starting a new worker/.test(l)));
    } finally {
      await model.close();
    }
  });

  test("an exception thrown from a timer inside the model crashes only its thread", async () => {
    const { model } = await misbehaving({ workers: 1 });
    try {
      const err = await rejectsWith(model.predictMatrix(double(555)), "OMAF_ERR_WORKER_CRASHED");
      assert.match(err.message, /threw Error: late boom/);
      assert.deepEqual((await model.predictMatrix(double(2))).prediction, [[4]]);
    } finally {
      await model.close();
    }
  });

  test("a model running out of heap fails its request; the thread is replaced", async () => {
    const { model } = await misbehaving({ workers: 1, maxHeapMb: 32 });
    try {
      const err = await rejectsWith(model.predictMatrix(double(444)), "OMAF_ERR_WORKER_CRASHED");
      assert.match(err.message, /ran out of memory/);
      assert.deepEqual((await model.predictMatrix(double(6))).prediction, [[12]]);
    } finally {
      await model.close();
    }
  });

  test("a replacement that fails to load is retried with a back-off until one loads", async () => {
    const dir = await temp.create({
      "src/m.mjs": `import { existsSync } from "node:fs";
import { join } from "node:path";
export const init = () => { if (existsSync(join(process.env.MODEL_LOCATION, "broken"))) throw new Error("weights gone"); return "matrix"; };
export const predict_on_matrix = (rows) => { if (rows[0][0] === 666) process.exit(3); return [rows, null]; };`,
    });
    const logger = collectingLogger();
    const model = createModel({ dir, manifest: manifestFor("node", "m.mjs"), nodeOptions: { workers: 1, logger } });
    try {
      await model.load();
      await writeFile(join(dir, "src", "broken"), "");
      await rejectsWith(model.predictMatrix(double(666)), "OMAF_ERR_WORKER_CRASHED");
      const waiting = model.predictMatrix(double(1));
      await until(() => logger.lines.some((l) => /\[node worker 0\] restart failed \(1 in a row\): init\(\) in src\/m\.mjs failed: weights gone/.test(l)));
      await rm(join(dir, "src", "broken"));
      assert.deepEqual((await waiting).prediction, [[1]]);
    } finally {
      await model.close();
    }
  });

  test("close() cuts a running request as OMAF_ERR_UNAVAILABLE and ends its thread within the grace given", async () => {
    const { model } = await misbehaving({ workers: 1, requestTimeoutMs: 0 });
    const spinning = model.predictMatrix(double(777));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await model.close(200);
    const took = performance.now() - t0;
    assert.ok(took >= 150 && took < 1000, `close(200) took ${took.toFixed(0)} ms`);
    await rejectsWith(spinning, "OMAF_ERR_UNAVAILABLE", /shutting down/);
    await rejectsWith(model.predictMatrix(double(1)), "OMAF_ERR_MODEL_NOT_READY");
  });

  test("MODEL_LOCATION is set in the threads, not in the server's environment", async () => {
    const before = process.env.MODEL_LOCATION;
    const dir = await temp.create({
      "src/m.mjs": `export const init = () => "objects"; export const predict_on_objects = () => process.env.MODEL_LOCATION;`,
    });
    const model = createModel({ dir, manifest: manifestFor("node", "m.mjs") });
    await model.load();
    assert.equal(await model.predictObjects({}), `${dir}/src`);
    assert.equal(process.env.MODEL_LOCATION, before);
    await model.close();
  });

  test("numeric matrices cross as numbers (integers stay integers), mixed ones as they are", async () => {
    const dir = await temp.create({
      "src/m.mjs": `export const init = () => "matrix";
export const predict_on_matrix = (rows) => [rows.map((r) => [r.map((v) => typeof v).join(","), ...r]), null];`,
    });
    const model = createModel({ dir, manifest: manifestFor("node", "m.mjs") });
    await model.load();
    const numeric = await model.predictMatrix({
      data: [
        [1, -0.5, 2 ** 53 + 2],
        [Number.NaN, 0, 3],
      ],
    });
    assert.deepEqual(numeric.prediction, [
      ["number,number,number", 1, -0.5, 2 ** 53 + 2],
      ["number,number,number", Number.NaN, 0, 3],
    ]);
    const mixed = await model.predictMatrix({ data: [["a", 1, true, null]] });
    assert.deepEqual(mixed.prediction, [["string,number,boolean,object", "a", 1, true, null]]);
    await model.close();
  });

  test("an answer that cannot be copied out of the thread → OMAF_ERR_PREDICT", async () => {
    const dir = await temp.create({
      "src/m.mjs": `export const init = () => "objects"; export const predict_on_objects = () => ({ f() {} });`,
    });
    const model = createModel({ dir, manifest: manifestFor("node", "m.mjs") });
    await model.load();
    await rejectsWith(model.predictObjects({}), "OMAF_ERR_PREDICT", /predict_on_objects\(\) in src\/m\.mjs answered a value that cannot be copied/);
    await model.close();
  });

  test("a module that exits while loading → OMAF_ERR_MODEL_INIT", async () => {
    const dir = await temp.create({ "src/m.mjs": `process.exit(7);` });
    const model = createModel({ dir, manifest: manifestFor("node", "m.mjs") });
    await rejectsWith(model.load(), "OMAF_ERR_MODEL_INIT", /node worker 0 \(thread \d+\) exited with code 7 before loading model 'test-model'/);
  });

  test("OMAF_NODE_WORKERS and OMAF_NODE_IN_PROCESS are read; bad values are OMAF_ERR_SETTINGS", () => {
    assert.deepEqual(
      { ...resolveNodeSettings({}, { OMAF_NODE_WORKERS: "3", OMAF_NODE_IN_PROCESS: "yes" }), logger: undefined },
      { workers: 3, inProcess: true, requestTimeoutMs: 30_000, logger: undefined },
    );
    const d = resolveNodeSettings({}, {});
    assert.equal(d.workers, availableParallelism());
    assert.equal(resolveNodeSettings({ workers: 0 }, {}).workers, availableParallelism());
    assert.equal(d.inProcess, false);
    assert.equal(resolveNodeSettings({ workers: 2 }, { OMAF_NODE_WORKERS: "4" }).workers, 2);
    assert.throws(
      () => resolveNodeSettings({}, { OMAF_NODE_WORKERS: "-1" }),
      (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
    );
    assert.throws(
      () => resolveNodeSettings({}, { OMAF_NODE_IN_PROCESS: "maybe" }),
      (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
    );
    assert.throws(
      () => resolveNodeSettings({ workers: 1.5 }, {}),
      (err) => isOmafError(err, "OMAF_ERR_SETTINGS"),
    );
  });
});
