// Reading real-world containers: Odahu's leading-slash zips and gzip tars named .zip, empty zips, non-archives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { detectFormat, openArchive } from "../../src/archive/read.js";
import { contentDigest } from "../../src/archive/provenance.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { isOmafError } from "../../src/errors.js";
import { cleanup, craftZip, listNames, readTree, tempDir } from "./craft.js";

const run = promisify(execFile);
const manifest = "binaries:\n  type: python\nmodel:\n  name: wine\n  version: 1.0.0-1\n";

test("Odahu Go zips: names with a leading / open, list normalised and unpack", async () => {
  const root = await tempDir();
  try {
    const zip = path.join(root, "wine-1.0.0-1-abc.zip");
    await writeFile(
      zip,
      craftZip([
        { name: "/" },
        { name: "/odahuflow.project.yaml", data: Buffer.from(manifest) },
        { name: "/odahuflow_model/" },
        { name: "/odahuflow_model/entrypoint.py", data: Buffer.from("def init():\n    return 'matrix'\n") },
      ]),
    );
    const reader = await openArchive(zip);
    try {
      assert.equal(reader.format, "zip");
      assert.deepEqual(
        reader.entries.map((e) => [e.rawName, e.name, e.type]),
        [
          ["/odahuflow.project.yaml", "odahuflow.project.yaml", "file"],
          ["/odahuflow_model/", "odahuflow_model", "directory"],
          ["/odahuflow_model/entrypoint.py", "odahuflow_model/entrypoint.py", "file"],
        ],
      );
      assert.equal((await reader.readEntry("odahuflow.project.yaml")).toString(), manifest);
    } finally {
      await reader.close();
    }
    const out = path.join(root, "out");
    const r = await unpackArchive(zip, out);
    assert.deepEqual([...(await readTree(out)).keys()].sort(), ["odahuflow.project.yaml", "odahuflow_model/entrypoint.py"]);
    assert.equal(r.provenance, undefined);
    assert.equal(r.artifactDigest, contentDigest(r.files), "a digest also for artifacts without provenance");
  } finally {
    await cleanup(root);
  }
});

test("Odahu gzip tars named .zip: detected by magic bytes, listed, read and unpacked", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(path.join(src, "odahuflow_model/data"), { recursive: true });
    await writeFile(path.join(src, "odahuflow.project.yaml"), manifest);
    await writeFile(path.join(src, "odahuflow_model/entrypoint.py"), "print(1)\n");
    await writeFile(path.join(src, "odahuflow_model/data/big.bin"), Buffer.alloc(3 * 1024 * 1024, 1)); // beyond the listing cache
    const zip = path.join(root, "wine-1.0.0-1-abc.zip");
    await run("tar", ["-czf", zip, "-C", src, "."]);
    assert.equal(await detectFormat(zip), "tar.gz");

    const reader = await openArchive(zip);
    try {
      assert.equal(reader.format, "tar.gz");
      const files = reader.entries.filter((e) => e.type === "file").map((e) => [e.name, e.size]);
      assert.deepEqual(files.sort(), [
        ["odahuflow.project.yaml", manifest.length],
        ["odahuflow_model/data/big.bin", 3 * 1024 * 1024],
        ["odahuflow_model/entrypoint.py", 9],
      ]);
      assert.ok(
        reader.entries.every((e) => !e.name.startsWith(".") && e.name !== ""),
        "./ prefixes and the root are gone",
      );
      assert.equal((await reader.readEntry("odahuflow.project.yaml")).toString(), manifest);
      const big = await reader.readEntry("odahuflow_model/data/big.bin");
      assert.ok(big.equals(Buffer.alloc(3 * 1024 * 1024, 1)));
      await assert.rejects(reader.readEntry("nope"), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
    } finally {
      await reader.close();
    }
    const out = path.join(root, "out");
    const r = await unpackArchive(zip, out);
    assert.deepEqual(await readTree(out), await readTree(src));
    assert.equal(r.files.length, 3);
    assert.deepEqual(await listNames(root), ["out", "src", "wine-1.0.0-1-abc.zip"]);
  } finally {
    await cleanup(root);
  }
});

test("an empty zip opens with no entries; non-archives fail with OMAF_ERR_ARCHIVE_FORMAT", async () => {
  const root = await tempDir();
  try {
    const empty = path.join(root, "empty.zip");
    await writeFile(empty, craftZip([]));
    const reader = await openArchive(empty);
    assert.deepEqual(reader.entries, []);
    await reader.close();

    for (const [name, bytes] of [
      ["text.zip", Buffer.from("hello, not an archive")],
      ["nothing.zip", Buffer.alloc(0)],
      ["gzip-of-text.zip", await promisify(execFile)("sh", ["-c", "printf 'plain text' | gzip"], { encoding: "buffer" }).then((r) => r.stdout)],
      ["header-only.zip", Buffer.from("PK\x03\x04garbage", "latin1")],
    ] as [string, Buffer][]) {
      const p = path.join(root, name);
      await writeFile(p, bytes);
      await assert.rejects(openArchive(p), (err) => isOmafError(err, "OMAF_ERR_ARCHIVE_FORMAT"), name);
    }
    await assert.rejects(openArchive(path.join(root, "missing.zip")), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
  } finally {
    await cleanup(root);
  }
});

test("a zip made by Info-ZIP (with directory entries and extra fields) reads and unpacks", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(path.join(src, "a/b"), { recursive: true });
    await writeFile(path.join(src, "a/b/c.txt"), "c".repeat(10_000));
    await writeFile(path.join(src, "top.txt"), "top");
    const zip = path.join(root, "info.zip");
    await run("zip", ["-rq", zip, "."], { cwd: src });
    const reader = await openArchive(zip);
    assert.ok(reader.entries.some((e) => e.type === "directory" && e.name === "a/b"));
    await reader.close();
    const out = path.join(root, "out");
    await unpackArchive(zip, out);
    assert.deepEqual(await readTree(out), await readTree(src));
  } finally {
    await cleanup(root);
  }
});

test("gzip tar: openEntryStream streams one entry; listing limits the entry count", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(src);
    const big = Buffer.alloc(2 * 1024 * 1024 + 3, 7);
    await writeFile(path.join(src, "a.bin"), big);
    await writeFile(path.join(src, "b.txt"), "b");
    const tgz = path.join(root, "x.tar.gz");
    await run("tar", ["-czf", tgz, "-C", src, "a.bin", "b.txt"]);
    const reader = await openArchive(tgz);
    try {
      const chunks: Buffer[] = [];
      for await (const c of await reader.openEntryStream("a.bin")) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(big));
      await assert.rejects(reader.openEntryStream("zzz"), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
    } finally {
      await reader.close();
    }
    await assert.rejects(openArchive(tgz, { limits: { maxEntries: 1 } }), (err) => isOmafError(err, "OMAF_ERR_TOO_MANY_ENTRIES"));
  } finally {
    await cleanup(root);
  }
});
