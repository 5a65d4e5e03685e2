// Large files: packing deflates them in 1 MiB blocks on the thread pool and joins the pieces into one deflate stream;
// unpacking reads them in chunks without streams and, past 64 MiB of them, hashes them on a worker thread. Every
// reader must see plain, valid ZIP entries, and every check must still catch a changed byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, createCipheriv } from "node:crypto";
import { appendFile, mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { listFolder } from "../../src/archive/folder.js";
import { openArchive } from "../../src/archive/read.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { writeZip } from "../../src/archive/write-zip.js";
import { isOmafError } from "../../src/errors.js";
import { cleanup, craftZip, deflatedZeros, exists, listNames, readTree, tempDir } from "./craft.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** CSV-like text that deflates about threefold; the same bytes on every run. */
function csv(bytes: number, seed = 7): Buffer {
  const rows: string[] = [];
  let x = seed;
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const row = `${i},${x % 1000},label-${x % 17},${(x % 9973) / 100}\n`;
    rows.push(row);
    n += row.length;
  }
  return Buffer.from(rows.join("")).subarray(0, bytes);
}

/** Incompressible bytes, the same on every run. */
function noise(bytes: number, seed: string): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

/** Where an entry's data lies in the zip: its local headers are walked from the first, at offset 0. */
async function dataOf(zip: string, name: string): Promise<{ start: number; compressedSize: number; method: number }> {
  const reader = await openArchive(zip);
  const compressedSize = reader.entries.find((x) => x.name === name)!.compressedSize;
  await reader.close();
  const bytes = await readFile(zip);
  const signature = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
  for (let offset = 0; offset >= 0; ) {
    const n = bytes.readUInt16LE(offset + 26);
    const m = bytes.readUInt16LE(offset + 28);
    const start = offset + 30 + n + m;
    if (bytes.subarray(offset + 30, offset + 30 + n).toString() === name) return { start, compressedSize, method: bytes.readUInt16LE(offset + 8) };
    offset = bytes.indexOf(signature, start);
  }
  throw new Error(`no local header for ${name}`);
}

test("large files are deflated in blocks into one deflate stream that Info-ZIP, Python and zlib itself read", async () => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    await mkdir(path.join(dir, "data"), { recursive: true });
    const files: Record<string, Buffer> = {
      "data/a.csv": csv(5 * MiB + 37), // six blocks, the last one short
      "data/b.csv": csv(2 * MiB, 11), // exactly two blocks: the end is found by a read past it
      "data/c.csv": csv(MiB + 1, 13), // just over the streaming threshold: a one-byte last block
      "data/noise.bin": noise(3 * MiB + 5, "noise"), // incompressible: stored, streamed
      "small.txt": Buffer.from("small file\n"),
    };
    for (const [rel, content] of Object.entries(files)) await writeFile(path.join(dir, rel), content);
    const zip = path.join(root, "m.zip");
    const packed = await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    for (const f of packed.files) assert.equal(f.sha256, sha256(files[f.path]), f.path);

    await run("unzip", ["-tq", zip]);
    const verbose = (await run("unzip", ["-Zl", zip])).stdout;
    assert.match(verbose, / defN .* data\/a\.csv/);
    assert.match(verbose, / stor .* data\/noise\.bin/);

    // Python's zipfile reads every entry (checking each CRC) and gets the same bytes.
    const script = [
      "import hashlib, json, sys, zipfile",
      "z = zipfile.ZipFile(sys.argv[1])",
      "assert z.testzip() is None",
      "print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))",
    ].join("\n");
    const byPython = JSON.parse((await run("python3", ["-c", script, zip])).stdout) as Record<string, string>;
    for (const [rel, content] of Object.entries(files)) assert.equal(byPython[rel], sha256(content), `python: ${rel}`);

    // The entry data is one raw deflate stream (zlib inflates it in one go), and carrying each block's dictionary
    // over keeps it within a few bytes a block of a single pass (without the dictionary: ~0.1 % larger).
    const bytes = await readFile(zip);
    for (const rel of ["data/a.csv", "data/b.csv", "data/c.csv"]) {
      const { start, compressedSize, method } = await dataOf(zip, rel);
      assert.equal(method, 8, rel);
      const raw = bytes.subarray(start, start + compressedSize);
      assert.ok(zlib.inflateRawSync(raw).equals(files[rel]), `${rel} inflates to its content`);
      const single = zlib.deflateRawSync(files[rel], { level: 6 }).length;
      assert.ok(compressedSize <= single * 1.0003 + 16, `${rel}: ${compressedSize} bytes against ${single} in one pass`);
    }

    // Same content, same bytes; and omaf unpacks it.
    const again = path.join(root, "again.zip");
    await writeZip({ dir, files: await listFolder(dir), output: again, provenance: { packerVersion: "1" } });
    assert.ok((await readFile(again)).equals(bytes), "deterministic");
    const out = path.join(root, "out");
    assert.equal((await unpackArchive(zip, out)).artifactDigest, packed.artifactDigest);
    const tree = await readTree(out);
    for (const [rel, content] of Object.entries(files)) assert.ok(tree.get(rel)?.equals(content), rel);
  } finally {
    await cleanup(root);
  }
});

test("a file that grows between listing and packing is packed as it is then, and the record says so", async () => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    await mkdir(dir);
    await writeFile(path.join(dir, "grows.csv"), csv(3 * MiB));
    const files = await listFolder(dir);
    await appendFile(path.join(dir, "grows.csv"), csv(MiB / 2, 3));
    const zip = path.join(root, "m.zip");
    const packed = await writeZip({ dir, files, output: zip, provenance: { packerVersion: "1" } });
    const now = await readFile(path.join(dir, "grows.csv"));
    assert.deepEqual(packed.files, [{ path: "grows.csv", size: now.length, sha256: sha256(now) }]);
    await run("unzip", ["-tq", zip]);
    assert.equal((await unpackArchive(zip, path.join(root, "out"))).artifactDigest, packed.artifactDigest);
  } finally {
    await cleanup(root);
  }
});

test("past 64 MiB of large entries, unpacking hashes them on a worker thread and still catches one changed byte", async () => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    await mkdir(dir);
    const text = csv(40 * MiB + 3);
    const random = noise(30 * MiB, "large");
    await writeFile(path.join(dir, "a.csv"), text);
    await writeFile(path.join(dir, "b.bin"), random);
    await writeFile(path.join(dir, "c.txt"), "small\n");
    const zip = path.join(root, "m.zip");
    const packed = await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    const out = path.join(root, "out");
    const unpacked = await unpackArchive(zip, out);
    assert.deepEqual(unpacked.files, packed.files);
    assert.equal(unpacked.files.find((f) => f.path === "b.bin")?.sha256, sha256(random));
    assert.ok((await readFile(path.join(out, "a.csv"))).equals(text));

    // One byte changed in the middle of the stored entry: its SHA-256 no longer matches the record.
    const { start, method } = await dataOf(zip, "b.bin");
    assert.equal(method, 0);
    const h = await open(zip, "r+");
    const byte = Buffer.alloc(1);
    await h.read(byte, 0, 1, start + 17 * MiB);
    byte[0] ^= 0x40;
    await h.write(byte, 0, 1, start + 17 * MiB);
    await h.close();
    const work = path.join(root, "work");
    await mkdir(work);
    await assert.rejects(unpackArchive(zip, path.join(work, "out")), (err) => isOmafError(err, "OMAF_ERR_DIGEST_MISMATCH") && /b\.bin/.test(err.message));
    assert.deepEqual(await listNames(work), [], "no target and no temporary folder");
  } finally {
    await cleanup(root);
  }
});

test("large entries read in chunks: a lying size, truncated deflate data and an abort are all refused cleanly", async () => {
  const root = await tempDir();
  try {
    const work = path.join(root, "work");
    await mkdir(work);
    const attempt = async (zip: Buffer, check: (err: unknown) => boolean, opts = {}) => {
      const file = path.join(root, "crafted.zip");
      await writeFile(file, zip);
      await assert.rejects(unpackArchive(file, path.join(work, "out"), opts), check);
      assert.deepEqual(await listNames(work), [], "no target and no temporary folder");
    };
    // Declares 2 MiB (so it is read in chunks) but inflates to 5 MiB.
    await attempt(craftZip([{ name: "liar.bin", compressed: await deflatedZeros(5 * MiB), method: 8, declaredSize: 2 * MiB, crc: 0 }]), (err) =>
      isOmafError(err, "OMAF_ERR_TOO_LARGE"),
    );
    // Declares 3 MiB, inflates to 2 MiB: the stream ends early.
    await attempt(craftZip([{ name: "short.bin", compressed: zlib.deflateRawSync(csv(2 * MiB)), method: 8, declaredSize: 3 * MiB, crc: 0 }]), (err) =>
      isOmafError(err, "OMAF_ERR_ARCHIVE_FORMAT"),
    );
    // The deflate data cut in half: the inflater runs out of input.
    const whole = zlib.deflateRawSync(noise(3 * MiB, "cut"), { level: 1 });
    await attempt(craftZip([{ name: "cut.bin", compressed: whole.subarray(0, whole.length >> 1), method: 8, declaredSize: 3 * MiB, crc: 0 }]), (err) =>
      isOmafError(err, "OMAF_ERR_ARCHIVE_FORMAT"),
    );
    // Aborted in the middle of an entry: the abort's reason, nothing left.
    const ac = new AbortController();
    const reason = new Error("stop");
    await attempt(craftZip([{ name: "big.csv", data: csv(8 * MiB) }]), (err) => err === reason, {
      signal: ac.signal,
      onProgress: (done: number) => {
        if (done >= 2 * MiB) ac.abort(reason);
      },
    });
    assert.equal(await exists(path.join(work, "out")), false);
  } finally {
    await cleanup(root);
  }
});
