// `npm install omaf` as a user does it: `npm pack` of this repository (its `prepare` script builds dist/), the
// tarball installed into an empty project with no .npmrc and none of this repository's npm settings or skip
// variables, then:
// - `npx omaf pack` of the ONNX example and `npx omaf serve` on free loopback ports, and one inference over OIP REST
//   checked against the model's own answer and the artifact's provenance;
// - every entry of the `exports` map from an ES module and from CommonJS, and internals kept out of reach;
// - `engines` against the Node.js running the test, the installed dependencies' too;
// - the examples of spec/library.md as a TypeScript consumer's code, compiled with `tsc --noEmit` against the
//   installed package's types (moduleResolution nodenext and node16, library checks on).
//
// It needs the npm registry (dependencies are fetched, or come from npm's cache). On linux x64 onnxruntime-node's
// install script tries to download CUDA libraries from outside the registry; where that fails npm drops the optional
// package, and serving an ONNX model must still work.
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import semver from "semver";
import * as api from "../../src/index.js";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { createModel } from "../../src/runtime/load.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { valuesFromData } from "../../src/tensor/values.js";
import { tempDir } from "../helpers/fixtures.js";
import { sameValues } from "../conformance/harness.js";
import { readLibraryDoc } from "../helpers/library-docs.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const IRIS = join(REPO, "examples", "iris-onnx");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";
/** The versions this repository builds with: a consumer's compiler and Node.js types (npm's cache has them). */
const installedVersion = (name: string) => (JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
const CONSUMER_TOOLS = [`typescript@${installedVersion("typescript")}`, `@types/node@${installedVersion("@types/node")}`];

/**
 * Installed dependencies whose `engines` leave out a Node.js line omaf supports, and why they work there all the same.
 * Any other mismatch fails the engines test.
 */
const ENGINES_EXCEPTIONS: Record<string, string> = {
  cookie:
    "cookie 2 (light-my-request, fastify's inject) asks for Node.js >= 22 and is an ES module that light-my-request loads with require(); Node.js 20.19 and later load ES modules with require(), and omaf's engines start at 20.20",
};

/**
 * The environment of a user's shell: none of the npm_* variables `npm test` passes down (they would carry this
 * repository's npm settings), no onnxruntime-node install switches, no omaf settings.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^ONNXRUNTIME_NODE_INSTALL/i.test(k) || k.startsWith("OMAF_") || k === "NODE_OPTIONS" || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(), encoding: "utf8", timeout: timeoutMs });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe("the packed npm package, installed into an empty project", { timeout: 600_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let project: string;

  before(async () => {
    tmp = await tempDir("omaf-packaged-");
    const packs = join(tmp.dir, "packs");
    project = join(tmp.dir, "project");
    await mkdir(packs, { recursive: true });
    run(NPM, ["pack", "--pack-destination", packs], REPO);
    const tarballs = readdirSync(packs).filter((f) => f.endsWith(".tgz"));
    assert.equal(tarballs.length, 1, `npm pack wrote ${tarballs.join(", ")}`);
    await mkdir(project, { recursive: true });
    // An ES module project, as the library's examples are written.
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "omaf-install-check", version: "1.0.0", private: true, type: "module" }));
    run(NPM, ["install", "--no-audit", "--no-fund", join(packs, tarballs[0]), ...CONSUMER_TOOLS], project);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("npx omaf pack and npx omaf serve an ONNX model; one OIP REST inference answers the model's values and provenance", async (t) => {
    t.diagnostic(`onnxruntime-node installed: ${existsSync(join(project, "node_modules", "onnxruntime-node", "package.json"))}`);
    // --no: never fetch some other package named omaf; the installed bin must be found.
    run(NPX, ["--no", "omaf", "pack", IRIS, "-o", "iris.zip"], project, 60_000);
    const zip = join(project, "iris.zip");

    const child = spawn(
      NPX,
      ["--no", "omaf", "serve", "iris.zip", "--host", "127.0.0.1", "--json", "--omi-port", "0", "--http-port", "0", "--oip-grpc-port", "0"],
      { cwd: project, env: userEnv({ OMAF_INTERFACES: "oip-rest" }), stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const exited = once(child, "exit");
    // npx runs omaf in a child of its own: stop the whole process group.
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
      await exited;
    };
    try {
      let out = "";
      let err = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
      const line = await new Promise<{ artifactDigest: string; state: string; listeners: { interface: string; port: number }[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`npx omaf serve did not start in time; stderr:\n${err}`)), 60_000);
        // The --json listening line; anything else on stdout (a runtime's notice) is passed over.
        child.stdout!.on("data", () => {
          for (const text of out.split("\n").slice(0, -1)) {
            let parsed: { event?: string } | undefined;
            try {
              parsed = JSON.parse(text) as { event?: string };
            } catch {
              continue;
            }
            if (parsed?.event !== "listening") continue;
            clearTimeout(timer);
            resolve(parsed as never);
            return;
          }
        });
        void exited.then(([code]) => {
          clearTimeout(timer);
          reject(new Error(`npx omaf serve exited (${code}) before listening; stderr:\n${err}`));
        });
      });
      const rest = line.listeners.find((l) => l.interface === "oip-rest");
      assert.ok(rest, `no OIP REST listener in ${JSON.stringify(line)}`);

      // The expected answer: the same zip, opened and run by this repository's own runtime.
      const art = await materializeArtifact(zip, { cacheDir: join(tmp.dir, "cache") });
      assert.equal(line.artifactDigest, art.artifactDigest);
      const input = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
      const model = createModel({ dir: art.dir, manifest: art.manifest, provenance: { artifactDigest: art.artifactDigest } });
      await model.load();
      let expected: Tensor[];
      try {
        expected = await model.predictTensors!([{ name: "input", datatype: "FP32", shape: [2, 4], data: Float32Array.from(input) }]);
      } finally {
        await model.close();
      }

      const res = await fetch(`http://127.0.0.1:${rest.port}/v2/models/iris-onnx/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: input }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `HTTP ${res.status}: ${text}\nserver stderr:\n${err}`);
      assert.equal(res.headers.get("x-omaf-model"), "iris-onnx");
      assert.equal(res.headers.get("x-omaf-model-version"), "1.0.0-1");
      assert.equal(res.headers.get("x-omaf-artifact-digest"), art.artifactDigest);
      const body = JSON.parse(text) as {
        model_name: string;
        parameters?: Record<string, unknown>;
        outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
      };
      assert.equal(body.model_name, "iris-onnx");
      assert.equal(body.parameters?.artifact_digest, art.artifactDigest);
      assert.equal(body.parameters?.model_version, "1.0.0-1");
      assert.deepEqual(
        body.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
        expected.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
      );
      body.outputs.forEach((o, i) => {
        const diff = sameValues(o.data.flat(Infinity), valuesFromData(expected[i].datatype, expected[i].data), o.name);
        assert.equal(diff, undefined, diff);
      });
    } finally {
      await stop();
    }
  });
  it("the exports map: import and require of omaf, its package.json and schemas; internals out of reach", async () => {
    await writeFile(
      join(project, "exports-check.cjs"),
      `const out = {};
const cjs = require("omaf");
out.requireKeys = Object.keys(cjs).sort();
out.version = require("omaf/package.json").version;
out.requiredSchema = require("omaf/schemas/provenance.schema.json").$id;
try { require("omaf/dist/index.js"); out.requireInternal = "resolved"; } catch (e) { out.requireInternal = e.code; }
(async () => {
  const esm = await import("omaf");
  out.importKeys = Object.keys(esm).sort();
  out.sameModule = esm.pack === cjs.pack && esm.OmafError === cjs.OmafError;
  out.importedSchema = (await import("omaf/schemas/odahuflow.model.schema.json", { with: { type: "json" } })).default.$id;
  try { await import("omaf/dist/cli/main.js"); out.importInternal = "resolved"; } catch (e) { out.importInternal = e.code; }
  console.log(JSON.stringify(out));
})();
`,
    );
    const out = JSON.parse(run(process.execPath, ["exports-check.cjs"], project, 60_000).stdout) as Record<string, unknown>;
    const keys = Object.keys(api).sort();
    const repo = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const schema = (name: string) => (JSON.parse(readFileSync(join(REPO, "schemas", name), "utf8")) as { $id: string }).$id;
    assert.deepEqual(out, {
      requireKeys: keys,
      version: repo.version,
      requiredSchema: schema("provenance.schema.json"),
      requireInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
      importKeys: keys,
      sameModule: true,
      importedSchema: schema("odahuflow.model.schema.json"),
      importInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });

  it("engines admits the Node.js running the test, and so do the installed dependencies'", async (t) => {
    const installed = JSON.parse(await readFile(join(project, "node_modules", "omaf", "package.json"), "utf8")) as { engines?: { node?: string } };
    const range = installed.engines?.node;
    assert.ok(range && semver.validRange(range), `engines.node: ${range}`);
    assert.ok(semver.satisfies(process.version, range), `Node.js ${process.version} is outside omaf's engines ${range}`);
    // Everything npm installed for omaf, however deep.
    const deps = JSON.parse(run(NPM, ["query", "#omaf *"], project, 60_000).stdout) as { name: string; version: string; engines?: { node?: string } }[];
    assert.ok(deps.length > 20, `npm query found ${deps.length} dependencies`);
    const refused = deps.filter((d) => d.engines?.node && !semver.satisfies(process.version, d.engines.node, { includePrerelease: true }));
    for (const d of refused.filter((d) => ENGINES_EXCEPTIONS[d.name]))
      t.diagnostic(`${d.name}@${d.version} (${d.engines?.node}): ${ENGINES_EXCEPTIONS[d.name]}`);
    const unexplained = refused.filter((d) => !ENGINES_EXCEPTIONS[d.name]).map((d) => `${d.name}@${d.version} (${d.engines?.node})`);
    assert.deepEqual(unexplained, [], `dependencies whose engines leave out Node.js ${process.version}`);
  });

  it("the examples of spec/library.md compile against the installed package's types (nodenext and node16)", async () => {
    const { examples } = readLibraryDoc();
    const dir = join(project, "consumer");
    await mkdir(dir, { recursive: true });
    for (const e of examples) await writeFile(join(dir, `library-md-line-${e.line}.ts`), `${e.code}\n`);
    // Library checks on: the package's declarations must compile for a consumer, with only its own dependencies.
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        include: ["consumer/*.ts"],
      }),
    );
    for (const resolution of ["nodenext", "node16"]) {
      const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
      const r = spawnSync(process.execPath, [tsc, "-p", ".", "--module", resolution, "--moduleResolution", resolution], {
        cwd: project,
        env: userEnv(),
        encoding: "utf8",
        timeout: 180_000,
      });
      assert.equal(r.status, 0, `tsc --moduleResolution ${resolution} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    }
  });
});
