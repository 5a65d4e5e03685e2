// What `npm publish` would ship: `npm pack --dry-run --json` of the built tree, judged against rules — only the
// runtime (dist/ without source maps, the schemas, the specs with the protos, the Python and Java workers) and the
// README; no tests, benchmarks, examples, scripts or sources; every `exports`, `bin`, `main` and `types` target
// present; no build output left over from a source file that no longer exists. It needs the build (`npm test` runs
// it first); installing the tarball is test/install/packaged.test.ts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import semver from "semver";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

interface PackageJson {
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  engines: { node: string };
}
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as PackageJson;

// --ignore-scripts: list the tree as built, without rebuilding it under the other suites' feet.
const [packed] = JSON.parse(
  execFileSync(NPM, ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, npm_config_loglevel: "silent" },
  }),
) as [{ files: { path: string; size: number }[]; unpackedSize: number }];
const files = packed.files.map((f) => f.path).sort();

/** Where each shipped file may come from. */
const ALLOWED: RegExp[] = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE(\.md|\.txt)?$/,
  /^dist\/.+\.(js|d\.ts)$/,
  /^schemas\/[^/]+\.schema\.json$/,
  /^spec\/[^/]+\.(md|proto)$/,
  /^python\/[^/]+\.py$/,
  /^java\/[^/]+\.java$/,
];

test("the package holds only the runtime, its schemas, specs and README", () => {
  const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
  assert.deepEqual(stray, [], `files no rule allows in the package: ${stray.join(", ")}`);
  for (const banned of [/^test\//, /^bench\//, /^examples\//, /^scripts\//, /^src\//, /\.map$/, /\.tsbuildinfo$/, /\.test\./, /__pycache__|\.pyc$/]) {
    const hits = files.filter((f) => banned.test(f));
    assert.deepEqual(hits, [], `${banned} must not be packed: ${hits.join(", ")}`);
  }
  assert.ok(packed.unpackedSize < 3 * 1024 * 1024, `unpacked size ${packed.unpackedSize} bytes`);
});

test("every exports, bin, main and types target is in the package", () => {
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  for (const [key, value] of Object.entries(pkg.exports)) {
    for (const target of typeof value === "string" ? [value] : Object.values(value)) {
      if (!target.includes("*")) {
        targets.push(target);
        continue;
      }
      // A subpath pattern: every file it maps in the repository must ship, and it must map at least one.
      const [prefix, suffix] = target.replace(/^\.\//, "").split("*");
      const matching = files.filter((f) => f.startsWith(prefix) && f.endsWith(suffix));
      assert.ok(matching.length > 0, `exports["${key}"] (${target}) matches no packed file`);
      const dir = prefix.replace(/\/$/, "");
      const inRepo = readdirSync(join(REPO, dir)).map((f) => `${dir}/${f}`);
      assert.deepEqual(matching, inRepo.filter((f) => f.endsWith(suffix)).sort(), `exports["${key}"] ships all of ${dir}/`);
    }
  }
  const missing = targets.map((t) => t.replace(/^\.\//, "")).filter((t) => !files.includes(t));
  assert.deepEqual(missing, [], `targets missing from the package: ${missing.join(", ")}`);
  assert.ok(semver.validRange(pkg.engines.node), `engines.node ${pkg.engines.node} is not a semver range`);
});

test("dist/ in the package is exactly the build of src/: nothing stale, nothing missing", () => {
  const sources: string[] = [];
  (function walk(dir: string) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) sources.push(relative(join(REPO, "src"), path).split("\\").join("/"));
    }
  })(join(REPO, "src"));
  const expected = sources.flatMap((s) => [`dist/${s.replace(/\.ts$/, ".js")}`, `dist/${s.replace(/\.ts$/, ".d.ts")}`]).sort();
  const built = files.filter((f) => f.startsWith("dist/"));
  const stale = built.filter((f) => !expected.includes(f));
  const missing = expected.filter((f) => !built.includes(f));
  const hint = "rebuild from clean: rm -rf dist && npm run build";
  assert.deepEqual(stale, [], `build output without a source in src/ (${hint}): ${stale.join(", ")}`);
  assert.deepEqual(missing, [], `sources without build output (${hint}): ${missing.join(", ")}`);
});
