// `omaf serve` as a real process on a real socket, called with a grpc-js client built from spec/omi.proto.
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Metadata } from "@grpc/grpc-js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { entryJson, jsonItem, omiClient } from "../helpers/omi-client.js";
import { cleanEnv, startServe, writeFailingInitModel, writeSumModel } from "../helpers/serve.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe("omaf serve (OMI)", () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    root = await tempDir("omaf-serve-");
  });
  after(() => root.cleanup());

  it("serves the node-matrix example lazily, logs each inference, and exits 0 after Shutdown", async () => {
    const proc = await startServe(example("node-matrix"), { args: ["--lazy"] });
    const client = omiClient(proc.address);
    try {
      assert.match(proc.stderr(), /^omaf: serving sum-matrix 1\.0\.0-1 \(sha256:[0-9a-f]{64}\) — OMI gRPC on 127\.0\.0\.1:\d+$/m);
      assert.equal(await client.health(), "NOT_SERVING");
      const status = await client.Status({});
      assert.equal(status.status_code, 200);
      assert.equal(status.message, "Model Initialized Successfully.");
      assert.equal(status.model_info.model_name, "sum-matrix");
      assert.equal(await client.health("ModzyModel"), "SERVING");

      const md = new Metadata();
      md.set("x-request-id", "req-from-client");
      const res = await client.Run({ inputs: [jsonItem({ columns: ["a", "b", "c"], data: [[1, 2, 3]] })] }, md);
      assert.equal(res.status_code, 200);
      const body = entryJson(res.outputs[0].output, "results.json") as { data: { result: number[][]; columns: string[] } };
      assert.deepEqual(body.data.columns, ["sum", "score"]);
      assert.equal(body.data.result[0][0], 6);
      const digest = /\((sha256:[0-9a-f]{64})\)/.exec(proc.stderr())![1];
      assert.equal(res.outputs[0].output.artifact_digest.toString(), digest);

      const shutdown = await client.Shutdown({});
      assert.equal(shutdown.status_code, 200);
      assert.equal(shutdown.message, "Model Shutdown Successfully.");
      const { code } = await proc.exited;
      assert.equal(code, 0);
      assert.match(proc.stderr(), /omaf: stopped \(Shutdown call\)/);

      const log = proc
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const line = log.find((l) => l.msg === "inference");
      assert.ok(line, proc.stdout());
      assert.equal(line.requestId, "req-from-client");
      assert.equal(line.protocol, "omi");
      assert.equal(line.model, "sum-matrix");
      assert.equal(line.digest, digest);
      assert.equal(line.status, "ok");
      assert.equal("input" in line, false, "payloads are not logged by default");
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("keeps serving when the model throws for some inputs only", async () => {
    const proc = await startServe(await writeSumModel(join(root.dir, "sum")), { args: ["--no-inference-log"] });
    const client = omiClient(proc.address);
    try {
      assert.equal(await client.health(), "SERVING", "loaded eagerly by default");
      const res = await client.Run({ inputs: [jsonItem([[1, 2]]), jsonItem([[-1, 2]]), jsonItem([[3, 4]])] });
      assert.deepEqual(
        res.outputs.map((o) => o.success),
        [true, false, true],
      );
      const error = entryJson(res.outputs[1].output, "error") as { code: string; message: string };
      assert.equal(error.code, "OMAF_ERR_PREDICT");
      assert.match(error.message, /predict_on_matrix\(\) in src\/model\.mjs.*negative values are not allowed/);
      const again = await client.Run({ inputs: [jsonItem([[-5, 0]])] });
      assert.equal(again.outputs[0].success, false);
      const ok = await client.Run({ inputs: [jsonItem([[5, 5]])] });
      assert.deepEqual(entryJson(ok.outputs[0].output, "results.json"), { data: { result: [[10]], columns: ["sum"] } });
      assert.equal(proc.stdout(), "", "--no-inference-log writes nothing to stdout");
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("answers Status 500 for a model that fails to initialise, and keeps answering", async () => {
    const proc = await startServe(await writeFailingInitModel(join(root.dir, "broken")));
    const client = omiClient(proc.address);
    try {
      assert.match(proc.stderr(), /omaf: model failed to load: OMAF_ERR_\w+: .*init failed on purpose/);
      for (let i = 0; i < 2; i++) {
        const st = await client.Status({});
        assert.equal(st.status_code, 500);
        assert.equal(st.message, "Model Failed to Initialize.");
        assert.match(st.description.details, /init failed on purpose/);
      }
      assert.equal(await client.health(), "NOT_SERVING");
      assert.equal(proc.child.exitCode, null, "still running");
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("serves the iris ONNX example: probabilities and label per row; a wrong row width is a bad item", async () => {
    const proc = await startServe(example("iris-onnx"), { args: ["--no-inference-log"] });
    const client = omiClient(proc.address);
    try {
      const status = await client.Status({});
      assert.equal(status.model_info.model_type, "onnx");
      assert.deepEqual(
        status.inputs.map((i) => i.filename),
        ["input"],
      );
      assert.match(status.inputs[0].description, /FP32 \[-1,4\]/);
      const res = await client.Run({
        inputs: [
          jsonItem([
            [5.1, 3.5, 1.4, 0.2],
            [6.7, 3.0, 5.2, 2.3],
          ]),
          jsonItem([[1, 2, 3]]),
        ],
      });
      assert.equal(res.outputs[0].success, true);
      const body = entryJson(res.outputs[0].output, "results.json") as { data: { result: unknown[][]; columns: string[] } };
      assert.deepEqual(body.data.columns, ["probabilities", "label"]);
      assert.equal(body.data.result.length, 2);
      const [probs, label] = body.data.result[0] as [number[], number];
      assert.equal(probs.length, 3);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-3);
      assert.equal(label, 0, "a typical setosa");
      assert.equal(res.outputs[1].success, false);
      assert.equal((entryJson(res.outputs[1].output, "error") as { code: string }).code, "OMAF_ERR_BAD_INPUT");
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("serves a packed zip: unpacks into the cache dir, reuses it on restart, never serves a tampered copy", async () => {
    const zip = join(root.dir, "sum.zip");
    const packed = omaf(["pack", await writeSumModel(join(root.dir, "sum-for-zip")), "-o", zip, "--json", "--no-progress"], { env: cleanEnv() });
    assert.equal(packed.code, 0, packed.stderr);
    const digest = (JSON.parse(packed.stdout) as { artifactDigest: string }).artifactDigest;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const cache = join(root.dir, "cache");
    const unpacked = join(cache, digest.slice("sha256:".length));
    const entrypoint = join(unpacked, "src", "model.mjs");
    let firstInode = 0n;
    for (let start = 0; start < 3; start++) {
      const proc = await startServe(zip, { args: ["--cache-dir", cache, "--no-inference-log"] });
      const client = omiClient(proc.address);
      try {
        assert.ok(proc.stderr().includes(`(${digest})`), proc.stderr());
        const res = await client.Run({ inputs: [jsonItem([[20, 22]])] });
        // The artifact's own model answers, even after its cached copy was edited (start 2).
        assert.deepEqual(entryJson(res.outputs[0].output, "results.json"), { data: { result: [[42]], columns: ["sum"] } });
        assert.equal(res.outputs[0].output.artifact_digest.toString(), digest);
        const tampered = /OMAF_WARN_CACHE_TAMPERED/.test(proc.stderr());
        assert.equal(tampered, start === 2, proc.stderr());
      } finally {
        client.close();
        await proc.kill();
      }
      const inode = (await stat(entrypoint, { bigint: true })).ino;
      if (start === 0) firstInode = inode;
      // Start 1 reused the copy (the same file, not unpacked again); then the copy is edited behind omaf's back.
      if (start === 1) {
        assert.equal(inode, firstInode, "the restart reused the unpacked copy");
        await writeFile(entrypoint, (await readFile(entrypoint, "utf8")).replace("row.reduce((a, b) => a + b, 0)", "0"));
      }
    }
    const entries = await readdir(cache, { withFileTypes: true });
    assert.equal(entries.filter((e) => e.isDirectory()).length, 1, "one unpacked copy in the cache");
  });
});
