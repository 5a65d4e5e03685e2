// CRC-32 checks stay on whatever the running Node offers: without zlib.crc32 a JavaScript CRC-32 takes over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cleanup, craftZip, exists, listNames, tempDir } from "./craft.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("crc-child.ts", import.meta.url));

async function unpackWithoutZlibCrc(zip: string, dest: string): Promise<{ crc32: string; files?: number; code?: string }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", child, zip, dest]);
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

test("without zlib.crc32 a corrupt entry still fails its CRC-32 check, and a sound one passes", async () => {
  const root = await tempDir();
  try {
    // Larger than one chunk, so the CRC is carried from chunk to chunk.
    const data = randomBytes(3 * 1024 * 1024);
    const good = path.join(root, "good.zip");
    await writeFile(
      good,
      craftZip([
        { name: "a.bin", data },
        { name: "b.txt", data: Buffer.from("hello") },
      ]),
    );
    const ok = await unpackWithoutZlibCrc(good, path.join(root, "good"));
    assert.equal(ok.crc32, "undefined", "zlib.crc32 is hidden in the child");
    assert.equal(ok.files, 2);

    for (const [name, entries] of [
      ["small.zip", [{ name: "b.txt", data: Buffer.from("hello"), crc: 1234 }]],
      ["large.zip", [{ name: "a.bin", data, crc: 1234 }]],
    ] as const) {
      const bad = path.join(root, name);
      await writeFile(bad, craftZip([...entries]));
      const out = path.join(root, `out-${name}`);
      const refused = await unpackWithoutZlibCrc(bad, out);
      assert.equal(refused.code, "OMAF_ERR_ARCHIVE_FORMAT", JSON.stringify(refused));
      assert.equal(await exists(out), false);
    }
    assert.deepEqual(
      (await listNames(root)).filter((n) => n.endsWith(".tmp")),
      [],
      "no temporary folder left",
    );
  } finally {
    await cleanup(root);
  }
});
