// Crash-only serving: after an uncaught error in the server process omaf stops admitting work, lets in-flight requests
// finish within the drain timeout and exits 1 for its supervisor to restart it. And the inference log never fails
// silently: a file that cannot be opened stops the start, a destination that fails later is reported.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeBehaveModel, type ServeProcess } from "../helpers/serve.js";

describe("crash-only", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let model: string;
  let preload: string;
  let server: ServeProcess | undefined;

  before(async () => {
    tmp = await tempDir("omaf-crash-");
    model = await writeBehaveModel(join(tmp.dir, "behave"));
    // Stands in for a bug in the server process: SIGUSR2 throws from a timer on the main thread.
    preload = join(tmp.dir, "stray-error.mjs");
    await writeFile(
      preload,
      `import { isMainThread } from "node:worker_threads";
if (isMainThread) process.on("SIGUSR2", () => setTimeout(() => { throw new Error("a stray bug"); }, 0));
`,
    );
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("an uncaught exception drains in-flight requests and exits 1", { timeout: 30_000 }, async () => {
    server = await startServe(model, {
      args: ["--interfaces", "oip-rest", "--drain-timeout-ms", "5000", "--no-inference-log"],
      env: { NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` },
    });
    {
      const url = `${server.url("OIP v2 REST")}/v2/models/behave/infer`;
      const body = (value: unknown) => {
        const text = JSON.stringify(value);
        return JSON.stringify({ inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: [text] }] });
      };
      const inFlight = fetch(url, { method: "POST", body: body({ sleepMs: 1500 }) });
      await new Promise((r) => setTimeout(r, 300));
      server.child.kill("SIGUSR2");
      const answer = await inFlight;
      assert.equal(answer.status, 200, "the request admitted before the error is answered");
      const { code } = await server.exited;
      assert.equal(code, 1);
      assert.match(server.stderr(), /uncaught exception: Error: a stray bug/);
      assert.match(server.stderr(), /draining and exiting with code 1/);
    }
  });
});

describe("the inference log never fails silently", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let model: string;

  before(async () => {
    tmp = await tempDir("omaf-log-");
    model = await writeBehaveModel(join(tmp.dir, "behave"));
  });
  after(() => tmp?.cleanup());

  it("a log file that cannot be opened is a start-up error (exit 2, OMAF_ERR_IO), before anything is served", async () => {
    const blocker = join(tmp.dir, "a-file");
    await writeFile(blocker, "not a folder");
    const r = omaf(["serve", model, "--host", "127.0.0.1", "--interfaces", "oip-rest", "--http-port", "0", "--inference-log-file", join(blocker, "log.jsonl")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /OMAF_ERR_IO.*cannot open the inference log file/);
    assert.doesNotMatch(r.stderr, /serving behave/);
  });

  it("a destination that fails later (a full disk) is reported on stderr", async () => {
    const server = await startServe(model, { args: ["--interfaces", "oip-rest", "--inference-log-file", "/dev/full"] });
    try {
      const url = `${server.url("OIP v2 REST")}/v2/models/behave/infer`;
      const text = JSON.stringify({ hello: "x".repeat(10_000) });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url, { method: "POST", body: JSON.stringify({ inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: [text] }] }) });
        assert.equal(res.status, 200);
      }
      const deadline = Date.now() + 5000;
      while (!/inference log cannot be written/.test(server.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(server.stderr(), /the inference log cannot be written: .*ENOSPC|no space/i);
    } finally {
      await server.kill();
    }
  });
});
