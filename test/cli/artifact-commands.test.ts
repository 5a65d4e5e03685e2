import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { omaf, omafSpawn } from "../helpers/cli.js";
import { stringify } from "yaml";
import { craftZip } from "../archive/craft.js";
import { seedFolder, seedManifest, tempDir } from "../helpers/fixtures.js";

test("validate: a valid folder exits 0 and says so", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await seedFolder(dir);
  const r = omaf(["validate", model]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: valid/);
});

test("validate: every issue is listed, exit 1, and --json gives them with codes", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const manifest: any = seedManifest();
  manifest.model.name = "wine quality";
  manifest.model.workDir = "nowhere";
  manifest.odahuflowVersion = 1;
  const model = await seedFolder(dir, { manifest });
  const human = omaf(["validate", model]);
  assert.equal(human.code, 1);
  for (const code of ["OMAF_ERR_MODEL_NAME", "OMAF_ERR_WORKDIR", "OMAF_ERR_ODAHUFLOW_VERSION"]) assert.match(human.stdout, new RegExp(code));
  const json = omaf(["validate", "--json", model]);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout);
  assert.equal(report.valid, false);
  assert.deepEqual(report.issues.map((i: any) => i.code).sort(), ["OMAF_ERR_MODEL_NAME", "OMAF_ERR_ODAHUFLOW_VERSION", "OMAF_ERR_WORKDIR"]);
  for (const i of report.issues) assert.deepEqual(Object.keys(i).sort(), ["code", "message", "path", "severity"]);
});

test("validate: sample paths must name files in the artifact (OMAF_ERR_SAMPLE_PATH), in a folder and in a zip", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const manifest: any = seedManifest();
  manifest.sample = { input: "samples/in.csv", output: "samples/out.json" };
  const model = await seedFolder(dir, { manifest, files: { "samples/in.csv": "a,b\n1,2\n" } });
  const folder = omaf(["validate", "--json", model]);
  assert.equal(folder.code, 1, folder.stderr);
  assert.deepEqual(
    JSON.parse(folder.stdout).issues.map((i: any) => [i.code, i.path, i.message]),
    [["OMAF_ERR_SAMPLE_PATH", "sample.output", 'sample.output "samples/out.json" is not a file in the artifact']],
  );
  // pack refuses it too; once the file is there the folder packs, and the zip validates.
  const zip = path.join(dir, "m.zip");
  assert.equal(omaf(["pack", model, "-o", zip]).code, 1);
  await writeFile(path.join(model, "samples", "out.json"), '{"prediction": [[0]]}');
  assert.equal(omaf(["pack", model, "-o", zip]).code, 0);
  assert.equal(omaf(["validate", zip]).code, 0);
});

test("validate: a missing path exits 2 with OMAF_ERR_NOT_FOUND; a non-archive file exits 1 with OMAF_ERR_ARCHIVE_FORMAT", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const missing = omaf(["validate", path.join(dir, "nope.zip")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /OMAF_ERR_NOT_FOUND/);
  const text = path.join(dir, "notes.zip");
  await writeFile(text, "just text, not a zip");
  const bad = omaf(["validate", "--json", text]);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stdout).error.code, "OMAF_ERR_ARCHIVE_FORMAT");
});

test("validate: a folder without manifest reports OMAF_ERR_MANIFEST_MISSING", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const r = omaf(["validate", "--json", dir]);
  assert.equal(r.code, 1);
  assert.deepEqual(
    JSON.parse(r.stdout).issues.map((i: any) => i.code),
    ["OMAF_ERR_MANIFEST_MISSING"],
  );
});

test("pack → validate → inspect → unpack round trip through the CLI", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const model = await seedFolder(dir);

  const packed = omaf(["pack", "--json", model], { cwd: dir });
  assert.equal(packed.code, 0, packed.stderr);
  const result = JSON.parse(packed.stdout);
  const zip = path.join(dir, "wine-quality-1.0.0-12333122.zip");
  assert.equal(result.output, zip, "default name is {name}-{version}.zip in the current folder");
  assert.match(result.artifactDigest, /^sha256:[0-9a-f]{64}$/);
  execFileSync("unzip", ["-tq", zip]);

  assert.equal(omaf(["validate", zip]).code, 0);

  const inspected = JSON.parse(omaf(["inspect", "--json", zip]).stdout);
  assert.equal(inspected.artifactDigest, result.artifactDigest);
  assert.equal(inspected.manifest.model.name, "wine-quality");
  const entry = inspected.files.find((f: any) => f.path === "mlflow/model/data/weights.bin");
  assert.equal(entry.size, 4096);
  assert.match(entry.sha256, /^[0-9a-f]{64}$/);
  const human = omaf(["inspect", zip]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(result.artifactDigest));
  assert.match(human.stdout, /mlflow\/model\/entrypoint\.py/);

  const out = path.join(dir, "out");
  const unpacked = omaf(["unpack", "--json", zip, "-d", out]);
  assert.equal(unpacked.code, 0, unpacked.stderr);
  assert.equal(JSON.parse(unpacked.stdout).artifactDigest, result.artifactDigest);
  assert.deepEqual(await readFile(path.join(out, "mlflow/model/entrypoint.py")), await readFile(path.join(model, "mlflow/model/entrypoint.py")));

  const again = omaf(["pack", model], { cwd: dir });
  assert.equal(again.code, 2, "an existing output is not overwritten without --force");
  assert.match(again.stderr, /OMAF_ERR_TARGET_EXISTS/);
  assert.equal(omaf(["pack", "--force", model], { cwd: dir }).code, 0);
});

test("pack refuses an invalid folder, lists every issue and writes nothing", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const manifest: any = seedManifest();
  manifest.model.version = "latest";
  manifest.binaries.conda_path = "missing.yml";
  const model = await seedFolder(dir, { manifest });
  const r = omaf(["pack", model, "-o", path.join(dir, "out.zip")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /OMAF_ERR_MANIFEST_INVALID/);
  assert.match(r.stderr, /OMAF_ERR_MODEL_VERSION/);
  assert.match(r.stderr, /OMAF_ERR_CONDA_PATH/);
  assert.deepEqual(readdirSync(dir), ["model"]);
});

test("unpack limits given as flags reject the archive with their code and leave nothing behind", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const zip = path.join(dir, "model.zip");
  assert.equal(omaf(["pack", await seedFolder(dir), "-o", zip]).code, 0);
  const out = path.join(dir, "out");
  const many = omaf(["unpack", "--json", zip, "-d", out, "--max-entries", "2"]);
  assert.equal(many.code, 1);
  assert.equal(JSON.parse(many.stdout).error.code, "OMAF_ERR_TOO_MANY_ENTRIES");
  const big = omaf(["unpack", "--json", zip, "-d", out, "--max-size", "1000"]);
  assert.equal(big.code, 1);
  assert.equal(JSON.parse(big.stdout).error.code, "OMAF_ERR_TOO_LARGE");
  assert.deepEqual(readdirSync(dir).sort(), ["model", "model.zip"]);
});

test("validate lists what unpack would refuse, read from the listing alone", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const manifest = Buffer.from(stringify(seedManifest()));
  const zip = path.join(dir, "evil.zip");
  await writeFile(
    zip,
    craftZip([
      { name: "odahuflow.model.yaml", data: manifest },
      { name: "mlflow/model/entrypoint.py", data: Buffer.from("x") },
      { name: "mlflow/model/mlflow_env.yml", data: Buffer.from("x") },
      { name: "../escape.txt", data: Buffer.from("x") },
      { name: "mlflow/model/link", data: Buffer.from("/etc/passwd"), unixMode: 0o120777 },
      { name: "mlflow/model/entrypoint.py", data: Buffer.from("y") },
    ]),
  );
  const r = omaf(["validate", "--json", zip]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout)
      .issues.map((i: { code: string }) => i.code)
      .sort(),
    ["OMAF_ERR_DUPLICATE_ENTRY", "OMAF_ERR_UNSAFE_LINK", "OMAF_ERR_UNSAFE_TRAVERSAL"],
  );
});

test("validate and unpack refuse an overlapping bomb whose manifest is valid; --max-archive-ratio bounds an honest zip", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const pattern = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251));
  const blob = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < blob.length; i += pattern.length) pattern.copy(blob, i);
  const entries: Parameters<typeof craftZip>[0] = [
    { name: "odahuflow.model.yaml", data: Buffer.from(stringify(seedManifest())) },
    { name: "mlflow/model/entrypoint.py", data: Buffer.from("def init():\n    return 'matrix'\n") },
    { name: "mlflow/model/mlflow_env.yml", data: Buffer.from("dependencies: []\n") },
    { name: "mlflow/model/data/0.bin", data: blob },
  ];
  for (let i = 1; i < 1000; i++) entries.push({ name: `mlflow/model/data/${i}.bin`, data: blob, sharesLocalOf: 3 });
  const zip = path.join(dir, "bomb.zip");
  await writeFile(zip, craftZip(entries));
  const v = omaf(["validate", "--json", zip]);
  assert.equal(v.code, 1, v.stdout + v.stderr);
  const codes = new Set(JSON.parse(v.stdout).issues.map((i: { code: string }) => i.code));
  assert.deepEqual([...codes].sort(), ["OMAF_ERR_ARCHIVE_RATIO", "OMAF_ERR_ENTRY_NAME_MISMATCH", "OMAF_ERR_OVERLAPPING_ENTRIES"]);
  const u = omaf(["unpack", "--json", zip, "-d", path.join(dir, "out")]);
  assert.equal(u.code, 1);
  assert.equal(JSON.parse(u.stdout).error.code, "OMAF_ERR_OVERLAPPING_ENTRIES");
  assert.deepEqual(readdirSync(dir), ["bomb.zip"]);

  const honest = path.join(dir, "model.zip");
  const csv = Array.from({ length: 200_000 }, (_, i) => `${i % 977},${(i * 31) % 1000}\n`).join("");
  assert.equal(omaf(["pack", await seedFolder(dir, { files: { "data.csv": csv } }), "-o", honest]).code, 0);
  const bounded = omaf(["unpack", "--json", honest, "-d", path.join(dir, "out"), "--max-archive-ratio", "2"]);
  assert.equal(bounded.code, 1);
  assert.equal(JSON.parse(bounded.stdout).error.code, "OMAF_ERR_ARCHIVE_RATIO");
  assert.equal(omaf(["unpack", honest, "-d", path.join(dir, "out")]).code, 0);
});

test("usage errors exit 2", async () => {
  assert.equal(omaf(["pack"]).code, 2);
  assert.equal(omaf(["validate", "--bogus", "x"]).code, 2);
  const level = omaf(["pack", ".", "--level", "12"]);
  assert.equal(level.code, 2);
  assert.match(level.stderr, /--level/);
  assert.equal(omaf(["--help"]).code, 0);
  assert.equal(existsSync("wine-quality-1.0.0-12333122.zip"), false);
});

test("a reader that leaves before the answer (| head) ends inspect quietly with exit 0", async () => {
  const child = omafSpawn(["inspect", path.join(import.meta.dirname, "..", "..", "examples", "iris-onnx")]);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // The pipe is closed before the command writes anything, so its first write fails with EPIPE.
  child.stdout!.destroy();
  assert.equal(await exited, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});
