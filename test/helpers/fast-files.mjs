// Prints the test files of `npm run test:fast`: every test/**/*.test.ts except the slow suites below, which only
// the full `npm test` runs. New test files join the fast run unless they are listed here.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SLOW = [
  /^archive\/zip64\.test\.ts$/, // writes and reads 4 GiB archives
  /^conformance\//, // every protocol × every environment, real servers and Python clients
  /^python\//, // Python worker processes with scikit-learn; venvs made by omaf env create
  /^python\/env-pypi\.test\.ts$/, // downloads scikit-learn, numpy and pandas from PyPI (.ci/run: once, OMAF_TEST_SKIP_PYPI)
  /^java\//, // JVM worker processes, JARs built with javac
  /^install\/packaged\.test\.ts$/, // npm pack and npm install from the registry
  /^http\/docs-browser\.test\.ts$/, // headless Chromium driving the docs page
];

const root = fileURLToPath(new URL("..", import.meta.url));
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith(".test.ts")) files.push(relative(root, path).split("\\").join("/"));
  }
})(root);
console.log(
  files
    .filter((f) => !SLOW.some((re) => re.test(f)))
    .sort()
    .map((f) => `test/${f}`)
    .join("\n"),
);
