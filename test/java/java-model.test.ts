// The java environment end to end: real javac-built JARs in real JVM worker processes.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import { resolveJavaSettings } from "../../src/runtime/java/options.js";
import { createModel } from "../../src/runtime/load.js";
import { rejectsWith } from "../runtime/helpers.js";
import { buildJavaIris, compileClasses, javaArtifact, javaModel, tempDir } from "./fixtures.js";
import { SOURCES } from "./models.js";

const root = tempDir();
let classes: string;
let n = 0;

/** A fresh artifact folder whose JAR names `modelClass` (undefined: no Omaf-Model-Class attribute). */
function artifact(modelClass: string | undefined): { dir: string; manifest: OmafManifest } {
  const dir = join(root.dir, `a${n++}`);
  return { dir, manifest: javaArtifact(dir, classes, modelClass) };
}

before(() => {
  classes = compileClasses(root.dir, SOURCES);
});
after(() => root.cleanup());

describe("java-iris example", () => {
  let dir: string;
  let manifest: OmafManifest;
  before(() => {
    dir = buildJavaIris(join(root.dir, "iris"));
    manifest = parse(readFileSync(join(dir, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
  });

  test("build.sh writes the same JAR twice (sorted entries, fixed timestamps)", () => {
    const first = readFileSync(join(dir, "model", "iris-model.jar"));
    const again = buildJavaIris(join(root.dir, "iris-again"));
    assert.ok(first.equals(readFileSync(join(again, "model", "iris-model.jar"))));
  });

  test("predicts species through createModel, with columns in any order; schemas from info()", async () => {
    const model = createModel({ dir, manifest, javaOptions: { java: "java", workers: 1, logger: { info() {}, warn() {}, error() {} } } });
    try {
      await model.load();
      const meta = model.metadata();
      assert.equal(meta.environment, "java");
      assert.deepEqual(
        meta.inputSchema?.map((f) => f.name),
        ["sepal_length", "sepal_width", "petal_length", "petal_width"],
      );
      assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP64", shape: [-1, 4] }]);
      const out = await model.predictMatrix({
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [5.7, 2.8, 4.1, 1.3],
          [6.3, 3.3, 6.0, 2.5],
        ],
      });
      assert.deepEqual(out, { prediction: [["setosa"], ["versicolor"], ["virginica"]], columns: ["species"] });
      const named = await model.predictMatrix({
        data: [[0.2, 1.4, 3.5, 5.1]],
        columns: ["petal_width", "petal_length", "sepal_width", "sepal_length"],
      });
      assert.deepEqual(named.prediction, [["setosa"]]);
      await rejectsWith(model.predictMatrix({ data: [[-1, 3.5, 1.4, 0.2]] }), "OMAF_ERR_PREDICT", /measurements cannot be negative/);
    } finally {
      await model.close();
    }
  });
});

describe("matrix mode", () => {
  test("numbers travel as raw doubles both ways; System.out prints go to the log, not the channel", async () => {
    const { dir, manifest } = artifact("test.Sum");
    const { model, logger } = javaModel(dir, manifest);
    try {
      await model.load();
      const out = await model.predictMatrixTimed({
        data: [
          [1, 2.5],
          [3, 4],
        ],
        columns: ["a", "b"],
      });
      assert.deepEqual(out.output, {
        prediction: [
          [3.5, 2],
          [7, 6],
        ],
        columns: ["sum", "double_first"],
      });
      assert.ok(out.modelMicros >= 0);
      assert.ok(
        logger.lines.some((l) => l === "[java worker 0] Sum ready"),
        logger.lines.join("\n"),
      );
      assert.ok(logger.lines.some((l) => l.includes("predicted row 1")));
      assert.deepEqual(model.metadata().outputs, [{ name: "prediction", datatype: "FP64", shape: [-1, 2] }]);
      // The model's exception: OMAF_ERR_PREDICT with the Java stack trace in the details.
      const err = await rejectsWith(model.predictMatrix({ data: [[99, 1]] }), "OMAF_ERR_PREDICT", /ninety-nine/);
      assert.match(String(err.details?.traceback), /at test\.Sum\.predictOnMatrix\(Sum\.java:\d+\)/);
      // A non-numeric matrix for a double[][] method: refused as bad input, the worker keeps serving.
      await rejectsWith(model.predictMatrix({ data: [["x", 1]] }), "OMAF_ERR_BAD_INPUT", /takes numbers only/);
      assert.deepEqual((await model.predictMatrix({ data: [[1, 1]] })).prediction, [[2, 2]]);
    } finally {
      await model.close();
    }
  });

  test("an Object[][] method gets Longs for integers, Doubles, Strings, Booleans and nulls; a Map answer works", async () => {
    const { dir, manifest } = artifact("test.Types");
    const { model } = javaModel(dir, manifest);
    try {
      await model.load();
      assert.deepEqual((await model.predictMatrix({ data: [[1, 2]] })).prediction, [["Long:1", "Long:2"]]);
      assert.deepEqual((await model.predictMatrix({ data: [[1.5, 2]] })).prediction, [["Double:1.5", "Double:2.0"]]);
      const mixed = await model.predictMatrix({ data: [["a", true, null]], columns: ["x", "y", "z"] });
      assert.deepEqual(mixed, { prediction: [["String:a", "Boolean:true", "null"]], columns: ["x", "y", "z"] });
    } finally {
      await model.close();
    }
  });

  test("a crashed JVM fails only its request and is replaced; a hung one is killed at the timeout", async () => {
    const { dir, manifest } = artifact("test.Sum");
    const { model, logger } = javaModel(dir, manifest, { requestTimeoutMs: 4000 });
    try {
      await model.load();
      const [pid] = model.workerPids();
      await rejectsWith(model.predictMatrix({ data: [[13, 1]] }), "OMAF_ERR_WORKER_CRASHED", /exited with code 3/);
      assert.deepEqual((await model.predictMatrix({ data: [[1, 2]] })).prediction, [[3, 2]]);
      const [second] = model.workerPids();
      assert.ok(second && second !== pid);
      await rejectsWith(model.predictMatrix({ data: [[7, 1]] }), "OMAF_ERR_TIMEOUT");
      assert.deepEqual((await model.predictMatrix({ data: [[2, 2]] })).prediction, [[4, 4]]);
      assert.notEqual(model.workerPids()[0], second);
      assert.ok(logger.lines.some((l) => /ran longer than 4000 ms; killing the worker/.test(l)));
    } finally {
      await model.close();
    }
  });
});

describe("objects mode", () => {
  test("JSON in, JSON out as plain Java types; object types, JVM options, MODEL_LOCATION and working directory", async () => {
    const { dir, manifest } = artifact("test.Echo");
    const { model } = javaModel(dir, manifest, { jvmOptions: "-Domaf.test=hello  -Xmx256m" });
    try {
      await model.load();
      const meta = model.metadata();
      assert.equal(meta.mode, "objects");
      assert.deepEqual(meta.objectInputType, { type: "object" });
      assert.equal(meta.objectOutputType, "anything");
      const input = { text: 'héllo "quoted"\n', n: [1, 2.5, -3e-7, 12345678901234], ok: true, none: null, nested: { a: [] } };
      const out = (await model.predictObjects(input)) as Record<string, unknown>;
      assert.deepEqual(out.input, input);
      assert.equal(out.type, "LinkedHashMap");
      assert.equal(out.property, "hello");
      assert.equal(out.cwd, join(dir, "model"));
      assert.equal(out.location, join(dir, "model"));
      assert.equal(out.nan, null);
      assert.deepEqual(out.array, [1, 2]);
      assert.equal(((await model.predictObjects("just text")) as Record<string, unknown>).type, "String");
      await rejectsWith(model.predictMatrix({ data: [[1]] }), "OMAF_ERR_NOT_IMPLEMENTED");
    } finally {
      await model.close();
    }
  });

  test("getOutputJsonSerializer(): its text is the answer; text that is not JSON is OMAF_ERR_PREDICT", async () => {
    const { dir, manifest } = artifact("test.Serialized");
    const { model } = javaModel(dir, manifest);
    try {
      await model.load();
      assert.deepEqual(await model.predictObjects("x"), { wrapped: "x" });
      await rejectsWith(model.predictObjects({ a: 1 }), "OMAF_ERR_PREDICT", /cannot be turned into JSON/);
    } finally {
      await model.close();
    }
  });
});

describe("start-up errors carry a stable code and the Java stack trace", () => {
  const loadFails = async (modelClass: string | undefined, code: Parameters<typeof rejectsWith>[1], message: RegExp) => {
    const { dir, manifest } = artifact(modelClass);
    const { model } = javaModel(dir, manifest);
    try {
      return await rejectsWith(model.load(), code, message);
    } finally {
      await model.close();
    }
  };

  test("init() throws → OMAF_ERR_MODEL_INIT with the stack trace and its cause", async () => {
    const err = await loadFails(
      "test.InitFails",
      "OMAF_ERR_MODEL_INIT",
      /init\(\) in class 'test\.InitFails' failed: java\.lang\.IllegalStateException: weights are missing/,
    );
    assert.match(err.message, /at test\.InitFails\.init\(InitFails\.java:\d+\)/);
    assert.match(err.message, /Caused by: java\.io\.FileNotFoundException: weights\.bin/);
  });

  test("no Omaf-Model-Class, or a class the JAR lacks → OMAF_ERR_ENTRYPOINT_LOAD", async () => {
    await loadFails(undefined, "OMAF_ERR_ENTRYPOINT_LOAD", /has no Omaf-Model-Class attribute/);
    await loadFails("test.Missing", "OMAF_ERR_ENTRYPOINT_LOAD", /the model class test\.Missing named by Omaf-Model-Class is not in/);
  });

  test("missing init() or predict method, or a bad mode → OMAF_ERR_ENTRYPOINT_FUNCTION", async () => {
    await loadFails("test.NoInit", "OMAF_ERR_ENTRYPOINT_FUNCTION", /public init\(\) is missing in class 'test\.NoInit'/);
    await loadFails("test.NoPredict", "OMAF_ERR_ENTRYPOINT_FUNCTION", /public predictOnMatrix\(double\[\]\[\] or Object\[\]\[\], String\[\]\) is missing/);
    await loadFails("test.BadMode", "OMAF_ERR_ENTRYPOINT_FUNCTION", /returned String "tensors"; expected "matrix" or "objects"/);
  });

  test("a JAR that is not a ZIP → OMAF_ERR_ENTRYPOINT_LOAD; a missing JAR → OMAF_ERR_ENTRYPOINT", async () => {
    const { dir, manifest } = artifact("test.Sum");
    writeFileSync(join(dir, "model", "model.jar"), "this is not a zip");
    await rejectsWith(javaModel(dir, manifest).model.load(), "OMAF_ERR_ENTRYPOINT_LOAD", /cannot open the model JAR/);
    const ghost = { ...manifest, model: { ...manifest.model, entrypoint: "ghost.jar" } };
    await rejectsWith(javaModel(dir, ghost).model.load(), "OMAF_ERR_ENTRYPOINT", /ghost\.jar/);
  });

  test("a JVM option the JVM refuses → OMAF_ERR_MODEL_INIT with the JVM's message", async () => {
    const { dir, manifest } = artifact("test.Sum");
    const { model } = javaModel(dir, manifest, { jvmOptions: ["-XX:+OmafNoSuchOption"] });
    await rejectsWith(model.load(), "OMAF_ERR_MODEL_INIT", /exited with code 1 before loading model 'test-model'[\s\S]*OmafNoSuchOption/);
  });

  test("a java launcher that does not exist → OMAF_ERR_JAVA_NOT_FOUND", async () => {
    const { dir, manifest } = artifact("test.Sum");
    await rejectsWith(javaModel(dir, manifest, { java: "/nonexistent/bin/java" }).model.load(), "OMAF_ERR_JAVA_NOT_FOUND", /OMAF_JAVA/);
  });
});

describe("the compiled worker cache", () => {
  test("the worker is compiled once into the cache folder; one that cannot be created falls back to the temp folder", async () => {
    const { dir, manifest } = artifact("test.Sum");
    const cacheDir = join(root.dir, "cache");
    const first = javaModel(dir, manifest, { cacheDir }).model;
    await first.load();
    await first.close();
    const [worker] = readdirSync(cacheDir);
    assert.match(String(worker), /^worker-[0-9a-f]{16}$/);
    assert.ok(existsSync(join(cacheDir, String(worker), "OmafWorker.class")));
    writeFileSync(join(root.dir, "a-file"), "");
    const fallback = javaModel(dir, manifest, { cacheDir: join(root.dir, "a-file", "cache") }).model;
    try {
      await fallback.load();
      assert.deepEqual((await fallback.predictMatrix({ data: [[1, 2]] })).prediction, [[3, 2]]);
    } finally {
      await fallback.close();
    }
  });
});

describe("settings", () => {
  test("OMAF_JAVA, OMAF_JAVA_WORKERS and OMAF_JAVA_OPTS fill what the caller leaves out; bad values are OMAF_ERR_SETTINGS", () => {
    const s = resolveJavaSettings({}, { OMAF_JAVA: "/opt/jdk/bin/java", OMAF_JAVA_WORKERS: "3", OMAF_JAVA_OPTS: " -Xmx1g  -Da=b " });
    assert.equal(s.java, "/opt/jdk/bin/java");
    assert.equal(s.workers, 3);
    assert.deepEqual(s.jvmOptions, ["-Xmx1g", "-Da=b"]);
    assert.equal(resolveJavaSettings({ workers: 2, java: "java" }, { OMAF_JAVA_WORKERS: "5" }).workers, 2);
    assert.throws(() => resolveJavaSettings({}, { OMAF_JAVA_WORKERS: "many" }), /OMAF_JAVA_WORKERS/);
    assert.throws(
      () => resolveJavaSettings({ workers: -1 }, {}),
      (e: { code?: string }) => e.code === "OMAF_ERR_SETTINGS",
    );
  });
});
