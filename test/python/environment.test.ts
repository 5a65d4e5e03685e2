// `omaf env create|path` and `omaf serve --env`: real venvs made by /usr/bin/python3 under a temp cache, offline,
// from a wheel built here (pip --no-index --find-links).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { omaf, omafSpawn } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, startServe } from "../helpers/serve.js";
import { buildWheel, modelDir } from "./fixtures.js";

const BASE = "/usr/bin/python3";

const ENTRYPOINT = `
import omafdemo

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    return [[omafdemo.VALUE + row[0]] for row in m], ['y']
`;
import { skipOnRepeat } from "../helpers/repeat.js";

const CONDA = (pip: string[]) => ["name: demo", "dependencies:", "  - python=3.11", "  - pip", "  - pip:", ...pip.map((p) => `    - ${p}`), ""].join("\n");

interface Summary {
  created: boolean;
  key: string;
  dir: string;
  python: string;
  base: { realPath: string; version: string };
  file: string;
  kind: string;
  packages: string[];
}

describe("python environments from the artifact", { skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let wheels: string;
  let cache: string;
  const cleanups: (() => Promise<void>)[] = [];
  const offline = () => ["--python", BASE, "--pip-arg=--no-index", `--pip-arg=--find-links=${wheels}`];
  const envCmd = (args: string[], cacheDir = cache) => omaf(["env", ...args, "--cache-dir", cacheDir], { env: cleanEnv() });

  before(async () => {
    tmp = await tempDir("omaf-env-");
    wheels = path.join(tmp.dir, "wheels");
    cache = path.join(tmp.dir, "cache");
    await mkdir(wheels);
    buildWheel(wheels, "omafdemo", "1.0", 40);
  });
  after(async () => {
    for (const c of cleanups) await c();
    await tmp.cleanup();
  });

  const model = async (pip: string[], extra: Record<string, string> = {}) => {
    const m = await modelDir(ENTRYPOINT, { "model/env.yml": CONDA(pip), ...extra }, { conda_path: "model/env.yml" });
    cleanups.push(m.cleanup);
    return m.dir;
  };

  let created: Summary;
  let modelFolder: string;

  it("env create builds a keyed venv from the conda file's pip section, and reuses it", async () => {
    modelFolder = await model(["omafdemo==1.0"]);
    const first = envCmd(["create", modelFolder, "--json", ...offline()]);
    assert.equal(first.code, 0, first.stderr);
    created = JSON.parse(first.stdout) as Summary;
    assert.equal(created.created, true);
    assert.equal(created.kind, "conda");
    assert.equal(created.file, "model/env.yml");
    assert.deepEqual(created.packages, ["omafdemo"]);
    assert.match(created.key, /^[0-9a-f]{64}$/);
    assert.equal(created.dir, path.join(cache, "envs", created.key));
    assert.equal(created.python, path.join(created.dir, "bin", "python"));
    assert.match(first.stderr, /omaf: creating venv from .*python3/);
    assert.match(first.stderr, /omaf: pip install: omafdemo==1\.0 \(--no-index --find-links=/);
    // The venv's interpreter imports the package; the base interpreter does not have it.
    assert.equal(execFileSync(created.python, ["-c", "import omafdemo; print(omafdemo.VALUE)"], { encoding: "utf8" }).trim(), "40");
    assert.throws(() => execFileSync(BASE, ["-c", "import omafdemo"], { stdio: "ignore" }));
    // No script in bin/ (nor pyvenv.cfg) still names the temp folder the venv was made in.
    for (const name of [...(await readdir(path.join(created.dir, "bin"))).map((n) => `bin/${n}`), "pyvenv.cfg"]) {
      const text = await readFile(path.join(created.dir, name), "latin1").catch(() => "");
      assert.doesNotMatch(text, /\.tmp-/, name);
    }
    assert.ok((await readFile(path.join(created.dir, "bin", "activate"), "utf8")).includes(`VIRTUAL_ENV=${created.dir}`), "activate names the final folder");
    assert.deepEqual(
      (await readdir(path.join(cache, "envs"))).filter((n) => n.startsWith(".tmp")),
      [],
    );

    const second = envCmd(["create", modelFolder, "--json", ...offline()]);
    assert.equal(second.code, 0, second.stderr);
    const again = JSON.parse(second.stdout) as Summary;
    assert.equal(again.created, false);
    assert.equal(again.key, created.key);
    assert.match(second.stderr, /exists/);
    assert.doesNotMatch(second.stderr, /pip install/);
  });

  it("another environment file gets another key", async () => {
    const other = await model(["omafdemo>=1.0"]);
    const r = envCmd(["path", other, "--python", BASE]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OMAF_ERR_ENV_MISSING: no environment for model\/env\.yml on .* at .*envs\/[0-9a-f]{64}; run: omaf env create/);
    assert.doesNotMatch(r.stderr, new RegExp(created.key));
  });

  it("env path prints the interpreter of a created environment", () => {
    const r = envCmd(["path", modelFolder, "--python", BASE]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${created.python}\n`);
  });

  it("a package pip cannot provide fails with OMAF_ERR_ENV_CREATE naming exactly it, leaving nothing behind", async () => {
    const broken = await model(["omafdemo==1.0", "not-a-real-package-xyz==2.0"]);
    const failCache = path.join(tmp.dir, "fail-cache");
    const r = envCmd(["create", broken, "--json", ...offline()], failCache);
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; details: { missing: string[] } } };
    assert.equal(error.code, "OMAF_ERR_ENV_CREATE");
    assert.deepEqual(error.details.missing, ["not-a-real-package-xyz"]);
    assert.match(error.message, /pip could not provide not-a-real-package-xyz/);
    assert.deepEqual(await readdir(path.join(failCache, "envs")), []);
    const p = envCmd(["path", broken, "--python", BASE], failCache);
    assert.equal(p.code, 1);
  });

  it("Ctrl-C during the creation leaves no half-made folder", async () => {
    const slow = await model(["omafdemo==1.0"]);
    const intCache = path.join(tmp.dir, "int-cache");
    const child = omafSpawn(["env", "create", slow, "--cache-dir", intCache, ...offline()], { env: cleanEnv() });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (t: string) => {
      err += t;
      if (/creating venv/.test(err)) child.kill("SIGINT");
    });
    const [code] = (await once(child, "exit")) as [number | null];
    assert.notEqual(code, 0, err);
    assert.match(err, /OMAF_ERR_ENV_CREATE: interrupted/);
    assert.deepEqual(existsSync(path.join(intCache, "envs")) ? await readdir(path.join(intCache, "envs")) : [], []);
  });

  it("binaries.dependencies: pip installs requirements.txt from the workDir", async () => {
    const m = await modelDir(ENTRYPOINT, { "model/requirements.txt": "# the demo package\nomafdemo==1.0\n" }, { dependencies: "pip" });
    cleanups.push(m.cleanup);
    const r = envCmd(["create", m.dir, "--json", ...offline()]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary;
    assert.equal(s.kind, "pip");
    assert.equal(s.file, "model/requirements.txt");
    assert.deepEqual(s.packages, ["omafdemo"]);
    assert.notEqual(s.key, created.key);
  });

  it("serve --env auto (the default) runs the model with the created environment", async () => {
    // Whatever python3 on PATH is: the environment is looked up by the artifact's environment file.
    const env = { OMAF_CACHE_DIR: cache, OMAF_PYTHON_WORKERS: "1" };
    const serve = await startServe(modelFolder, { args: ["--interfaces", "oip-rest"], env });
    try {
      assert.match(serve.stderr(), new RegExp(`python environment ${created.dir}`));
      const res = await fetch(`${serve.url("OIP")}/v2/models/test-model/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "x", shape: [2, 1], datatype: "INT64", data: [1, 2] }] }),
      });
      const body = (await res.json()) as { outputs: { data: number[] }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.outputs[0].data, [41, 42]);
    } finally {
      await serve.kill();
    }
  });

  it("serve --env current keeps the plain interpreter, which lacks the package", async () => {
    const env = { OMAF_CACHE_DIR: cache, OMAF_PYTHON_WORKERS: "1", OMAF_PYTHON: BASE };
    const serve = await startServe(modelFolder, { args: ["--interfaces", "oip-rest", "--env", "current"], env });
    try {
      assert.match(serve.stderr(), /OMAF_ERR_PYTHON_DEPENDENCY: .*cannot import omafdemo/);
    } finally {
      await serve.kill();
    }
  });

  it("serve --env <venv folder> uses that venv, and a missing path is OMAF_ERR_ENV_MISSING", async () => {
    const serve = await startServe(modelFolder, {
      args: ["--interfaces", "oip-rest", "--env", created.dir],
      env: { OMAF_CACHE_DIR: path.join(tmp.dir, "unused"), OMAF_PYTHON_WORKERS: "1" },
    });
    try {
      const res = await fetch(`${serve.url("OIP")}/v2/models/test-model/ready`);
      assert.equal(res.status, 200, serve.stderr());
    } finally {
      await serve.kill();
    }
    const r = omaf(["serve", modelFolder, "--env", path.join(tmp.dir, "nope")], { env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OMAF_ERR_ENV_MISSING: --env .*nope: no such interpreter or environment folder/);
  });

  it("serve --env create makes the environment when it is missing", async () => {
    const m = await modelDir(ENTRYPOINT, { "model/env.yml": CONDA(["omafdemo>=0.9"]) }, { conda_path: "model/env.yml" });
    cleanups.push(m.cleanup);
    const env = {
      OMAF_CACHE_DIR: cache,
      OMAF_PYTHON_WORKERS: "1",
      OMAF_PYTHON: BASE,
      PIP_NO_INDEX: "1",
      PIP_FIND_LINKS: wheels,
    };
    const serve = await startServe(m.dir, { args: ["--interfaces", "oip-rest", "--env", "create"], env, timeoutMs: 120_000 });
    try {
      assert.match(serve.stderr(), /omaf: created .*envs\/[0-9a-f]{64}/);
      const res = await fetch(`${serve.url("OIP")}/v2/models/test-model/ready`);
      assert.equal(res.status, 200, serve.stderr());
    } finally {
      await serve.kill();
    }
  });

  it("env create refuses a model that is not python", async () => {
    const dir = path.join(tmp.dir, "node-model");
    await mkdir(dir);
    await writeFile(path.join(dir, "m.js"), "export function init() { return 'matrix' }\nexport function predict_on_matrix(m) { return [m, null] }\n");
    await writeFile(
      path.join(dir, "odahuflow.model.yaml"),
      JSON.stringify({
        binaries: { type: "node", dependencies: "none" },
        model: { name: "n", version: "1.0.0-1", workDir: ".", entrypoint: "m.js" },
        odahuflowVersion: "1.0",
        toolchain: { name: "t", version: "1.0.0" },
      }),
    );
    const r = envCmd(["create", dir, ...offline()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OMAF_ERR_ENV_CREATE: only python models have a Python environment/);
    await rm(dir, { recursive: true });
  });

  it("env path and serve --env auto take the newest environment of the file on any interpreter; --python, OMAF_PYTHON and --system-site-packages ask for one", async () => {
    const r = envCmd(["create", modelFolder, "--json", "--system-site-packages", ...offline()]);
    assert.equal(r.code, 0, r.stderr);
    const newer = JSON.parse(r.stdout) as Summary;
    assert.notEqual(newer.key, created.key);
    const path1 = (args: string[], env: Record<string, string> = {}) => {
      const p = omaf(["env", "path", modelFolder, "--cache-dir", cache, ...args], { env: cleanEnv(env) });
      assert.equal(p.code, 0, p.stderr);
      return p.stdout.trim();
    };
    assert.equal(path1([]), newer.python);
    assert.equal(path1(["--python", BASE]), created.python);
    assert.equal(path1([], { OMAF_PYTHON: BASE }), created.python);
    assert.equal(path1(["--system-site-packages", "--python", BASE]), newer.python);

    const serve = await startServe(modelFolder, { args: ["--interfaces", "oip-rest"], env: { OMAF_CACHE_DIR: cache, OMAF_PYTHON_WORKERS: "1" } });
    try {
      assert.match(serve.stderr(), new RegExp(`python environment ${newer.dir}`));
    } finally {
      await serve.kill();
    }
    // omaf test picks it the same way (--env, else OMAF_ENV, else auto); --env current keeps the plain interpreter.
    const test = omaf(["test", modelFolder, "--json"], { env: cleanEnv({ OMAF_CACHE_DIR: cache }) });
    assert.equal(test.code, 0, test.stdout + test.stderr);
    assert.match(test.stderr, new RegExp(`omaf: python environment ${newer.dir}`));
    const current = omaf(["test", modelFolder, "--json", "--env", "current"], { env: cleanEnv({ OMAF_CACHE_DIR: cache, OMAF_PYTHON: BASE }) });
    assert.equal(current.code, 1);
    assert.equal((JSON.parse(current.stdout) as { steps: { step: string; error?: { code: string } }[] }).steps[1].error?.code, "OMAF_ERR_PYTHON_DEPENDENCY");

    await rm(newer.dir, { recursive: true });
    assert.equal(path1([]), created.python);
  });
});
