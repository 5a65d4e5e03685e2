import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { listFolder } from "../../src/archive/folder.js";
import { PROVENANCE_PATH, contentDigest, parseProvenance } from "../../src/archive/provenance.js";
import { openArchive } from "../../src/archive/read.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { writeZip } from "../../src/archive/write-zip.js";
import { isOmafError } from "../../src/errors.js";
import { cleanup, exists, listNames, readTree, tempDir } from "./craft.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

/** A model folder with nested folders, empty and unicode-named files, an executable, and large streamed files. */
async function modelFolder(root: string): Promise<string> {
  const dir = path.join(root, "model");
  const text = Array.from({ length: 60_000 }, (_, i) => `row ${i},${(i * 7919) % 10007},label-${i % 13}\n`).join("");
  const tree: Record<string, string | Buffer> = {
    "odahuflow.model.yaml": "model:\n  name: m\n  version: 1.0.0-1\n",
    "empty.txt": "",
    "src/pkg/deep/er/module.py": "def predict(x):\n    return x\n",
    "src/pkg/__init__.py": "",
    "ünïcödé/файл-名前.txt": "unicode ✓\n",
    "run.sh": "#!/bin/sh\necho hi\n",
    "data/train.csv": text, // > 1 MiB: streamed and deflated
    "weights/random.bin": randomBytes(1536 * 1024), // > 1 MiB, incompressible: streamed and stored
    "weights/small-random.bin": randomBytes(200 * 1024), // buffered, stored
    "weights/zeros.bin": Buffer.alloc(300 * 1024), // buffered, deflated
  };
  for (const [rel, content] of Object.entries(tree)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  await chmod(path.join(dir, "run.sh"), 0o755);
  return dir;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("pack → unzip -t → unpack gives the same tree, digests and modes", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "model.zip");
    const listed = await listFolder(dir);
    const progress: number[] = [];
    const packed = await writeZip({ dir, files: listed, output: zip, provenance: { packerVersion: "9.9.9" }, onProgress: (d) => progress.push(d) });
    assert.equal(packed.bytes, (await stat(zip)).size);
    assert.equal(
      progress.at(-1),
      listed.reduce((n, f) => n + f.size, 0),
    );

    // Info-ZIP accepts it, and the provenance record is the last entry.
    const tested = await run("unzip", ["-t", zip]);
    assert.match(tested.stdout, /No errors detected/);
    const names = (await run("unzip", ["-Z1", zip])).stdout.trim().split("\n");
    assert.equal(names.at(-1), PROVENANCE_PATH);
    assert.deepEqual(
      names.slice(0, -1),
      listed.map((f) => f.path),
    );
    // Directories are implied, not stored; dates are fixed; modes are 0644 / 0755.
    const verbose = (await run("unzip", ["-Zl", zip])).stdout;
    assert.match(verbose, /-rwxr-xr-x .* run\.sh/);
    assert.match(verbose, /-rw-r--r-- .* data\/train\.csv/);
    assert.match(verbose, /80-Jan-01 00:00 /);
    assert.match(verbose, / stor .* weights\/random\.bin/);
    assert.match(verbose, / defN .* data\/train\.csv/);

    const source = await readTree(dir);
    const out = path.join(root, "out");
    const unpacked = await unpackArchive(zip, out);
    assert.equal(unpacked.artifactDigest, packed.artifactDigest);
    assert.deepEqual(unpacked.files, packed.files);
    assert.equal(unpacked.provenance?.artifactDigest, packed.artifactDigest);
    const result = await readTree(out);
    const record = result.get(PROVENANCE_PATH)!;
    result.delete(PROVENANCE_PATH);
    assert.deepEqual(result, source);
    assert.deepEqual(parseProvenance(record).files, packed.files);
    for (const f of packed.files) assert.equal(f.sha256, sha256(source.get(f.path)!), f.path);
    assert.equal(contentDigest(packed.files), packed.artifactDigest);
    assert.equal((await stat(path.join(out, "run.sh"))).mode & 0o111, 0o111);
    assert.equal((await stat(path.join(out, "data/train.csv"))).mode & 0o111, 0);
    assert.deepEqual(await listNames(root), ["model", "model.zip", "out"], "no temp files left beside the outputs");

    // Info-ZIP extracts the same bytes.
    const byUnzip = path.join(root, "by-unzip");
    await run("unzip", ["-q", zip, "-d", byUnzip]);
    const other = await readTree(byUnzip);
    other.delete(PROVENANCE_PATH);
    assert.deepEqual(other, source);
  } finally {
    await cleanup(root);
  }
});

test("deterministic: two packs are byte-identical, also from processes in different time zones", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const files = await listFolder(dir);
    const a = path.join(root, "a.zip");
    const b = path.join(root, "b.zip");
    await writeZip({ dir, files, output: a, provenance: { packerVersion: "0.0.0-test" } });
    await writeZip({ dir, files: [...files].reverse(), output: b, provenance: { packerVersion: "0.0.0-test" } });
    assert.ok((await readFile(a)).equals(await readFile(b)), "same process");

    const child = path.join(here, "pack-child.ts");
    const zones = ["Pacific/Kiritimati", "America/St_Johns"];
    const outs: string[] = [];
    for (const tz of zones) {
      const out = path.join(root, `${tz.replace("/", "-")}.zip`);
      const { stdout } = await run(process.execPath, ["--import", "tsx", child, dir, out], { env: { ...process.env, TZ: tz } });
      assert.equal(JSON.parse(stdout).tz, tz, "the child really ran in that zone");
      outs.push(out);
    }
    const bytes = await readFile(a);
    for (const out of outs) assert.ok((await readFile(out)).equals(bytes), out);

    // Touching a file (mtime only) changes nothing; changing content changes the digest.
    const before = (await listFolder(dir)).map((f) => f.mtimeMs);
    await writeFile(path.join(dir, "empty.txt"), "");
    assert.notDeepEqual(
      (await listFolder(dir)).map((f) => f.mtimeMs),
      before,
    );
    const c = path.join(root, "c.zip");
    await writeZip({ dir, files: await listFolder(dir), output: c, provenance: { packerVersion: "0.0.0-test" } });
    assert.ok((await readFile(c)).equals(bytes), "mtime does not leak into the zip");
  } finally {
    await cleanup(root);
  }
});

test("non-deterministic mode records createdAt and file times", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "m.zip");
    const r = await writeZip({ dir, files: await listFolder(dir), output: zip, deterministic: false, provenance: { packerVersion: "1" } });
    const reader = await openArchive(zip);
    try {
      const p = parseProvenance(await reader.readEntry(PROVENANCE_PATH));
      assert.ok(p.createdAt && Math.abs(Date.parse(p.createdAt) - Date.now()) < 10 * 60_000);
      assert.equal(p.artifactDigest, r.artifactDigest);
    } finally {
      await reader.close();
    }
    assert.doesNotMatch((await run("unzip", ["-Zl", zip])).stdout, /80-Jan-01/);
  } finally {
    await cleanup(root);
  }
});

test("an existing output is refused unless force; force replaces it", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const files = await listFolder(dir);
    const zip = path.join(root, "m.zip");
    await writeFile(zip, "old");
    await assert.rejects(writeZip({ dir, files, output: zip, provenance: { packerVersion: "1" } }), (err) => isOmafError(err, "OMAF_ERR_TARGET_EXISTS"));
    assert.equal(await readFile(zip, "utf8"), "old");
    await writeZip({ dir, files, output: zip, force: true, provenance: { packerVersion: "1" } });
    await run("unzip", ["-tq", zip]);
    assert.deepEqual(await listNames(root), ["m.zip", "model"]);
  } finally {
    await cleanup(root);
  }
});

test("the output zip inside the packed folder is left out of the listing", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(dir, "self.zip");
    await writeZip({ dir, files: await listFolder(dir, { exclude: [zip] }), output: zip, provenance: { packerVersion: "1" } });
    const again = path.join(dir, "self2.zip");
    await writeZip({ dir, files: await listFolder(dir, { exclude: [zip, again] }), output: again, provenance: { packerVersion: "1" } });
    assert.ok((await readFile(zip)).equals(await readFile(again)));
  } finally {
    await cleanup(root);
  }
});

test("abort while packing leaves neither output nor temporary file", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "m.zip");
    const ac = new AbortController();
    const reason = new Error("stop");
    let calls = 0;
    await assert.rejects(
      writeZip({
        dir,
        files: await listFolder(dir),
        output: zip,
        provenance: { packerVersion: "1" },
        signal: ac.signal,
        onProgress: (done, total) => {
          calls++;
          if (done > total / 4) ac.abort(reason);
        },
      }),
      (err) => err === reason,
    );
    assert.ok(calls > 0);
    assert.equal(await exists(zip), false);
    assert.deepEqual(await listNames(root), ["model"]);

    // Already aborted: nothing starts.
    await assert.rejects(
      writeZip({ dir, files: [], output: zip, provenance: { packerVersion: "1" }, signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.deepEqual(await listNames(root), ["model"]);
  } finally {
    await cleanup(root);
  }
});

test("a file that disappears while packing fails cleanly", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const files = await listFolder(dir);
    files.push({ path: "zzz-gone.bin", absPath: path.join(dir, "zzz-gone.bin"), size: 5, mode: 0o644, mtimeMs: 0 });
    const zip = path.join(root, "m.zip");
    await assert.rejects(writeZip({ dir, files, output: zip, provenance: { packerVersion: "1" } }), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
    assert.deepEqual(await listNames(root), ["model"]);
  } finally {
    await cleanup(root);
  }
});

test("openArchive lists a packed zip and reads entries", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "m.zip");
    await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    const reader = await openArchive(zip);
    try {
      assert.equal(reader.format, "zip");
      const byName = new Map(reader.entries.map((e) => [e.name, e]));
      assert.equal(byName.get("run.sh")?.mode, 0o755);
      assert.equal(byName.get("weights/random.bin")?.size, 1536 * 1024);
      assert.equal(byName.get("weights/random.bin")?.compressedSize, 1536 * 1024, "stored");
      assert.ok(byName.get("data/train.csv")!.compressedSize < byName.get("data/train.csv")!.size / 2, "deflated");
      assert.equal(byName.get("ünïcödé/файл-名前.txt")?.type, "file");
      assert.equal((await reader.readEntry("ünïcödé/файл-名前.txt")).toString(), "unicode ✓\n");
      await assert.rejects(reader.readEntry("data/train.csv", 1000), (err) => isOmafError(err, "OMAF_ERR_TOO_LARGE"));
      await assert.rejects(reader.readEntry("missing"), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
      const chunks: Buffer[] = [];
      for await (const c of await reader.openEntryStream("data/train.csv")) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(await readFile(path.join(dir, "data/train.csv"))));
    } finally {
      await reader.close();
    }
  } finally {
    await cleanup(root);
  }
});

test("unpack refuses a non-empty target unless force, and then replaces it atomically", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "m.zip");
    await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    const out = path.join(root, "out");
    await mkdir(out);
    await writeFile(path.join(out, "old.txt"), "old");
    await assert.rejects(unpackArchive(zip, out), (err) => isOmafError(err, "OMAF_ERR_TARGET_EXISTS"));
    assert.deepEqual(await listNames(out), ["old.txt"]);
    await unpackArchive(zip, out, { force: true });
    assert.equal(await exists(path.join(out, "old.txt")), false);
    assert.equal(await exists(path.join(out, "run.sh")), true);
    assert.deepEqual(await listNames(root), ["m.zip", "model", "out"]);

    // An empty folder is fine without force.
    const empty = path.join(root, "empty");
    await mkdir(empty);
    await unpackArchive(zip, empty);
    assert.equal(await exists(path.join(empty, "run.sh")), true);
  } finally {
    await cleanup(root);
  }
});

test("abort while unpacking leaves no target and no temporary folder", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const zip = path.join(root, "m.zip");
    await writeZip({ dir, files: await listFolder(dir), output: zip, provenance: { packerVersion: "1" } });
    const ac = new AbortController();
    const reason = new Error("stop");
    await assert.rejects(
      unpackArchive(zip, path.join(root, "out"), {
        signal: ac.signal,
        concurrency: 1,
        onProgress: (done, total) => {
          if (done > total / 4) ac.abort(reason);
        },
      }),
      (err) => err === reason,
    );
    assert.deepEqual(await listNames(root), ["m.zip", "model"]);
  } finally {
    await cleanup(root);
  }
});

test("level 0 stores everything and storeIncompressible: never deflates everything; both round-trip", async () => {
  const root = await tempDir();
  try {
    const dir = await modelFolder(root);
    const files = await listFolder(dir);
    const stored = path.join(root, "stored.zip");
    const deflated = path.join(root, "deflated.zip");
    const a = await writeZip({ dir, files, output: stored, level: 0, provenance: { packerVersion: "1" } });
    const b = await writeZip({ dir, files, output: deflated, storeIncompressible: "never", provenance: { packerVersion: "1" } });
    assert.equal(a.artifactDigest, b.artifactDigest, "the digest is about content, not compression");
    assert.doesNotMatch((await run("unzip", ["-Zl", stored])).stdout, / defN /);
    assert.doesNotMatch(
      (await run("unzip", ["-Zl", deflated])).stdout
        .split("\n")
        .filter((l) => l.includes(".bin") || l.includes(".csv"))
        .join("\n"),
      / stor /,
    );
    for (const zip of [stored, deflated]) {
      await run("unzip", ["-tq", zip]);
      const out = path.join(root, path.basename(zip, ".zip"));
      assert.equal((await unpackArchive(zip, out)).artifactDigest, a.artifactDigest);
    }
  } finally {
    await cleanup(root);
  }
});

test("hashFile streams a file's SHA-256", async () => {
  const { hashFile } = await import("../../src/archive/hash.js");
  const root = await tempDir();
  try {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(path.join(root, "f"), content);
    assert.equal(await hashFile(path.join(root, "f")), sha256(content));
    await assert.rejects(hashFile(path.join(root, "missing")), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
  } finally {
    await cleanup(root);
  }
});
