// onnxruntime is loaded only for ONNX models: `omaf serve` of a node model resolves no onnxruntime module, while
// serving the ONNX example does (which shows the recording works). Every module URL the server process resolves is
// recorded by test/helpers/resolve-log.mjs, preloaded through NODE_OPTIONS.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/fixtures.js";
import { startServe } from "../helpers/serve.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const PRELOAD = fileURLToPath(new URL("../helpers/resolve-log.mjs", import.meta.url));
const ONNXRUNTIME = /\/node_modules\/onnxruntime-[a-z]+\//;

/** The module URLs `omaf serve <artifact>` resolved until its model was loaded and its listeners were up. */
async function resolvedWhileServing(artifact: string, log: string): Promise<string[]> {
  const serve = await startServe(artifact, {
    env: { OMAF_INTERFACES: "oip-rest", NODE_OPTIONS: `--import=${PRELOAD}`, OMAF_TEST_RESOLVE_LOG: log },
  });
  try {
    // One readiness probe: the model has loaded once it answers 200.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${serve.url("OIP v2 REST")}/v2/health/ready`);
      await res.arrayBuffer();
      if (res.status === 200) break;
      assert.ok(Date.now() < deadline, `the model did not become ready; stderr:\n${serve.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await serve.kill();
  }
  return (await readFile(log, "utf8")).split("\n").filter(Boolean);
}

describe("onnxruntime is imported only to serve an ONNX model", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-lazy-onnx-");
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("serving examples/node-matrix resolves no onnxruntime module", async () => {
    const urls = await resolvedWhileServing(example("node-matrix"), join(tmp.dir, "node.log"));
    assert.ok(
      urls.some((u) => u.includes("/src/cli/main.ts")),
      `the recording saw no omaf module: ${urls.slice(0, 5).join(", ")}`,
    );
    const onnx = urls.filter((u) => ONNXRUNTIME.test(u));
    assert.deepEqual(onnx, [], `a node model's server imported onnxruntime:\n${onnx.join("\n")}`);
  });

  it("serving examples/iris-onnx does resolve onnxruntime (the recording works)", async () => {
    const urls = await resolvedWhileServing(example("iris-onnx"), join(tmp.dir, "onnx.log"));
    assert.ok(
      urls.some((u) => ONNXRUNTIME.test(u)),
      "an ONNX model's server resolved no onnxruntime module",
    );
  });
});
