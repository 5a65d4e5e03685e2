// A command loads only what it uses: `omaf --version` needs package.json alone, `omaf validate` and `omaf
// inspect` the manifest parser and validator, yaml and the ZIP reader — none of them the serving stack (fastify,
// gRPC, pino, prom-client, onnxruntime), archiver, tar or the progress bar. Every module file the CLI process loads is
// recorded by test/cli/load-log.mjs (ES modules as they resolve, CommonJS files from require's cache at exit),
// preloaded through NODE_OPTIONS. `omaf validate` of a folder loading ignore (which a ZIP does not need) and `omaf pack`
// loading omaf's writing modules show that the recording sees what a command loads. `omaf serve` loads OpenTelemetry
// only with tracing on, and Swagger UI's files only when the docs page is asked for.
// How long a start takes is measured by bench/cli-start.ts, not here.
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { omaf, omafSpawn } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cleanEnv, FREE_PORT_ARGS } from "../helpers/serve.js";

const PRELOAD = fileURLToPath(new URL("./load-log.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = path.join(ROOT, "examples", "node-matrix");
const { version } = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };

/** What runs the CLI from source in these tests, not what the CLI loads. */
const TOOLCHAIN = new Set(["tsx", "esbuild", "get-tsconfig", "resolve-pkg-maps"]);

/** Packages a command that serves nothing and writes no archive must not load. */
const NOT_FOR_READING = [
  /^fastify$/,
  /^@fastify\//,
  /^@grpc\//,
  /^grpc-health-check$/,
  /^pino/,
  /^prom-client$/,
  /^onnxruntime-/,
  /^archiver/,
  /^tar$/,
  /^cli-progress$/,
];

interface Loaded {
  /** Packages under node_modules, by name (`@scope/name`). */
  packages: Set<string>;
  /** omaf's own modules, as paths under src/ (e.g. `cli/main.ts`). */
  modules: Set<string>;
  /** Every file URL, for messages. */
  urls: string[];
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let runs = 0;

/** Runs `omaf <args>`, expecting `code`; answers what the process loaded and what it printed. */
async function loadedBy(args: string[], code = 0): Promise<Loaded & { stdout: string }> {
  const log = path.join(tmp.dir, `load-${runs++}.log`);
  const r = omaf(args, { cwd: tmp.dir, env: { NODE_OPTIONS: `--import=${PRELOAD}`, OMAF_TEST_RESOLVE_LOG: log } });
  assert.equal(r.code, code, `omaf ${args.join(" ")} exited with ${r.code}:\n${r.stderr}`);
  const loaded = await readLoadLog(log);
  assert.ok(loaded.modules.has("cli/main.ts"), `the recording saw no omaf module:\n${loaded.urls.slice(0, 10).join("\n")}`);
  return { ...loaded, stdout: r.stdout };
}

/** Reads a load log into what was loaded (see loadedBy). */
async function readLoadLog(log: string): Promise<Loaded> {
  const urls = [...new Set((await readFile(log, "utf8")).split("\n").filter((u) => u.startsWith("file:")))].map((u) => u.replace(/\?.*$/, ""));
  await rm(log);
  const packages = new Set<string>();
  const modules = new Set<string>();
  for (const u of urls) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (pkg) {
      if (!TOOLCHAIN.has(pkg[1])) packages.add(pkg[1]);
      continue;
    }
    const file = fileURLToPath(u);
    if (file.startsWith(path.join(ROOT, "src") + path.sep)) modules.add(path.relative(path.join(ROOT, "src"), file).split(path.sep).join("/"));
  }
  return { packages, modules, urls };
}

/**
 * Runs `omaf serve <args>` on free loopback ports until it is serving, then (after `whileServing`) stops it with
 * SIGTERM; answers what the process loaded.
 */
async function loadedByServe(args: string[], whileServing: (stderr: string) => Promise<void> = async () => {}): Promise<Loaded> {
  const log = path.join(tmp.dir, `load-${runs++}.log`);
  const child = omafSpawn(["serve", ...args, "--host", "127.0.0.1", ...FREE_PORT_ARGS], {
    cwd: tmp.dir,
    env: cleanEnv({ NODE_OPTIONS: `--import=${PRELOAD}`, OMAF_TEST_RESOLVE_LOG: log, OMAF_CACHE_DIR: path.join(tmp.dir, "cache") }),
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = once(child, "exit");
  while (!/omaf: serving /.test(stderr)) {
    if (child.exitCode !== null) assert.fail(`omaf serve exited (${child.exitCode}):\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await whileServing(stderr);
  } finally {
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  }
  return readLoadLog(log);
}

const sorted = (s: Set<string>) => [...s].sort();

function assertNone(loaded: Loaded, forbidden: RegExp[], what: string): void {
  const hits = sorted(loaded.packages).filter((p) => forbidden.some((re) => re.test(p)));
  assert.deepEqual(
    hits,
    [],
    `${what} loaded ${hits.join(", ")}:\n${loaded.urls.filter((u) => hits.some((h) => u.includes(`/node_modules/${h}/`))).join("\n")}`,
  );
}

describe("each command loads only what it uses", () => {
  let zip: string;
  before(async () => {
    tmp = await tempDir("omaf-start-loads-");
    zip = path.join(tmp.dir, "node-matrix.zip");
    // Also a control: packing loads omaf's writing modules, which the reading commands below must not load.
    const packed = await loadedBy(["pack", EXAMPLE, "-o", zip, "--no-progress"]);
    assert.ok(packed.modules.has("artifact/pack.ts"), `omaf pack loaded no artifact/pack.ts: ${sorted(packed.modules).join(", ")}`);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("omaf --version loads omaf's version and no package, not even commander", async () => {
    for (const flag of ["--version", "-V"]) {
      const loaded = await loadedBy([flag]);
      assert.equal(loaded.stdout, `${version}\n`);
      assert.deepEqual(sorted(loaded.packages), []);
      assert.deepEqual(sorted(loaded.modules), ["cli/main.ts", "version.ts"]);
    }
    // With anything after it, commander answers it (the same line), still without any command's definition.
    const loaded = await loadedBy(["--version", "validate"]);
    assert.equal(loaded.stdout, `${version}\n`);
    assert.deepEqual(sorted(loaded.packages), ["commander"]);
    assert.deepEqual(sorted(loaded.modules), ["cli/main.ts", "version.ts"]);
  });

  it("omaf --help defines every command without loading what their actions use", async () => {
    const loaded = await loadedBy(["--help"]);
    for (const command of ["pack", "validate", "inspect", "unpack", "serve", "test", "predict", "image"])
      assert.match(loaded.stdout, new RegExp(`^  ${command} \\[options\\]`, "m"));
    assert.deepEqual(sorted(loaded.packages), ["commander"]);
    // The definitions name settings (serve's flags) and limits (unpack's defaults) in their help text; nothing else.
    const library = sorted(loaded.modules).filter((m) => !m.startsWith("cli/") && !["version.ts", "errors.ts", "settings.ts", "archive/limits.ts"].includes(m));
    assert.deepEqual(library, [], "omaf --help loaded library modules that only the commands' actions use");
  });

  it("omaf validate and inspect of a ZIP load yaml, the ZIP reader and the validator, not the serving or writing stack", async () => {
    for (const args of [
      ["validate", zip],
      ["validate", "--json", zip],
      ["inspect", zip],
    ]) {
      const loaded = await loadedBy(args);
      const what = `omaf ${args.join(" ")}`;
      for (const needed of ["yaml", "yauzl"]) assert.ok(loaded.packages.has(needed), `${what} loaded no ${needed}`);
      // yaml's own files are CommonJS required by yaml: seen only through require's cache.
      assert.ok(
        loaded.urls.some((u) => u.includes("/node_modules/yaml/dist/compose/")),
        `${what}: the recording missed the CommonJS files yaml requires`,
      );
      assertNone(loaded, [...NOT_FOR_READING, /^ignore$/], what);
      // semver's one function, not its index (which loads all of semver).
      assert.ok(!loaded.urls.some((u) => u.endsWith("/node_modules/semver/index.js")), `${what} loaded semver's index`);
      const serving = sorted(loaded.modules).filter((m) => /^(server|dataplane|protocols|runtime|tensor)\//.test(m) || m === "artifact/pack.ts");
      assert.deepEqual(serving, [], `${what} loaded omaf's serving or packing modules`);
    }
  });

  it("omaf validate of a folder loads no serving or writing stack either", async () => {
    const loaded = await loadedBy(["validate", EXAMPLE]);
    assertNone(loaded, NOT_FOR_READING, "omaf validate <folder>");
    // ignore, which the ZIP case above must not load, is seen here: the recording sees the packages a command loads.
    for (const needed of ["yaml", "ignore"]) assert.ok(loaded.packages.has(needed), `omaf validate <folder> loaded no ${needed}`);
  });

  it("omaf serve loads OpenTelemetry only with --otlp-endpoint, and Swagger UI's files only when asked for", async () => {
    const off = await loadedByServe([EXAMPLE, "--interfaces", "oip-rest", "--node-in-process"]);
    assert.ok(off.packages.has("fastify"), "the recording saw omaf serve's own packages");
    // prom-client loads OpenTelemetry's API package itself (for exemplars); the SDK, exporter and propagator are tracing's.
    assertNone(off, [/^@opentelemetry\/(?!api$)/], "omaf serve without --otlp-endpoint");
    assert.ok(!off.modules.has("server/tracing.ts"), "omaf serve without --otlp-endpoint loaded server/tracing.ts");
    assert.ok(!off.urls.some((u) => u.includes("/node_modules/swagger-ui-dist/")), "omaf serve read Swagger UI's files unasked");
    // With tracing on (a collector that is not there does not stop the server).
    const on = await loadedByServe([EXAMPLE, "--interfaces", "oip-rest", "--node-in-process", "--otlp-endpoint", "http://127.0.0.1:9"]);
    for (const needed of ["@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/core"])
      assert.ok(on.packages.has(needed), `omaf serve --otlp-endpoint loaded no ${needed}`);
    assert.ok(on.modules.has("server/tracing.ts"));
  });

  it("an invalid artifact is reported the same way (exit 1) and still loads nothing more", async () => {
    const loaded = await loadedBy(["validate", path.join(ROOT, "package.json")], 1);
    assertNone(loaded, NOT_FOR_READING, "omaf validate <not an archive>");
  });
});
