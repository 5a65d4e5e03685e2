// The sklearn example's environment made for real, from PyPI: `omaf env create examples/python-sklearn` in a plain
// venv (no system site-packages, no conda), so scikit-learn 1.2.1, numpy 1.24, pandas 1.5 and what they need are
// downloaded; then `omaf serve` (--env auto, the default) and `omaf test` run the example with it. About 75 MB of
// wheels. The conda file does not pin scipy (scikit-learn's dependency), and every scipy from 1.16 on needs a newer
// numpy than the pinned 1.24, so pip would download and discard seven scipy wheels (~250 MB more) before it settles on
// 1.15; a constraints file through PIP_CONSTRAINT (pip's own variable, which omaf passes on) says so up front. The
// environment does not depend on the Node.js version, so it runs once per CI run (test/helpers/repeat.ts);
// OMAF_TEST_SKIP_PYPI=1 skips it anywhere.
import assert from "node:assert/strict";
import { once } from "node:events";
import { realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { omafSpawn } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, startServe } from "../helpers/serve.js";
import { IRIS_DIR } from "./fixtures.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const BASE = "/usr/bin/python3";
const skip = process.env.OMAF_TEST_SKIP_PYPI === "1" ? "OMAF_TEST_SKIP_PYPI=1 (another run of this suite makes it)" : skipOnRepeat;

/** Runs `omaf <args>` to its end, however long (env create downloads), with its output. */
async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = omafSpawn(args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (t: string) => (stdout += t));
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("the sklearn example's environment from PyPI", { skip, timeout: 15 * 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let cache: string;
  let env: { dir: string; python: string; manager: string; systemSitePackages: boolean; packages: string[]; versionMismatches: unknown[]; ms: number };

  before(async () => {
    tmp = await tempDir("omaf-env-pypi-");
    cache = path.join(tmp.dir, "cache");
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("env create installs the pinned scikit-learn, numpy and pandas from PyPI into a plain venv", async () => {
    const constraints = path.join(tmp.dir, "constraints.txt");
    await writeFile(constraints, "scipy<1.16\n");
    const r = await run(["env", "create", IRIS_DIR, "--python", BASE, "--no-conda", "--cache-dir", cache, "--json"], cleanEnv({ PIP_CONSTRAINT: constraints }));
    assert.equal(r.code, 0, r.stderr);
    env = JSON.parse(r.stdout) as typeof env;
    process.stderr.write(`# env create from PyPI: ${(env.ms / 1000).toFixed(1)} s\n`);
    assert.equal(env.manager, "venv");
    assert.equal(env.systemSitePackages, false);
    assert.deepEqual(env.packages, ["scikit-learn", "numpy", "pandas"]);
    assert.deepEqual(env.versionMismatches, []);
    assert.match(r.stderr, /omaf: pip install: scikit-learn==1\.2\.1\.\* numpy==1\.24\.\* pandas==1\.5\.\*/);
    // The packages are the venv's own, not Debian's.
    const where = await run(["env", "path", IRIS_DIR, "--cache-dir", cache], cleanEnv());
    assert.equal(where.stdout.trim(), env.python);
    const { execFileSync } = await import("node:child_process");
    const files = execFileSync(env.python, ["-c", "import sklearn, numpy, pandas; print(sklearn.__file__); print(numpy.__file__); print(pandas.__file__)"], {
      encoding: "utf8",
    });
    const dir = await realpath(env.dir);
    for (const file of files.trim().split("\n")) assert.ok(file.startsWith(`${dir}/lib/`), file);
  });

  it("serve --env auto predicts with it", async () => {
    const serve = await startServe(IRIS_DIR, {
      args: ["--interfaces", "oip-rest"],
      env: { OMAF_CACHE_DIR: cache, OMAF_PYTHON_WORKERS: "1" },
      timeoutMs: 120_000,
    });
    try {
      assert.match(serve.stderr(), new RegExp(`omaf: python environment ${env.dir}`));
      const res = await fetch(`${serve.url("OIP")}/v2/models/iris-sklearn/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }] }),
      });
      const body = (await res.json()) as { outputs: { name: string; data: unknown[] }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(
        body.outputs.map((o) => [o.name, o.data]),
        [["prediction", ["setosa", "virginica"]]],
      );
    } finally {
      await serve.kill();
    }
  });

  it("omaf test passes with it, head_output.pkl compared", async () => {
    const r = await run(["test", IRIS_DIR, "--json"], cleanEnv({ OMAF_CACHE_DIR: cache }));
    const report = JSON.parse(r.stdout) as { passed: boolean; steps: { step: string; status: string; detail?: string }[] };
    assert.equal(report.passed, true, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`omaf: python environment ${env.dir}`));
    assert.match(report.steps.find((s) => s.step === "deps")!.detail!, new RegExp(`importable by ${env.python}`));
    assert.equal(report.steps.find((s) => s.step === "compare")!.status, "pass");
  });
});
