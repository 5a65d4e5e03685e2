// Process lifecycle of `omaf serve`: graceful stop on SIGTERM, the drain timeout, start-up errors and exit codes.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServiceError } from "@grpc/grpc-js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { entryJson, jsonItem, omiClient } from "../helpers/omi-client.js";
import { cleanEnv, startServe, writeBehaveModel } from "../helpers/serve.js";

/** Polls `check` until it is true (bounded by `limitMs`, then fails with `what`). */
async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("omaf serve lifecycle", () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let model: string;
  before(async () => {
    root = await tempDir("omaf-life-");
    model = await writeBehaveModel(join(root.dir, "behave"));
  });
  after(() => root.cleanup());

  it("on SIGTERM stops accepting, lets the in-flight Run finish, and exits 0", async () => {
    const proc = await startServe(model, { args: ["--no-inference-log"] });
    const client = omiClient(proc.address);
    try {
      const mark = join(root.dir, "in-flight.mark");
      const run = client.Run({ inputs: [jsonItem({ markFile: mark, sleepMs: 1500, text: "slow" })] });
      await until(() => existsSync(mark), "the Run to reach the model");
      proc.child.kill("SIGTERM");
      // New connections are refused while the admitted Run is still being answered.
      await until(async () => {
        const fresh = omiClient(proc.address);
        try {
          await fresh.Status({});
          return false;
        } catch (err) {
          return (err as ServiceError).code === 14;
        } finally {
          fresh.close();
        }
      }, "the port to stop accepting");
      const res = await run;
      assert.equal(res.outputs[0].success, true);
      assert.deepEqual(entryJson(res.outputs[0].output, "results.json"), { data: { result: { echo: { markFile: mark, sleepMs: 1500, text: "slow" } } } });
      const { code } = await proc.exited;
      assert.equal(code, 0);
      assert.match(proc.stderr(), /omaf: stopped \(SIGTERM\)/);
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("cuts a request that outlives the drain timeout, then exits 0", async () => {
    const proc = await startServe(model, { args: ["--drain-timeout-ms", "300", "--request-timeout-ms", "600000", "--no-inference-log"] });
    const client = omiClient(proc.address);
    try {
      const mark = join(root.dir, "hang.mark");
      // Settled at once so the expected rejection is never reported as unhandled.
      const run = client.Run({ inputs: [jsonItem({ markFile: mark, hang: true })] }).then(
        () => undefined,
        (err: ServiceError) => err,
      );
      await until(() => existsSync(mark), "the Run to reach the model");
      proc.child.kill("SIGTERM");
      const { code } = await proc.exited;
      assert.equal(code, 0);
      assert.match(proc.stderr(), /in-flight requests were cut/);
      const err = await run;
      assert.ok(err, "the cut Run fails");
      assert.notEqual(err.code, 0);
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("writes the inference log to a file when asked", async () => {
    const file = join(root.dir, "logs", "inference.jsonl");
    const proc = await startServe(model, { args: ["--inference-log-file", file, "--log-payloads"] });
    const client = omiClient(proc.address);
    try {
      await client.Run({ inputs: [jsonItem({ text: "logged" })] });
      await client.Shutdown({});
      assert.equal((await proc.exited).code, 0);
      const lines = (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const inference = lines.find((l) => l.msg === "inference")!;
      assert.deepEqual(inference.input, { text: "logged" });
      assert.deepEqual(inference.output, { echo: { text: "logged" } });
      assert.equal(proc.stdout(), "");
    } finally {
      client.close();
      await proc.kill();
    }
  });

  it("refuses a bad setting before starting: error OMAF_ERR_SETTINGS, exit 2", () => {
    const fromEnv = omaf(["serve", model], { env: cleanEnv({ OMAF_OMI_PORT: "abc" }) });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /^error OMAF_ERR_SETTINGS: bad value "abc" for omiPort \(environment variable OMAF_OMI_PORT\)/m);
    const fromFlag = omaf(["serve", model, "--request-timeout-ms", "soon"], { env: cleanEnv() });
    assert.equal(fromFlag.code, 2);
    assert.match(fromFlag.stderr, /error OMAF_ERR_SETTINGS: .*requestTimeoutMs \(flag --request-timeout-ms\)/);
  });

  it("fails with OMAF_ERR_IO (exit 2) when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = omaf(["serve", model, "--host", "127.0.0.1", "--omi-port", String(port)], { env: cleanEnv() });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`error OMAF_ERR_IO: cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
    }
  });

  it("fails with OMAF_ERR_NOT_FOUND for a missing artifact", () => {
    const r = omaf(["serve", join(root.dir, "nope")], { env: cleanEnv() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error OMAF_ERR_NOT_FOUND/);
  });

  it("lists every setting in --help", () => {
    const r = omaf(["serve", "--help"], { env: cleanEnv() });
    assert.equal(r.code, 0);
    for (const flag of [
      "--omi-port",
      "--host",
      "--max-message-bytes",
      "--request-timeout-ms",
      "--max-in-flight",
      "--drain-timeout-ms",
      "--lazy",
      "--no-inference-log",
      "--inference-log-file",
      "--log-payloads",
      "--cache-dir",
      "--interfaces",
    ]) {
      assert.ok(r.stdout.includes(flag), `${flag} missing from --help`);
    }
    assert.match(r.stdout.replace(/\s+/g, " "), /OMAF_OMI_PORT, PSC_MODEL_PORT; default: 45000/);
  });
});
