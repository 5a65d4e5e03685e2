// Runs the examples of spec/library.md, in page order, in one Node.js process and one folder that holds what they
// name: build/model (the model folder examples/train-and-pack trains), rows.csv, sklearn-model.zip (the python
// example packed). Later examples use what earlier ones made (model.zip, release.key, the detached signature), as a
// reader going down the page would. `import ... from "omaf"` resolves to this repository's source. An example marked
// `<!-- example not run: why -->` is left out.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pack } from "../src/index.js";
import { tempDir } from "./helpers/fixtures.js";
import { readLibraryDoc } from "./helpers/library-docs.js";
import { cleanEnv } from "./helpers/serve.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const TSX = import.meta.resolve("tsx");
const run = promisify(execFile);
const { examples } = readLibraryDoc();

/** Imports each example in turn; stops at the first that throws or sets a failing exit code. */
const DRIVER = `import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
for (const { file, line } of JSON.parse(process.argv[2])) {
  // The key-reading example takes a PEM from the environment, as a CI job would.
  if (existsSync("release.key")) process.env.SIGNING_KEY_PEM = readFileSync("release.key", "utf8");
  console.log("@@ start " + line);
  await import(pathToFileURL(file).href);
  if (process.exitCode) throw new Error("the example at line " + line + " set exit code " + process.exitCode);
  console.log("@@ done " + line);
}
process.exit(0); // examples may leave a served model's handles open
`;

let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = () => cleanEnv({ OMAF_CACHE_DIR: join(tmp.dir, "cache") });

before(async () => {
  tmp = await tempDir("omaf-library-docs-");
  const dir = tmp.dir;
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  // `omaf` is this repository's source; `yaml` (an example writes a manifest with it) comes with omaf.
  await mkdir(join(dir, "node_modules", "omaf"), { recursive: true });
  await writeFile(join(dir, "node_modules", "omaf", "package.json"), JSON.stringify({ name: "omaf", type: "module", exports: "./index.ts" }));
  await writeFile(join(dir, "node_modules", "omaf", "index.ts"), `export * from ${JSON.stringify(join(REPO, "src", "index.ts"))};\n`);
  await symlink(join(REPO, "node_modules", "yaml"), join(dir, "node_modules", "yaml"), "dir");

  await run(process.execPath, ["--import", TSX, join(REPO, "examples", "train-and-pack", "train.ts"), join(dir, "train"), "--json"], {
    cwd: REPO,
    env: env(),
    timeout: 120_000,
  });
  await cp(join(dir, "train", "model"), join(dir, "build", "model"), { recursive: true });
  await writeFile(join(dir, "rows.csv"), "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n");
  await pack(join(REPO, "examples", "python-sklearn"), { output: join(dir, "sklearn-model.zip") });
});
after(async () => {
  await tmp?.cleanup();
});

test("every example of spec/library.md runs, in page order", { timeout: 300_000 }, async () => {
  const runnable = examples.filter((e) => !e.notRun);
  assert.ok(runnable.length >= 30, `${runnable.length} examples to run`);
  const files = [];
  for (const e of runnable) {
    const file = join(tmp.dir, `library-md-line-${e.line}.ts`);
    await writeFile(file, `${e.code}\n`);
    files.push({ file, line: e.line });
  }
  await writeFile(join(tmp.dir, "driver.mjs"), DRIVER);
  const result = await run(process.execPath, ["--import", TSX, "driver.mjs", JSON.stringify(files)], { cwd: tmp.dir, env: env(), timeout: 240_000 }).catch(
    (err: { code?: number; stdout?: string; stderr?: string }) => {
      const started = [...(err.stdout ?? "").matchAll(/^@@ start (\d+)$/gm)].at(-1)?.[1];
      assert.fail(`the example at spec/library.md:${started} failed (exit ${err.code}):\n${err.stdout}\n${err.stderr}`);
    },
  );
  const done = [...result.stdout.matchAll(/^@@ done (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(
    done,
    runnable.map((e) => e.line),
  );
});
