// Archive file names: one rule, in any case, for model folders, model repositories and `omaf unpack`'s default folder.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { archiveSuffix, withoutArchiveSuffix } from "../../src/archive/archive-name.js";
import { resolveModelSource } from "../../src/artifact/model-source.js";
import { entryName, scanRepository } from "../../src/registry/repository.js";
import { tempDir } from "../helpers/fixtures.js";

test("archive suffixes are found in any case and kept as written", () => {
  assert.equal(archiveSuffix("model.zip"), ".zip");
  assert.equal(archiveSuffix("MODEL.ZIP"), ".ZIP");
  assert.equal(archiveSuffix("m.Tar.Gz"), ".Tar.Gz");
  assert.equal(archiveSuffix("m.tgz"), ".tgz");
  for (const name of ["m.gz", "m.tar", "model.zip.bak", "zip", ".zip", ""]) assert.equal(archiveSuffix(name), undefined, name);
  assert.equal(withoutArchiveSuffix("iris-1.0.TAR.GZ"), "iris-1.0");
  assert.equal(withoutArchiveSuffix("notes.txt"), "notes.txt");
});

test("a model repository and a model folder take an upper-case archive name as an archive", async (t) => {
  const tmp = await tempDir("omaf-archive-name-");
  t.after(() => tmp.cleanup());
  const repo = join(tmp.dir, "repo");
  await mkdir(repo);
  await writeFile(join(repo, "IRIS.ZIP"), "not read here");
  await writeFile(join(repo, "readme.txt"), "left alone");
  assert.deepEqual([...(await scanRepository(repo)).keys()], [join(repo, "IRIS.ZIP")]);
  assert.equal(entryName(join(repo, "IRIS.ZIP")), "IRIS");
  const mounted = join(tmp.dir, "mnt");
  await mkdir(mounted);
  await writeFile(join(mounted, "Model.Tgz"), "not read here");
  assert.equal(await resolveModelSource(mounted), join(mounted, "Model.Tgz"));
});
