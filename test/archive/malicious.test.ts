// One crafted hostile archive per defence. Each must be refused with its own code, with nothing written at or
// outside the target and no temporary folder left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { link, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { validate } from "../../src/artifact/validate.js";
import { listFolder } from "../../src/archive/folder.js";
import { PROVENANCE_PATH } from "../../src/archive/provenance.js";
import { checkEntries, openArchive } from "../../src/archive/read.js";
import { resolveLimits } from "../../src/archive/limits.js";
import { unpackArchive, type UnpackLimits } from "../../src/archive/unpack.js";
import { writeZip } from "../../src/archive/write-zip.js";
import { isOmafError, type ErrorCode } from "../../src/errors.js";
import { cleanup, craftZip, deflatedZeros, exists, listNames, tempDir, type CraftEntry } from "./craft.js";

const run = promisify(execFile);

/** Unpacks `archive` into `<root>/work/out` and checks the refusal: code, nothing at the target, nothing beside it. */
async function refused(root: string, archive: Buffer | string, code: ErrorCode, limits?: Partial<UnpackLimits>): Promise<void> {
  const work = path.join(root, "work");
  await mkdir(work, { recursive: true });
  const file = typeof archive === "string" ? archive : path.join(root, `crafted-${randomBytes(4).toString("hex")}.zip`);
  if (typeof archive !== "string") await writeFile(file, archive);
  const rootBefore = await listNames(root);
  await assert.rejects(unpackArchive(file, path.join(work, "out"), { limits }), (err) => {
    assert.ok(isOmafError(err), `not an OmafError: ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
  assert.deepEqual(await listNames(work), [], "no target and no temporary folder");
  assert.deepEqual(await listNames(root), rootBefore, "nothing written beside the archive");
}

const file = (name: string, data: string | Buffer = "x", extra: Partial<CraftEntry> = {}): CraftEntry => ({
  name,
  data: Buffer.from(data),
  ...extra,
});

test("absolute paths are refused (OMAF_ERR_UNSAFE_ABSOLUTE_PATH)", async () => {
  const root = await tempDir();
  try {
    await refused(root, craftZip([file("ok.txt"), file("//tmp/omaf-evil-abs.txt")]), "OMAF_ERR_UNSAFE_ABSOLUTE_PATH");
    await refused(root, craftZip([file("C:\\evil.txt")]), "OMAF_ERR_UNSAFE_ABSOLUTE_PATH");
    await refused(root, craftZip([file("C:/evil.txt")]), "OMAF_ERR_UNSAFE_ABSOLUTE_PATH");
    assert.equal(await exists("/tmp/omaf-evil-abs.txt"), false);
  } finally {
    await cleanup(root);
  }
});

test("../ traversal is refused (OMAF_ERR_UNSAFE_TRAVERSAL)", async () => {
  const root = await tempDir();
  try {
    await refused(root, craftZip([file("ok.txt"), file("../evil.txt")]), "OMAF_ERR_UNSAFE_TRAVERSAL");
    await refused(root, craftZip([file("a/../../../evil.txt")]), "OMAF_ERR_UNSAFE_TRAVERSAL");
    await refused(root, craftZip([file("a\\..\\..\\evil.txt")]), "OMAF_ERR_UNSAFE_TRAVERSAL");
    assert.equal(await exists(path.join(root, "evil.txt")), false);
  } finally {
    await cleanup(root);
  }
});

test("symlink entries are refused (OMAF_ERR_UNSAFE_LINK)", async () => {
  const root = await tempDir();
  try {
    const zip = craftZip([file("link", "/etc/passwd", { method: 0, unixMode: 0o120777 }), file("link/x.txt", "pwned")]);
    const reader = await openArchive(await writeTo(root, "listed.zip", zip));
    assert.equal(reader.entries[0].type, "symlink");
    await reader.close();
    await refused(root, zip, "OMAF_ERR_UNSAFE_LINK");
  } finally {
    await cleanup(root);
  }
});

test("duplicate names, also after normalisation and file-versus-folder, are refused (OMAF_ERR_DUPLICATE_ENTRY)", async () => {
  const root = await tempDir();
  try {
    await refused(root, craftZip([file("a.txt", "one"), file("a.txt", "two")]), "OMAF_ERR_DUPLICATE_ENTRY");
    await refused(root, craftZip([file("/a.txt", "one"), file("./a.txt", "two")]), "OMAF_ERR_DUPLICATE_ENTRY");
    await refused(root, craftZip([file("a", "file"), file("a/b.txt", "nested")]), "OMAF_ERR_DUPLICATE_ENTRY");
    await refused(root, craftZip([file("a/b.txt", "nested"), file("a", "file")]), "OMAF_ERR_DUPLICATE_ENTRY");
    await refused(root, craftZip([{ name: "d/" }, file("d", "file")]), "OMAF_ERR_DUPLICATE_ENTRY");
  } finally {
    await cleanup(root);
  }
});

test("the total size limit is judged on declared sizes before extraction (OMAF_ERR_TOO_LARGE)", async () => {
  const root = await tempDir();
  try {
    const big = () => randomBytes(600 * 1024);
    await refused(root, craftZip([file("a.bin", big()), file("b.bin", big()), file("c.bin", big())]), "OMAF_ERR_TOO_LARGE", { maxTotalBytes: 1024 * 1024 });
    await refused(root, craftZip([file("a.bin", big())]), "OMAF_ERR_TOO_LARGE", { maxEntryBytes: 100 * 1024 });
  } finally {
    await cleanup(root);
  }
});

test("an entry that inflates past its declared size is stopped while streaming (OMAF_ERR_TOO_LARGE)", async () => {
  const root = await tempDir();
  try {
    // The header claims 1 KiB; the deflate stream holds 5 MiB of zeros.
    const zip = craftZip([file("ok.txt"), { name: "liar.bin", compressed: await deflatedZeros(5 * 1024 * 1024), method: 8, declaredSize: 1024, crc: 0 }]);
    await refused(root, zip, "OMAF_ERR_TOO_LARGE");
  } finally {
    await cleanup(root);
  }
});

test("a ratio bomb (200 MB of zeros deflated) is refused before inflating (OMAF_ERR_COMPRESSION_RATIO)", async () => {
  const root = await tempDir();
  try {
    const size = 200 * 1000 * 1000;
    const compressed = await deflatedZeros(size);
    assert.ok(size / compressed.length > 1000, `ratio ${size / compressed.length}`);
    await refused(root, craftZip([{ name: "bomb.bin", compressed, method: 8, declaredSize: size, crc: 0 }]), "OMAF_ERR_COMPRESSION_RATIO");
  } finally {
    await cleanup(root);
  }
});

test("too many entries are refused (OMAF_ERR_TOO_MANY_ENTRIES)", async () => {
  const root = await tempDir();
  try {
    const entries = Array.from({ length: 12 }, (_, i) => file(`f${i}.txt`));
    await refused(root, craftZip(entries), "OMAF_ERR_TOO_MANY_ENTRIES", { maxEntries: 10 });
  } finally {
    await cleanup(root);
  }
});

test("tampered content under the old provenance is refused (OMAF_ERR_DIGEST_MISMATCH, OMAF_ERR_PROVENANCE_INVALID)", async () => {
  const root = await tempDir();
  try {
    const dir = path.join(root, "model");
    await mkdir(path.join(dir, "w"), { recursive: true });
    await writeFile(path.join(dir, "odahuflow.model.yaml"), "model: {}\n");
    await writeFile(path.join(dir, "w/weights.bin"), randomBytes(4096));
    const zip = path.join(root, "packed.zip");
    await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });

    // Rebuild the zip from its own entries, with one change each time, keeping the original provenance record.
    const reader = await openArchive(zip);
    const original = new Map<string, Buffer>();
    for (const e of reader.entries) original.set(e.name, await reader.readEntry(e.name));
    await reader.close();
    const rebuild = (change: (m: Map<string, Buffer>) => void) => {
      const m = new Map(original);
      const record = m.get(PROVENANCE_PATH)!;
      m.delete(PROVENANCE_PATH);
      change(m);
      return craftZip([...[...m].map(([name, data]) => file(name, data)), file(PROVENANCE_PATH, record)]);
    };

    assert.deepEqual(
      await unpackArchive(
        await writeTo(
          root,
          "honest.zip",
          rebuild(() => {}),
        ),
        path.join(root, "honest"),
      ).then((r) => r.files.length),
      2,
    );
    const flipped = Buffer.from(original.get("w/weights.bin")!);
    flipped[100] ^= 0xff;
    const tampered = rebuild((m) => m.set("w/weights.bin", flipped));
    await refused(root, tampered, "OMAF_ERR_DIGEST_MISMATCH");
    // verify: false extracts it anyway, and the digest it reports is the content's, not the record's.
    const unverified = await unpackArchive(await writeTo(root, "tampered.zip", tampered), path.join(root, "unverified"), { verify: false });
    assert.notEqual(unverified.artifactDigest, unverified.provenance?.artifactDigest);
    await refused(
      root,
      rebuild((m) => m.set("w/weights.bin", Buffer.concat([flipped, Buffer.from("x")]))),
      "OMAF_ERR_DIGEST_MISMATCH",
    );
    await refused(
      root,
      rebuild((m) => m.set("extra.py", Buffer.from("import os"))),
      "OMAF_ERR_PROVENANCE_INVALID",
    );
    await refused(
      root,
      rebuild((m) => m.delete("w/weights.bin")),
      "OMAF_ERR_PROVENANCE_INVALID",
    );
    await refused(root, craftZip([file("a.txt"), file(PROVENANCE_PATH, "{not json")]), "OMAF_ERR_PROVENANCE_INVALID");
  } finally {
    await cleanup(root);
  }
});

test("corrupt data is refused (OMAF_ERR_ARCHIVE_FORMAT)", async () => {
  const root = await tempDir();
  try {
    // Bad CRC on an archive without provenance, an unsupported method, an encrypted entry, a truncated file.
    await refused(root, craftZip([file("a.txt", "hello", { crc: 1234 })]), "OMAF_ERR_ARCHIVE_FORMAT");
    const bzip = craftZip([file("a.txt", "hello")]);
    bzip.writeUInt16LE(12, 8);
    bzip.writeUInt16LE(12, bzip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10);
    await refused(root, bzip, "OMAF_ERR_ARCHIVE_FORMAT");
    const good = craftZip([file("a.txt", "hello"), file("b.txt", "world")]);
    await refused(root, good.subarray(0, good.length - 30), "OMAF_ERR_ARCHIVE_FORMAT");
    await refused(root, randomBytes(1000), "OMAF_ERR_ARCHIVE_FORMAT");
    await refused(root, craftZip([file("device", "", { unixMode: 0o020644 })]), "OMAF_ERR_ARCHIVE_FORMAT");
    const encrypted = craftZip([file("a.txt", "hello")]);
    encrypted.writeUInt16LE(0x0801, 6);
    encrypted.writeUInt16LE(0x0801, encrypted.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 8);
    await refused(root, encrypted, "OMAF_ERR_ARCHIVE_FORMAT");
    const garbledDeflate = craftZip([{ name: "a.bin", compressed: randomBytes(5000), method: 8, declaredSize: 20000, crc: 0 }]);
    await refused(root, garbledDeflate, "OMAF_ERR_ARCHIVE_FORMAT");
  } finally {
    await cleanup(root);
  }
});

test("gzip tar: ../ names, symlinks and hard links are refused", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(path.join(src, "inner"), { recursive: true });
    await writeFile(path.join(src, "escape.txt"), "outside");
    await writeFile(path.join(src, "inner/ok.txt"), "ok");
    // GNU tar keeps "../" only with -P.
    const traversal = path.join(root, "traversal.tar.gz");
    await run("tar", ["-czPf", traversal, "inner/ok.txt", "inner/../escape.txt"], { cwd: src });
    const listed = await openArchive(traversal);
    assert.ok(
      listed.entries.some((e) => e.name.includes("..")),
      JSON.stringify(listed.entries),
    );
    await listed.close();
    await refused(root, traversal, "OMAF_ERR_UNSAFE_TRAVERSAL");

    const dotdot = path.join(root, "dotdot.tar.gz");
    await run("tar", ["-czPf", dotdot, "../escape.txt"], { cwd: path.join(src, "inner") });
    await refused(root, dotdot, "OMAF_ERR_UNSAFE_TRAVERSAL");

    const withLink = path.join(root, "links");
    await mkdir(withLink);
    await writeFile(path.join(withLink, "a.txt"), "a");
    await symlink("/etc/passwd", path.join(withLink, "passwd"));
    const symTar = path.join(root, "sym.tar.gz");
    await run("tar", ["-czf", symTar, "-C", withLink, "."]);
    await refused(root, symTar, "OMAF_ERR_UNSAFE_LINK");

    const hard = path.join(root, "hard");
    await mkdir(hard);
    await writeFile(path.join(hard, "a.txt"), "a");
    await link(path.join(hard, "a.txt"), path.join(hard, "b.txt"));
    const hardTar = path.join(root, "hard.tar.gz");
    await run("tar", ["-czf", hardTar, "-C", hard, "."]);
    const reader = await openArchive(hardTar);
    assert.ok(reader.entries.some((e) => e.type === "symlink" && e.linkKind === "hard"));
    await reader.close();
    await refused(root, hardTar, "OMAF_ERR_UNSAFE_LINK");
  } finally {
    await cleanup(root);
  }
});

test("gzip tar: limits apply while scanning (entries, declared size, ratio)", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(src);
    for (let i = 0; i < 12; i++) await writeFile(path.join(src, `f${i}.txt`), `file ${i}`);
    // About 7 MB of text that gzip shrinks a few times (far from the default ratio limit).
    const rows = Array.from({ length: 400_000 }, (_, i) => `${i},${(i * 7919) % 100_003},${(i * 31) % 997}\n`).join("");
    await writeFile(path.join(src, "rows.csv"), rows);
    const tgz = path.join(root, "many.tar.gz");
    await run("tar", ["-czf", tgz, "-C", src, "."]);
    await refused(root, tgz, "OMAF_ERR_TOO_MANY_ENTRIES", { maxEntries: 10 });
    await refused(root, tgz, "OMAF_ERR_TOO_LARGE", { maxTotalBytes: 4 * 1024 * 1024 });
    await refused(root, tgz, "OMAF_ERR_COMPRESSION_RATIO", { maxRatio: 2 });
    await assert.rejects(openArchive(tgz, { limits: { maxRatio: 2 } }), (err) => isOmafError(err, "OMAF_ERR_COMPRESSION_RATIO"));
    const ok = await unpackArchive(tgz, path.join(root, "ok"));
    assert.equal(ok.files.length, 13);
  } finally {
    await cleanup(root);
  }
});

/** Data that deflates to a few KB per MB: under the per-entry ratio limit, so only sharing it makes a bomb. */
function lowEntropy(bytes: number): Buffer {
  const pattern = randomBytes(2000);
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += pattern.length) pattern.copy(out, i);
  return out;
}

test("an overlapping bomb (1,000 entries sharing one deflate stream) is refused from the listing (OMAF_ERR_OVERLAPPING_ENTRIES)", async () => {
  const root = await tempDir();
  try {
    const data = lowEntropy(1024 * 1024);
    const entries: CraftEntry[] = [file("odahuflow.model.yaml", "model: {}\n"), file("blob0.bin", data)];
    for (let i = 1; i < 1000; i++) entries.push({ name: `blob${i}.bin`, data, sharesLocalOf: 1 });
    const zip = craftZip(entries);
    const listed = await openArchive(await writeTo(root, "listed.zip", zip));
    const declared = listed.entries.reduce((n, e) => n + e.size, 0);
    for (const e of listed.entries) assert.ok(e.size / Math.max(e.compressedSize, 1) < 1000, "each entry alone passes the ratio limit");
    assert.ok(declared / zip.length > 10_000, `${zip.length} bytes declare ${declared}`);
    // The whole-archive bound refuses it on its own, from the declared sizes.
    assert.deepEqual(
      checkEntries(listed.entries, resolveLimits(), listed.fileSize).map((p) => p.code),
      ["OMAF_ERR_ARCHIVE_RATIO"],
    );
    await listed.close();

    const codes = (await validate(path.join(root, "listed.zip"))).issues.map((i) => i.code);
    assert.ok(codes.includes("OMAF_ERR_OVERLAPPING_ENTRIES"), codes.join());
    assert.ok(codes.includes("OMAF_ERR_ARCHIVE_RATIO"), codes.join());
    await refused(root, zip, "OMAF_ERR_OVERLAPPING_ENTRIES");
  } finally {
    await cleanup(root);
  }
});

test("an entry whose data covers the next entry's local record is refused (OMAF_ERR_OVERLAPPING_ENTRIES)", async () => {
  const root = await tempDir();
  try {
    // b.txt's whole local record, stored inside a.bin's data: both names match their headers, both CRCs are right.
    const inner = craftZip([file("b.txt", "inner")]);
    const innerRecord = inner.subarray(0, inner.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
    const prefix = Buffer.from("outer data ");
    const zip = craftZip([
      { name: "a.bin", data: Buffer.concat([prefix, innerRecord]), method: 0 },
      { name: "b.txt", data: Buffer.from("inner"), pointAt: 30 + "a.bin".length + prefix.length },
    ]);
    await refused(root, zip, "OMAF_ERR_OVERLAPPING_ENTRIES");
    const codes = (await validate(await writeTo(root, "v.zip", zip))).issues.map((i) => i.code);
    assert.deepEqual(
      codes.filter((c) => c.startsWith("OMAF_ERR_O")),
      ["OMAF_ERR_OVERLAPPING_ENTRIES"],
    );
  } finally {
    await cleanup(root);
  }
});

test("unlisted bytes between entries or before the central directory are refused; real data descriptors are not", async () => {
  const root = await tempDir();
  try {
    await refused(root, craftZip([file("a.txt", "hello", { after: Buffer.from("hidden payload") }), file("b.txt", "world")]), "OMAF_ERR_OVERLAPPING_ENTRIES");
    await refused(root, craftZip([file("a.txt", "hello"), file("b.txt", "world", { after: Buffer.alloc(16) })]), "OMAF_ERR_OVERLAPPING_ENTRIES");
    // A descriptor of an allowed size is only allowed where bit 3 announces it.
    const descriptor = (data: Buffer, signature: boolean) => {
      const d = Buffer.alloc(signature ? 16 : 12);
      if (signature) d.writeUInt32LE(0x08074b50, 0);
      const at = signature ? 4 : 0;
      d.writeUInt32LE(zlib.crc32(data) >>> 0, at);
      d.writeUInt32LE(zlib.deflateRawSync(data).length, at + 4);
      d.writeUInt32LE(data.length, at + 8);
      return d;
    };
    const hello = Buffer.from("hello hello hello");
    for (const signature of [true, false]) {
      const ok = craftZip([
        file("a.txt", hello, { flags: 0x0808, after: descriptor(hello, signature) }),
        file("b.txt", hello, { flags: 0x0808, after: descriptor(hello, signature) }),
      ]);
      const r = await unpackArchive(await writeTo(root, `descriptor-${signature}.zip`, ok), path.join(root, `descriptor-${signature}`));
      assert.equal(r.files.length, 2);
    }
    await refused(root, craftZip([file("a.txt", hello, { after: descriptor(hello, true) }), file("b.txt", "x")]), "OMAF_ERR_OVERLAPPING_ENTRIES");
  } finally {
    await cleanup(root);
  }
});

test("zips from other writers (Info-ZIP streaming with data descriptors, Python zipfile) pass the layout checks", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(path.join(src, "d"), { recursive: true });
    await writeFile(path.join(src, "a.txt"), "alpha ".repeat(1000));
    await writeFile(path.join(src, "d/b.bin"), randomBytes(70_000));
    const streamed = path.join(root, "streamed.zip");
    // Writing to a pipe, zip cannot seek back: every entry gets a data descriptor.
    await run("bash", ["-c", `cd ${JSON.stringify(src)} && zip -q -r - . | cat > ${JSON.stringify(streamed)}`]);
    const listed = await openArchive(streamed);
    assert.deepEqual(listed.problems, []);
    await listed.close();
    assert.equal((await unpackArchive(streamed, path.join(root, "streamed"))).files.length, 2);

    const py = path.join(root, "python.zip");
    const script =
      "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n  z.writestr('d/', '')\n  z.write(sys.argv[2], 'a.txt')\n  z.writestr('c.txt', 'x' * 5000)\n";
    await run("python3", ["-c", script, py, path.join(src, "a.txt")]);
    assert.equal((await unpackArchive(py, path.join(root, "python"))).files.length, 2);
  } finally {
    await cleanup(root);
  }
});

test("a local header naming another file than the central directory is refused (OMAF_ERR_ENTRY_NAME_MISMATCH)", async () => {
  const root = await tempDir();
  try {
    const zip = craftZip([file("odahuflow.model.yaml", "model: {}\n"), file("model/weights.bin", "weights", { localName: "../../evil.sh" })]);
    await refused(root, zip, "OMAF_ERR_ENTRY_NAME_MISMATCH");
    const issues = (await validate(await writeTo(root, "v.zip", zip))).issues;
    const mismatch = issues.find((i) => i.code === "OMAF_ERR_ENTRY_NAME_MISMATCH");
    assert.ok(mismatch, JSON.stringify(issues));
    assert.equal(mismatch.path, "model/weights.bin");
    assert.equal(mismatch.severity, "error");
  } finally {
    await cleanup(root);
  }
});

test("the archive's declared total is bounded by its own size (OMAF_ERR_ARCHIVE_RATIO, maxArchiveRatio)", async () => {
  const root = await tempDir();
  try {
    // Honest, text-like data: 2 MiB that deflate about tenfold.
    const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `row ${i % 977},${(i * 31) % 1000}\n`).join("")).subarray(0, 2 * 1024 * 1024);
    const zip = craftZip([file("data.csv", text)]);
    const ratio = text.length / zip.length;
    assert.ok(ratio > 3 && ratio < 1000, `ratio ${ratio}`);
    await refused(root, zip, "OMAF_ERR_ARCHIVE_RATIO", { maxArchiveRatio: 2, maxRatio: 10_000 });
    // Below the ratio floor the bound does not apply.
    await unpackArchive(await writeTo(root, "ok.zip", zip), path.join(root, "floor"), {
      limits: { maxArchiveRatio: 2, maxRatio: 10_000, ratioFloorBytes: 4 * 1024 * 1024 },
    });
    await unpackArchive(await writeTo(root, "ok2.zip", zip), path.join(root, "ok"));
  } finally {
    await cleanup(root);
  }
});

test("gzip tar: the whole-archive bound is the stream's ratio, judged while scanning", async () => {
  const root = await tempDir();
  try {
    const src = path.join(root, "src");
    await mkdir(src);
    await writeFile(path.join(src, "zeros.bin"), Buffer.alloc(3 * 1024 * 1024));
    const tgz = path.join(root, "zeros.tar.gz");
    await run("tar", ["-czf", tgz, "-C", src, "."]);
    // Scanning stops at maxRatio; once listed, the declared total is bounded by maxArchiveRatio like a zip's.
    await refused(root, tgz, "OMAF_ERR_ARCHIVE_RATIO", { maxArchiveRatio: 100 });
    await refused(root, tgz, "OMAF_ERR_COMPRESSION_RATIO", { maxRatio: 100 });
  } finally {
    await cleanup(root);
  }
});

async function writeTo(root: string, name: string, data: Buffer): Promise<string> {
  const p = path.join(root, name);
  await writeFile(p, data);
  return p;
}
