// ZIP64: a file larger than 4 GiB and more than 65,535 entries. These are the slow tests of the archive layer
// (see the durations printed by the test runner).
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
import { cleanup, listNames, tempDir } from "./craft.js";

const run = promisify(execFile);

test("a file over 4 GiB (sparse zeros) packs as ZIP64, lists with its size and unpacks", { timeout: 10 * 60_000 }, async (t) => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    await mkdir(dir);
    const size = 4 * 1024 ** 3 + 3 * 1024 * 1024 + 7;
    const big = await open(path.join(dir, "huge.bin"), "w");
    await big.truncate(size); // sparse: costs no disk until read
    await big.write(Buffer.from("tail"), 0, 4, size - 4); // a few non-zero bytes at the end
    await big.close();
    await writeFile(path.join(dir, "after.txt"), "entry after the 4 GiB offset");

    const zip = path.join(root, "m.zip");
    let started = performance.now();
    const packed = await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    t.diagnostic(`pack ${((performance.now() - started) / 1000).toFixed(1)} s, zip ${packed.bytes} bytes`);
    assert.equal(packed.files.find((f) => f.path === "huge.bin")?.size, size);

    started = performance.now();
    const listing = (await run("unzip", ["-l", zip])).stdout;
    assert.match(listing, new RegExp(`\\s${size}\\s.*huge\\.bin`));
    assert.match(listing, /after\.txt/);
    const reader = await openArchive(zip);
    try {
      const entry = reader.entries.find((e) => e.name === "huge.bin")!;
      assert.equal(entry.size, size);
      assert.equal((await reader.readEntry("after.txt")).toString(), "entry after the 4 GiB offset");
      assert.equal(reader.entries.at(-1)?.name, PROVENANCE_PATH);
    } finally {
      await reader.close();
    }
    t.diagnostic(`list ${((performance.now() - started) / 1000).toFixed(1)} s`);

    started = performance.now();
    const out = path.join(root, "out");
    const unpacked = await unpackArchive(zip, out);
    t.diagnostic(`unpack (inflate, SHA-256 verify, write) ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(unpacked.artifactDigest, packed.artifactDigest);
    assert.equal((await stat(path.join(out, "huge.bin"))).size, size);
  } finally {
    await cleanup(root);
  }
});

test("more than 65,535 entries pack (ZIP64 end record), list and unpack", { timeout: 10 * 60_000 }, async (t) => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    const count = 66_000;
    let started = performance.now();
    for (let d = 0; d < 66; d++) {
      await mkdir(path.join(dir, `d${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => writeFile(path.join(dir, `d${d}`, `f${i}.txt`), `${d}/${i}`)));
    }
    t.diagnostic(`create ${count} files ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const zip = path.join(root, "m.zip");
    started = performance.now();
    const files = await listFolder(dir);
    assert.equal(files.length, count);
    await writeZip({ dir, files, output: zip, provenance: { packerVersion: "1" } });
    t.diagnostic(`pack ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const tested = await run("unzip", ["-tq", zip], { maxBuffer: 64 * 1024 * 1024 });
    assert.match(tested.stdout, /No errors detected/);
    started = performance.now();
    const reader = await openArchive(zip);
    assert.equal(reader.entries.length, count + 1);
    assert.equal((await reader.readEntry("d65/f999.txt")).toString(), "65/999");
    await reader.close();
    t.diagnostic(`open + list ${((performance.now() - started) / 1000).toFixed(2)} s`);

    started = performance.now();
    const out = path.join(root, "out");
    const r = await unpackArchive(zip, out);
    t.diagnostic(`unpack ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(r.files.length, count);
    assert.deepEqual(await listNames(path.join(out, "d65")).then((n) => n.length), 1000);
  } finally {
    await cleanup(root);
  }
});
