// ZIP64: files larger than 4 GiB, offsets beyond 4 GiB, and more than 65,535 entries. These are the slow tests of
// the archive layer; the runner prints how long each step took.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, open, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { listFolder } from "../../src/archive/folder.js";
import { PROVENANCE_PATH } from "../../src/archive/provenance.js";
import { openArchive } from "../../src/archive/read.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { writeZip } from "../../src/archive/write-zip.js";
import { isOmafError } from "../../src/errors.js";
import { cleanup, listNames, tempDir } from "./craft.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const run = promisify(execFile);
const SIZE = 4 * 1024 ** 3 + 3 * 1024 * 1024 + 7;

/** A folder with a sparse file just over 4 GiB (zeros, a few marked bytes at the end) and small files around it. */
async function hugeFolder(root: string): Promise<string> {
  const dir = path.join(root, "model");
  await mkdir(dir);
  const big = await open(path.join(dir, "huge.bin"), "w");
  await big.truncate(SIZE); // sparse: costs no disk until read
  await big.write(Buffer.from("tail"), 0, 4, SIZE - 4);
  await big.close();
  await writeFile(path.join(dir, "a-before.txt"), "before the big file");
  await writeFile(path.join(dir, "z-after.txt"), "after the big file");
  return dir;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

test("ZIP64 offsets: a stored 4 GiB file puts later entries and the central directory beyond 4 GiB", {
  timeout: 10 * 60_000,
  skip: skipOnRepeat,
}, async (t) => {
  const root = await tempDir();
  try {
    const dir = await hugeFolder(root);
    const zip = path.join(root, "m.zip");
    let started = performance.now();
    const packed = await writeZip({ dir, files: await listFolder(dir), output: zip, level: 0, provenance: { packerVersion: "1" } });
    t.diagnostic(`pack (stored) ${seconds(started)}, zip ${packed.bytes} bytes`);
    assert.ok(packed.bytes > SIZE);

    // Info-ZIP reads the ZIP64 directory and extracts the entry that lies beyond 4 GiB (testing all 4 GiB with
    // `unzip -t` passes too, but takes another 15-20 s; unpacking below checks every byte by SHA-256).
    assert.match((await run("unzip", ["-l", zip])).stdout, new RegExp(`\\s${SIZE}\\s.*huge\\.bin`));
    assert.equal((await run("unzip", ["-p", zip, "z-after.txt"])).stdout, "after the big file");

    const reader = await openArchive(zip);
    try {
      assert.deepEqual(
        reader.entries.map((e) => [e.name, e.size]),
        [
          ["a-before.txt", 19],
          ["huge.bin", SIZE],
          ["z-after.txt", 18],
          [PROVENANCE_PATH, reader.entries[3].size],
        ],
      );
      assert.equal((await reader.readEntry("z-after.txt")).toString(), "after the big file");
    } finally {
      await reader.close();
    }

    started = performance.now();
    const out = path.join(root, "out");
    const unpacked = await unpackArchive(zip, out);
    t.diagnostic(`unpack (SHA-256 verify, write) ${seconds(started)}`);
    assert.equal(unpacked.artifactDigest, packed.artifactDigest);
    assert.equal((await stat(path.join(out, "huge.bin"))).size, SIZE);
  } finally {
    await cleanup(root);
  }
});

test("ZIP64 sizes: a deflated file over 4 GiB lists with its size; the ratio limit guards its unpacking", {
  timeout: 10 * 60_000,
  skip: skipOnRepeat,
}, async (t) => {
  const root = await tempDir();
  try {
    const dir = await hugeFolder(root);
    const zip = path.join(root, "m.zip");
    const started = performance.now();
    const packed = await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    t.diagnostic(`pack (deflate) ${seconds(started)}, zip ${packed.bytes} bytes`);
    assert.equal(packed.files.find((f) => f.path === "huge.bin")?.size, SIZE);

    assert.match((await run("unzip", ["-l", zip])).stdout, new RegExp(`\\s${SIZE}\\s.*huge\\.bin`));
    const reader = await openArchive(zip);
    try {
      const entry = reader.entries.find((e) => e.name === "huge.bin")!;
      assert.equal(entry.size, SIZE);
      assert.ok(entry.compressedSize < SIZE / 500);
    } finally {
      await reader.close();
    }
    // 4 GiB of zeros deflate about 1030:1, past the default limit of 1000:1: refused before anything is written.
    await assert.rejects(unpackArchive(zip, path.join(root, "out")), (err) => isOmafError(err, "OMAF_ERR_COMPRESSION_RATIO"));
    assert.deepEqual(await listNames(root), ["m.zip", "model"]);
  } finally {
    await cleanup(root);
  }
});

test("more than 65,535 entries pack (ZIP64 end record), list and unpack", { timeout: 10 * 60_000, skip: skipOnRepeat }, async (t) => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    const count = 66_000;
    let started = performance.now();
    for (let d = 0; d < 66; d++) {
      const sub = path.join(dir, `d${d}`);
      await mkdir(sub, { recursive: true });
      // Mostly empty files (stored, so the test spends its time on entries, not on deflating); touch makes them fast.
      await run(
        "touch",
        Array.from({ length: 1000 }, (_, i) => `f${i}.txt`),
        { cwd: sub },
      );
      for (let i = 0; i < 1000; i += 100) await writeFile(path.join(sub, `f${i}.txt`), `${d}/${i}`);
    }
    t.diagnostic(`create ${count} files ${seconds(started)}`);

    const zip = path.join(root, "m.zip");
    started = performance.now();
    const files = await listFolder(dir);
    assert.equal(files.length, count);
    await writeZip({ dir, files, output: zip, provenance: { packerVersion: "1" } });
    t.diagnostic(`pack ${seconds(started)}`);

    started = performance.now();
    const tested = await run("unzip", ["-tq", zip], { maxBuffer: 64 * 1024 * 1024 });
    assert.match(tested.stdout, /No errors detected/);
    t.diagnostic(`unzip -tq ${seconds(started)}`);

    started = performance.now();
    const reader = await openArchive(zip);
    assert.equal(reader.entries.length, count + 1);
    assert.equal((await reader.readEntry("d65/f900.txt")).toString(), "65/900");
    await reader.close();
    t.diagnostic(`open + list ${seconds(started)}`);

    started = performance.now();
    const out = path.join(root, "out");
    const r = await unpackArchive(zip, out);
    t.diagnostic(`unpack ${seconds(started)}`);
    assert.equal(r.files.length, count);
    assert.equal((await listNames(path.join(out, "d65"))).length, 1000);
  } finally {
    await cleanup(root);
  }
});
