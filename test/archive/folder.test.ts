import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { listFolder } from "../../src/archive/folder.js";
import { isOmafError } from "../../src/errors.js";
import { cleanup, tempDir } from "./craft.js";

async function files(root: string, tree: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(tree)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

test("listFolder: files only, posix paths, byte order, sizes and modes", async () => {
  const root = await tempDir();
  try {
    await files(root, { "b.txt": "bb", "a/z.txt": "z", "a/B.txt": "B", "Z.txt": "", "é.txt": "e", "z.txt": "zz" });
    await chmod(path.join(root, "b.txt"), 0o755);
    const listed = await listFolder(root);
    // Byte order: upper case before lower case, é (0xC3 0xA9) after ASCII.
    assert.deepEqual(
      listed.map((f) => f.path),
      ["Z.txt", "a/B.txt", "a/z.txt", "b.txt", "z.txt", "é.txt"],
    );
    const b = listed.find((f) => f.path === "b.txt")!;
    assert.equal(b.size, 2);
    assert.equal(b.mode & 0o777, 0o755);
    assert.equal(b.absPath, path.join(root, "b.txt"));
  } finally {
    await cleanup(root);
  }
});

test("listFolder: default ignores, .omafignore (gitignore syntax), extra patterns and excluded paths", async () => {
  const root = await tempDir();
  try {
    await files(root, {
      "keep.py": "",
      ".git/HEAD": "",
      "sub/.hg/x": "",
      "__pycache__/m.cpython-311.pyc": "",
      "pkg/__pycache__/n.pyc": "",
      "pkg/m.pyc": "",
      ".DS_Store": "",
      "node_modules/.cache/x": "",
      "web/node_modules/.cache/y": "",
      "node_modules/lib/index.js": "",
      ".omaf/provenance.json": "{}",
      "deep/.omaf/kept.json": "",
      ".omafignore": "*.log\n/data/\n!important.log\nsecret*\n",
      "run.log": "",
      "important.log": "",
      "data/big.csv": "",
      "sub/data/small.csv": "",
      "secret.txt": "",
      "tmp/scratch.bin": "",
      "out.zip": "",
    });
    const listed = await listFolder(root, { ignore: ["tmp/"], exclude: [path.join(root, "out.zip")] });
    assert.deepEqual(
      listed.map((f) => f.path),
      ["deep/.omaf/kept.json", "important.log", "keep.py", "node_modules/lib/index.js", "sub/data/small.csv"],
    );
  } finally {
    await cleanup(root);
  }
});

test("listFolder: a link to a file inside the folder is followed", async () => {
  const root = await tempDir();
  try {
    await files(root, { "real/weights.bin": "12345" });
    await symlink("real/weights.bin", path.join(root, "alias.bin"));
    const listed = await listFolder(root);
    assert.deepEqual(
      listed.map((f) => [f.path, f.size]),
      [
        ["alias.bin", 5],
        ["real/weights.bin", 5],
      ],
    );
  } finally {
    await cleanup(root);
  }
});

test("listFolder: links outside the folder, to folders, or dangling fail with OMAF_ERR_UNSAFE_LINK", async () => {
  const outside = await tempDir();
  await writeFile(path.join(outside, "secret"), "s");
  const cases: [string, (root: string) => Promise<void>][] = [
    ["outside", (root) => symlink(path.join(outside, "secret"), path.join(root, "leak"))],
    ["relative escape", (root) => symlink("../" + path.basename(outside) + "/secret", path.join(root, "leak"))],
    [
      "folder",
      async (root) => {
        await mkdir(path.join(root, "d"));
        await symlink("d", path.join(root, "leak"));
      },
    ],
    ["dangling", (root) => symlink("nowhere", path.join(root, "leak"))],
  ];
  try {
    for (const [label, make] of cases) {
      const root = await tempDir();
      try {
        await writeFile(path.join(root, "ok.txt"), "x");
        await make(root);
        await assert.rejects(listFolder(root), (err) => isOmafError(err, "OMAF_ERR_UNSAFE_LINK"), label);
      } finally {
        await cleanup(root);
      }
    }
  } finally {
    await cleanup(outside);
  }
});

test("listFolder: a missing folder and a file instead of a folder", async () => {
  const root = await tempDir();
  try {
    await assert.rejects(listFolder(path.join(root, "nope")), (err) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
    await writeFile(path.join(root, "f"), "");
    await assert.rejects(listFolder(path.join(root, "f")), (err) => isOmafError(err, "OMAF_ERR_USAGE"));
  } finally {
    await cleanup(root);
  }
});
