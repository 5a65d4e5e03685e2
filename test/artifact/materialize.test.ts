// materializeArtifact: a cached unpacked copy is served only while it still matches the artifact; a folder with a
// provenance record is served only while it matches the record.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { hashFile } from "../../src/archive/hash.js";
import { PROVENANCE_PATH } from "../../src/archive/provenance.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { readCacheRecord, sealedRecord, verifyCachedFolder } from "../../src/artifact/cache.js";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { pack } from "../../src/artifact/pack.js";
import { isOmafError, type ErrorCode } from "../../src/errors.js";
import { craftZip } from "../archive/craft.js";
import { seedFolder, seedManifest, tempDir } from "../helpers/fixtures.js";

const run = promisify(execFile);
const WEIGHTS = "mlflow/model/data/weights.bin";

/** A packed seed model (with provenance) under `root`. */
async function packedModel(root: string): Promise<{ zip: string; digest: string }> {
  const zip = path.join(root, "model.zip");
  const r = await pack(await seedFolder(root, { files: { [WEIGHTS]: Buffer.alloc(64 * 1024, 7) } }), { output: zip });
  return { zip, digest: r.artifactDigest };
}

/** Changes one byte of a file in place, keeping its size and modification time (what `stat` shows at a glance). */
async function flipByte(file: string, at = 100): Promise<void> {
  const before = await stat(file);
  const data = await readFile(file);
  data[at] ^= 0xff;
  await writeFile(file, data);
  await utimes(file, before.atime, before.mtime);
}

/** For the sealed check: pretends the seals were taken long after the files were written, so they are trusted. */
async function ageSeals(recordFile: string): Promise<void> {
  const record = JSON.parse(await readFile(recordFile, "utf8"));
  record.sealedAtNs = (BigInt(record.sealedAtNs) + 10_000_000_000n).toString();
  await writeFile(recordFile, JSON.stringify(record));
}

const tamperings: [string, (dir: string) => Promise<void>][] = [
  ["a byte of the weights", (dir) => flipByte(path.join(dir, WEIGHTS))],
  [
    "the manifest",
    async (dir) => writeFile(path.join(dir, "odahuflow.model.yaml"), stringify({ ...seedManifest(), model: { ...seedManifest().model, name: "other" } })),
  ],
  [
    "an extra file that packing would ignore",
    async (dir) => {
      await mkdir(path.join(dir, "mlflow/model/__pycache__"), { recursive: true });
      await writeFile(path.join(dir, "mlflow/model/__pycache__/entrypoint.cpython-311.pyc"), "evil bytecode");
    },
  ],
  ["a missing file", (dir) => rm(path.join(dir, WEIGHTS))],
  [
    "a file replaced by a link",
    async (dir) => {
      await rm(path.join(dir, "README.md"));
      await symlink("/etc/hostname", path.join(dir, "README.md"));
    },
  ],
  ["the cached provenance record", (dir) => flipByte(path.join(dir, PROVENANCE_PATH), 10)],
];

for (const cacheCheck of ["full", "sealed"] as const) {
  test(`a tampered cache copy is never served under the artifact's digest: it is unpacked again, with a warning (${cacheCheck} check)`, async (t) => {
    const { dir: root, cleanup } = await tempDir();
    t.after(cleanup);
    const { zip, digest } = await packedModel(root);
    const cacheDir = path.join(root, "cache");
    const first = await materializeArtifact(zip, { cacheDir, cacheCheck });
    assert.equal(first.artifactDigest, digest);
    assert.deepEqual(first.warnings, []);
    const recordFile = `${first.dir}.json`;
    if (cacheCheck === "sealed") await ageSeals(recordFile);
    const weights = path.join(first.dir, WEIGHTS);
    const original = await readFile(weights);
    const inode = (await stat(weights)).ino;

    const again = await materializeArtifact(zip, { cacheDir, cacheCheck });
    assert.deepEqual(again.warnings, []);
    assert.equal((await stat(weights)).ino, inode, "an intact copy is reused, not unpacked again");

    for (const [what, tamper] of tamperings) {
      await tamper(first.dir);
      const m = await materializeArtifact(zip, { cacheDir, cacheCheck });
      assert.deepEqual(
        m.warnings.map((w) => w.code),
        ["OMAF_WARN_CACHE_TAMPERED"],
        what,
      );
      assert.equal(m.artifactDigest, digest, what);
      assert.deepEqual(await readFile(weights), original, what);
      assert.equal(m.manifest.model.name, seedManifest().model.name, what);
      if (cacheCheck === "sealed") await ageSeals(recordFile);
      const fresh = await materializeArtifact(zip, { cacheDir, cacheCheck });
      assert.deepEqual(fresh.warnings, [], `${what}: the fresh copy is reused`);
    }
    assert.deepEqual((await readdir(cacheDir)).sort(), [digest.slice(7), `${digest.slice(7)}.json`], "nothing left beside the copy");
  });
}

test("an archive without provenance: the cache is checked against the file list recorded at unpack", async (t) => {
  const { dir: root, cleanup } = await tempDir();
  t.after(cleanup);
  const zip = path.join(root, "odahu.zip");
  const model = await seedFolder(root);
  const entries = [];
  for (const rel of ["odahuflow.model.yaml", "mlflow/model/mlflow_env.yml", "mlflow/model/entrypoint.py", WEIGHTS]) {
    entries.push({ name: rel, data: await readFile(path.join(model, rel)) });
  }
  await writeFile(zip, craftZip(entries));
  const cacheDir = path.join(root, "cache");
  const first = await materializeArtifact(zip, { cacheDir });
  assert.equal(first.provenance, undefined);
  const record = await readCacheRecord(`${first.dir}.json`);
  assert.deepEqual(record?.files.map((f) => f.path).sort(), entries.map((e) => e.name).sort());

  await flipByte(path.join(first.dir, WEIGHTS));
  const m = await materializeArtifact(zip, { cacheDir });
  assert.deepEqual(
    m.warnings.map((w) => w.code),
    ["OMAF_WARN_CACHE_TAMPERED"],
  );
  assert.equal(m.artifactDigest, first.artifactDigest);
  assert.deepEqual(await readFile(path.join(m.dir, WEIGHTS)), await readFile(path.join(model, WEIGHTS)));

  // A record that no longer agrees with the archive's listing is not trusted either.
  const forged = { ...record!, files: record!.files.filter((f) => f.path !== WEIGHTS) };
  await writeFile(`${first.dir}.json`, JSON.stringify(forged));
  await rm(path.join(first.dir, WEIGHTS));
  const again = await materializeArtifact(zip, { cacheDir });
  assert.deepEqual(
    again.warnings.map((w) => w.code),
    ["OMAF_WARN_CACHE_TAMPERED"],
  );
  assert.deepEqual(await readFile(path.join(m.dir, WEIGHTS)), await readFile(path.join(model, WEIGHTS)));
});

test("the sealed check hashes only files whose inode, size or times changed", async (t) => {
  const { dir: root, cleanup } = await tempDir();
  t.after(cleanup);
  const { zip } = await packedModel(root);
  const dir = path.join(root, "unpacked");
  const r = await unpackArchive(zip, dir);
  const recordFile = path.join(dir, PROVENANCE_PATH);
  const files = [...r.files, { path: PROVENANCE_PATH, size: (await stat(recordFile)).size, sha256: await hashFile(recordFile) }];
  const record = sealedRecord(dir, files, { artifactDigest: r.artifactDigest, source: zip });
  // Freshly written files might still change unseen within their timestamp tick: they are hashed, then resealed.
  const fresh = await verifyCachedFolder(dir, files, record, "sealed");
  assert.equal(fresh.problem, undefined);
  assert.equal(fresh.hashed, files.length);
  assert.ok(fresh.resealed);
  // Sealed long after their last change, they are taken as they are ...
  const old = { ...record, sealedAtNs: (BigInt(record.sealedAtNs) + 10_000_000_000n).toString() };
  assert.deepEqual(await verifyCachedFolder(dir, files, old, "sealed"), { hashed: 0 });
  assert.equal((await verifyCachedFolder(dir, files, old, "full")).hashed, files.length);
  // ... until one is written to, even with its size and modification time put back: its change time moved.
  await flipByte(path.join(dir, WEIGHTS));
  const verdict = await verifyCachedFolder(dir, files, old, "sealed");
  assert.equal(verdict.hashed, 1);
  assert.equal(verdict.problem?.path, WEIGHTS);
});

async function refusedFolder(dir: string, code: ErrorCode): Promise<void> {
  await assert.rejects(materializeArtifact(dir), (err) => {
    assert.ok(isOmafError(err), String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

test("an unpacked folder with .omaf/provenance.json is served only while it matches the record", async (t) => {
  const { dir: root, cleanup } = await tempDir();
  t.after(cleanup);
  const { zip, digest } = await packedModel(root);
  const dir = path.join(root, "unpacked");
  await unpackArchive(zip, dir);
  const m = await materializeArtifact(dir);
  assert.equal(m.artifactDigest, digest);
  assert.equal(m.provenance?.artifactDigest, digest);

  // What packing ignores does not count (running a python model leaves __pycache__ behind).
  await mkdir(path.join(dir, "mlflow/model/__pycache__"));
  await writeFile(path.join(dir, "mlflow/model/__pycache__/entrypoint.cpython-311.pyc"), "bytecode");
  await writeFile(path.join(dir, ".DS_Store"), "finder");
  assert.equal((await materializeArtifact(dir)).artifactDigest, digest);

  await flipByte(path.join(dir, WEIGHTS));
  await refusedFolder(dir, "OMAF_ERR_DIGEST_MISMATCH");
  await flipByte(path.join(dir, WEIGHTS));
  assert.equal((await materializeArtifact(dir)).artifactDigest, digest);

  await writeFile(path.join(dir, "mlflow/model/extra.py"), "import os");
  await refusedFolder(dir, "OMAF_ERR_PROVENANCE_INVALID");
  await rm(path.join(dir, "mlflow/model/extra.py"));

  const readme = await readFile(path.join(dir, "README.md"));
  await rm(path.join(dir, "README.md"));
  await refusedFolder(dir, "OMAF_ERR_PROVENANCE_INVALID");
  await writeFile(path.join(dir, "README.md"), readme);

  await writeFile(path.join(dir, PROVENANCE_PATH), "{not json");
  await refusedFolder(dir, "OMAF_ERR_PROVENANCE_INVALID");
  // Without a record the folder is served as it is, with the digest of its files.
  await rm(path.join(dir, ".omaf"), { recursive: true });
  assert.equal((await materializeArtifact(dir)).artifactDigest, digest);
});

test("two processes materialising the same archive into one cache at once both get a whole, verified copy", async (t) => {
  const { dir: root, cleanup } = await tempDir();
  t.after(cleanup);
  const { zip, digest } = await packedModel(root);
  const cacheDir = path.join(root, "cache");
  const child = fileURLToPath(new URL("materialize-child.ts", import.meta.url));
  const runs = await Promise.all([1, 2, 3].map(() => run(process.execPath, ["--import", "tsx", child, zip, cacheDir])));
  for (const r of runs) assert.equal(JSON.parse(r.stdout.trim()).artifactDigest, digest);
  assert.deepEqual((await readdir(cacheDir)).sort(), [digest.slice(7), `${digest.slice(7)}.json`]);
  const after = await materializeArtifact(zip, { cacheDir });
  assert.deepEqual(after.warnings, []);
});
