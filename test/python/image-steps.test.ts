// The python image's steps without a container engine: the Dockerfile's unpack step, then its `omaf env create ...
// --link /opt/omaf/venv` step with its own arguments plus --system-site-packages on Debian's python3 (so that pip
// takes Debian's scikit-learn, numpy and pandas instead of downloading them), then the server as the image starts it,
// with OMAF_ENV naming the linked venv: its HEALTHCHECK turns healthy and the model answers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { freePort } from "../http/helpers.js";
import { startServe } from "../helpers/serve.js";
import { runLocally, under } from "../deploy/dockerfile-steps.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/python-sklearn", import.meta.url));
const DEBIAN_PYTHON = "/usr/bin/python3";

/** The command lines of a process's children (Linux /proc). */
async function childCommands(pid: number): Promise<string[][]> {
  const out: string[][] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The parent pid is the second field after the command name, which is in parentheses and may hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    out.push(cmdline.split("\0").filter(Boolean));
  }
  return out;
}

describe("the python image's steps, run without a container engine", { timeout: 600_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-python-image-steps-");
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("builds the declared environment behind the venv link, and the server the image starts uses it", async () => {
    const context = path.join(tmp.dir, "context");
    const r = omaf(["image", EXAMPLE, "-o", context, "--omaf-from", "npm"]);
    assert.equal(r.code, 0, r.stderr);
    const dockerfile = await readFile(path.join(context, "Dockerfile"), "utf8");
    const root = path.join(tmp.dir, "root");
    const local = await runLocally(context, root, dockerfile, (args) =>
      args[0] === "env" ? { args: [...args, "--system-site-packages"], env: { OMAF_PYTHON: DEBIAN_PYTHON } } : { args },
    );
    assert.deepEqual(
      local.ran.map((s) => [s.args[0], s.result.code]),
      [
        ["unpack", 0],
        ["env", 0],
      ],
      local.ran.map((s) => s.result.stderr).join("\n"),
    );
    assert.deepEqual(
      local.skipped.map((s) => s.split(" ")[0]),
      ["apt-get", "ONNXRUNTIME_NODE_INSTALL=skip"],
      "the Debian packages and omaf's install need the image",
    );
    const link = under(root, "/opt/omaf/venv");
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.ok((await readlink(link)).startsWith(under(root, "/opt/omaf/cache/envs/")), "the link points at the venv in the build's cache");
    assert.equal(local.env.OMAF_ENV, link);

    const health = await freePort();
    const server = await startServe(under(root, local.cmd[1]), { env: { ...local.env, OMAF_HEALTH_PORT: String(health) }, timeoutMs: 120_000 });
    try {
      // The model's worker processes run the linked venv's interpreter.
      const workers = await childCommands(server.child.pid!);
      assert.ok(
        workers.some((cmd) => cmd[0] === path.join(link, "bin", "python")),
        `no worker runs ${link}/bin/python: ${JSON.stringify(workers)}`,
      );
      const check = spawnSync(process.execPath, local.healthcheck.slice(1), { env: { ...process.env, OMAF_HEALTH_PORT: String(health) } });
      assert.equal(check.status, 0, "the HEALTHCHECK passes once the model is loaded");
      const res = await fetch(`${server.url("KServe v1")}/v1/models/iris-sklearn:predict`, {
        method: "POST",
        body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { predictions: unknown[] }).predictions.length, 1);
    } finally {
      await server.kill();
    }
  });
});
