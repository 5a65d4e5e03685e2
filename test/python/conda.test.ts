// `omaf env create` with micromamba, mamba or conda. None of them can be installed here (their channels are not
// reachable), so a stand-in shell script takes their names on PATH: it records every command line it gets, builds the
// prefix as a venv of /usr/bin/python3 with its system site-packages (Debian's numpy), or fails on demand. What is
// tested is omaf's side: which tool runs, its exact command lines, the file it is given, the pip section, failure
// reports, cleanup and the lookups; a real conda solve is not.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { chmod, copyFile, lstat, mkdir, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { omaf, omafSpawn } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, startServe } from "../helpers/serve.js";
import { buildWheel, modelDir } from "./fixtures.js";

const BASE = "/usr/bin/python3";

/**
 * The stand-in. Calls go to $FAKE_CONDA_DIR/calls, one line each, arguments separated by \x1f; the file given with -f is
 * copied to $FAKE_CONDA_DIR/env.yml. A dependency named in $FAKE_CONDA_UNAVAILABLE fails the create (after making part
 * of the prefix) and its dry-run solve; FAKE_CONDA_CONFLICT=1 fails the create while every dry run succeeds;
 * FAKE_CONDA_HANG=1 makes part of the prefix and waits.
 */
const STAND_IN = `#!/bin/sh
{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\n'; } >> "$FAKE_CONDA_DIR/calls"
prefix= file= dry= spec=
while [ $# -gt 0 ]; do
  case "$1" in
    -p) prefix=$2; shift ;;
    -f) file=$2; shift ;;
    --dry-run) dry=1 ;;
    *) spec=$1 ;;
  esac
  shift
done
name=$(printf '%s' "$spec" | sed -e 's/^[^:]*:://' -e 's/[=<>! ].*//')
if [ -n "$dry" ]; then
  for u in $FAKE_CONDA_UNAVAILABLE; do
    if [ "$name" = "$u" ]; then echo "error    libmamba nothing provides requested $spec" >&2; exit 1; fi
  done
  echo "dry run: $spec can be installed"
  exit 0
fi
cp "$file" "$FAKE_CONDA_DIR/env.yml"
mkdir -p "$prefix/conda-meta"
for u in $FAKE_CONDA_UNAVAILABLE; do
  if grep -Eq "^ *- ([^ :]*::)?$u([=<>! ]|\\$)" "$file"; then echo "error    libmamba Could not solve for environment specs" >&2; exit 1; fi
done
if [ -n "$FAKE_CONDA_CONFLICT" ]; then echo "error    libmamba Could not solve for environment specs (conflict)" >&2; exit 1; fi
if [ -n "$FAKE_CONDA_HANG" ]; then echo "solving environment"; exec sleep 60; fi
exec ${BASE} -m venv --system-site-packages "$prefix"
`;

const ENTRYPOINT = `
import numpy, omafdemo

def init():
    return 'matrix'

def predict_on_matrix(m, cols=None):
    return [[omafdemo.VALUE + int(numpy.sum(row))] for row in m], ['y']
`;
import { skipOnRepeat } from "../helpers/repeat.js";

/** A conda file: conda packages and a pip section. */
const CONDA_FILE = (conda: string[], pip: string[] = ["omafdemo==1.0"]) =>
  [
    "name: demo",
    "channels:",
    "  - conda-forge",
    "dependencies:",
    ...conda.map((c) => `  - ${c}`),
    ...(pip.length ? ["  - pip:", ...pip.map((p) => `    - ${p}`)] : []),
    "",
  ].join("\n");

interface Summary {
  created: boolean;
  key: string;
  dir: string;
  python: string;
  manager: "venv" | "conda";
  conda?: { flavor: string; exe: string };
  base?: { realPath: string };
  packages: string[];
}

interface Failure {
  error: { code: string; message: string; details: { missing: string[] } };
}

describe("conda environments (micromamba, mamba and conda stand-ins)", { skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let wheels: string;
  let bins: Record<"all" | "mamba-conda" | "conda", string>;
  let calls: string;
  const cleanups: (() => Promise<void>)[] = [];
  let caches = 0;
  const newCache = () => path.join(tmp.dir, `cache-${caches++}`);
  const offline = () => [`--pip-arg=--no-index`, `--pip-arg=--find-links=${wheels}`];
  /** The environment the CLI runs in: the stand-ins of `bin` first on PATH. */
  const envWith = (bin: string, extra: Record<string, string> = {}) => cleanEnv({ PATH: `${bin}:${process.env.PATH}`, FAKE_CONDA_DIR: calls, ...extra });
  const envCmd = (args: string[], cache: string, bin = bins.all, extra: Record<string, string> = {}) =>
    omaf(["env", ...args, "--cache-dir", cache], { env: envWith(bin, extra) });
  const recorded = async () => {
    const text = await readFile(path.join(calls, "calls"), "utf8").catch(() => "");
    await rm(path.join(calls, "calls"), { force: true });
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\x1f"));
  };
  const model = async (file: string, files: Record<string, string> = {}) => {
    const m = await modelDir(ENTRYPOINT, { "model/env.yml": file, ...files }, { conda_path: "model/env.yml" });
    cleanups.push(m.cleanup);
    return m.dir;
  };
  const envsOf = async (cache: string) => (await readdir(path.join(cache, "envs")).catch(() => [] as string[])).sort();

  before(async () => {
    tmp = await tempDir("omaf-conda-");
    wheels = path.join(tmp.dir, "wheels");
    calls = path.join(tmp.dir, "calls");
    await mkdir(wheels);
    await mkdir(calls);
    buildWheel(wheels, "omafdemo", "1.0", 40);
    const tools: Record<keyof typeof bins, string[]> = { all: ["micromamba", "mamba", "conda"], "mamba-conda": ["mamba", "conda"], conda: ["conda"] };
    bins = {} as typeof bins;
    for (const [set, names] of Object.entries(tools) as [keyof typeof bins, string[]][]) {
      bins[set] = path.join(tmp.dir, `bin-${set}`);
      await mkdir(bins[set]);
      for (const name of names) {
        await writeFile(path.join(bins[set], name), STAND_IN);
        await chmod(path.join(bins[set], name), 0o755);
      }
    }
  });
  after(async () => {
    for (const c of cleanups) await c();
    await tmp.cleanup();
  });

  let sklearnLike: string;
  let cache: string;
  let made: Summary;

  it("micromamba comes first: `create -y -p PREFIX -f FILE` with the file's conda part, then the prefix's pip installs the pip: part", async () => {
    sklearnLike = await model(CONDA_FILE(["python=3.11", "numpy=1.24", "libgcc-ng"]));
    cache = newCache();
    const r = envCmd(["create", sklearnLike, "--json", ...offline()], cache);
    assert.equal(r.code, 0, r.stderr);
    made = JSON.parse(r.stdout) as Summary;
    assert.equal(made.created, true);
    assert.equal(made.manager, "conda");
    assert.deepEqual(made.conda, { flavor: "micromamba", exe: path.join(bins.all, "micromamba") });
    assert.equal(made.base, undefined);
    assert.deepEqual(made.packages, ["numpy", "omafdemo"]);

    const [call, ...more] = await recorded();
    assert.deepEqual(more, []);
    const prefix = call[4];
    assert.deepEqual(call, ["micromamba", "create", "-y", "-p", prefix, "-f", `${prefix}.yml`]);
    assert.match(prefix, new RegExp(`^${path.join(cache, "envs")}/\\.conda-${made.key.slice(0, 16)}-\\d+-[0-9a-z]+$`));
    // The file conda gets: channels and conda packages, pip added for the pip: section, no name and no pip: section.
    assert.deepEqual(parse(await readFile(path.join(calls, "env.yml"), "utf8")), {
      channels: ["conda-forge"],
      dependencies: ["python=3.11", "numpy=1.24", "libgcc-ng", "pip"],
    });
    assert.match(r.stderr, /omaf: creating conda environment: .*micromamba create -y -p /);
    assert.match(r.stderr, /omaf: pip install: omafdemo==1\.0 \(--no-index --find-links=/);

    // <envs>/<key> is a link to the prefix, which stays where conda made it; nothing else is left.
    assert.equal(made.dir, path.join(cache, "envs", made.key));
    assert.ok((await lstat(made.dir)).isSymbolicLink());
    assert.equal(await realpath(made.dir), prefix);
    assert.deepEqual(await envsOf(cache), [path.basename(prefix), made.key].sort());
    assert.equal(execFileSync(made.python, ["-c", "import omafdemo, numpy; print(omafdemo.VALUE)"], { encoding: "utf8" }).trim(), "40");
    const record = JSON.parse(await readFile(path.join(made.dir, "omaf-env.json"), "utf8")) as Record<string, unknown>;
    assert.equal(record.manager, "conda");
    assert.deepEqual(record.condaDependencies, ["python=3.11", "numpy=1.24", "libgcc-ng", "pip"]);

    const again = envCmd(["create", sklearnLike, "--json", ...offline()], cache);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as Summary).created, false);
    assert.deepEqual(await recorded(), []);
  });

  it("env path and serve --env auto find the conda environment", async () => {
    const p = envCmd(["path", sklearnLike], cache);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, `${made.python}\n`);
    // Without the tools on PATH the environment is still found: it is looked up by the file, not by the tool.
    const plain = omaf(["env", "path", sklearnLike, "--cache-dir", cache, "--json"], { env: cleanEnv() });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((JSON.parse(plain.stdout) as Summary).manager, "conda");

    const serve = await startServe(sklearnLike, { args: ["--interfaces", "oip-rest"], env: { OMAF_CACHE_DIR: cache, OMAF_PYTHON_WORKERS: "1" } });
    try {
      assert.match(serve.stderr(), new RegExp(`python environment ${made.dir}`));
      const res = await fetch(`${serve.url("OIP")}/v2/models/test-model/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "x", shape: [2, 2], datatype: "INT64", data: [1, 2, 3, 4] }] }),
      });
      const body = (await res.json()) as { outputs: { data: number[] }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.outputs[0].data, [43, 47]);
    } finally {
      await serve.kill();
    }
  });

  it("without micromamba, mamba runs `env create -p PREFIX -f FILE`; with conda alone, conda", async () => {
    for (const [bin, tool] of [
      [bins["mamba-conda"], "mamba"],
      [bins.conda, "conda"],
    ] as const) {
      const c = newCache();
      const r = envCmd(["create", sklearnLike, "--json", ...offline()], c, bin);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as Summary).conda, { flavor: tool, exe: path.join(bin, tool) });
      const [call, ...more] = await recorded();
      assert.deepEqual(more, []);
      assert.deepEqual(call, [tool, "env", "create", "-p", call[4], "-f", `${call[4]}.yml`]);
    }
  });

  it("--conda and OMAF_CONDA choose the tool; --no-conda, OMAF_CONDA=none, --python and a requirements.txt make a venv", async () => {
    const c = newCache();
    const chosen = envCmd(["create", sklearnLike, "--json", ...offline()], c, bins.all, { OMAF_CONDA: "conda" });
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.equal((await recorded())[0][0], "conda");
    // An executable by path; its name says how to call it.
    const copy = path.join(tmp.dir, "elsewhere", "mamba-1.5");
    await mkdir(path.dirname(copy));
    await copyFile(path.join(bins.all, "mamba"), copy);
    await chmod(copy, 0o755);
    const byPath = envCmd(["create", sklearnLike, "--json", "--conda", copy, ...offline()], newCache());
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.deepEqual((JSON.parse(byPath.stdout) as Summary).conda, { flavor: "mamba", exe: copy });
    assert.deepEqual((await recorded())[0].slice(0, 3), ["mamba-1.5", "env", "create"]);
    const missing = envCmd(["create", sklearnLike, "--conda", "no-such-conda"], newCache());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /OMAF_ERR_ENV_CREATE: the conda tool 'no-such-conda' \(--conda \/ OMAF_CONDA\) is not an executable on PATH/);
    const both = envCmd(["create", sklearnLike, "--conda", "micromamba", "--python", BASE], newCache());
    assert.equal(both.code, 2);
    assert.match(both.stderr, /OMAF_ERR_USAGE: --python and --system-site-packages make a venv/);

    // A file whose conda part pip can provide offline too (numpy cannot be had here without a conda tool).
    const pipOnly = await model(CONDA_FILE(["python=3.11"]));
    const venvCache = newCache();
    for (const [args, extra] of [
      [["--no-conda"], {}],
      [[], { OMAF_CONDA: "none" }],
      [["--python", BASE], {}],
    ] as const) {
      const r = envCmd(["create", pipOnly, "--json", ...args, ...offline()], venvCache, bins.all, { ...extra, OMAF_PYTHON: BASE });
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Summary;
      assert.equal(s.manager, "venv", args.join(" "));
      assert.equal(s.base?.realPath, await realpath(BASE));
    }
    assert.deepEqual(await recorded(), []);
    // All three asked for the same venv: one was made, then reused.
    assert.equal((await envsOf(venvCache)).length, 1);

    const m = await modelDir(ENTRYPOINT, { "model/requirements.txt": "omafdemo==1.0\n" }, { dependencies: "pip" });
    cleanups.push(m.cleanup);
    const pip = envCmd(["create", m.dir, "--json", "--python", BASE, ...offline()], newCache());
    assert.equal(pip.code, 0, pip.stderr);
    assert.equal((JSON.parse(pip.stdout) as Summary).manager, "venv");
    assert.deepEqual(await recorded(), []);
  });

  it("a package the channels cannot provide: each package is solved alone, exactly that one is named, nothing is left", async () => {
    const broken = await model(CONDA_FILE(["python=3.11", "numpy=1.24", "conda-forge::not-a-conda-pkg=2.0"]));
    const c = newCache();
    const r = envCmd(["create", broken, "--json", ...offline()], c, bins.all, { FAKE_CONDA_UNAVAILABLE: "not-a-conda-pkg" });
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as Failure;
    assert.equal(error.code, "OMAF_ERR_ENV_CREATE");
    assert.deepEqual(error.details.missing, ["not-a-conda-pkg"]);
    assert.match(error.message, /micromamba could not provide not-a-conda-pkg\n.*Could not solve/);
    const [create, ...probes] = await recorded();
    const prefix = create[4];
    assert.deepEqual(
      probes,
      ["python=3.11", "numpy=1.24", "conda-forge::not-a-conda-pkg=2.0", "pip"].map((spec) => [
        "micromamba",
        "create",
        "--dry-run",
        "-y",
        "-p",
        prefix,
        "-c",
        "conda-forge",
        spec,
      ]),
    );
    assert.deepEqual(await envsOf(c), []);
  });

  it("a solve that fails although each package alone can be had is reported as a conflict", async () => {
    const c = newCache();
    const r = envCmd(["create", sklearnLike, "--json"], c, bins.all, { FAKE_CONDA_CONFLICT: "1" });
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as Failure;
    assert.deepEqual(error.details.missing, []);
    assert.match(error.message, /micromamba failed \(exit 1\); each package alone can be provided, so together they conflict/);
    assert.equal((await recorded()).length, 1 + 4);
    assert.deepEqual(await envsOf(c), []);
  });

  it("a pip: entry that cannot be had is named exactly; the conda prefix is removed", async () => {
    const broken = await model(CONDA_FILE(["python=3.11", "numpy=1.24"], ["omafdemo==1.0", "not-a-real-package-xyz==2.0"]));
    const c = newCache();
    const r = envCmd(["create", broken, "--json", ...offline()], c);
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as Failure;
    assert.deepEqual(error.details.missing, ["not-a-real-package-xyz"]);
    assert.match(error.message, /pip could not provide not-a-real-package-xyz/);
    assert.match(r.stderr, /installing one requirement at a time/);
    assert.equal((await recorded()).length, 1);
    assert.deepEqual(await envsOf(c), []);
  });

  it("Ctrl-C while the conda tool runs stops it and leaves nothing", async () => {
    const c = newCache();
    const child = omafSpawn(["env", "create", sklearnLike, "--cache-dir", c], { env: envWith(bins.all, { FAKE_CONDA_HANG: "1" }) });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (t: string) => {
      err += t;
      if (/solving environment/.test(err)) child.kill("SIGINT");
    });
    const [code] = (await once(child, "exit")) as [number | null];
    assert.notEqual(code, 0, err);
    assert.match(err, /OMAF_ERR_ENV_CREATE: interrupted/);
    assert.equal((await recorded()).length, 1);
    assert.deepEqual(await envsOf(c), []);
  });
});
