// resolveModelSource: the folder KServe's storage initializer fills (/mnt/models) stands for the artifact in it.
import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveModelSource } from "../../src/artifact/model-source.js";
import { isOmafError } from "../../src/errors.js";
import { seedFolder, tempDir } from "../helpers/fixtures.js";

describe("resolveModelSource", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-model-source-");
  });
  after(async () => {
    await tmp?.cleanup();
  });
  const dir = async (name: string) => {
    const d = path.join(tmp.dir, name);
    await mkdir(d, { recursive: true });
    return d;
  };

  it("answers a file, and a folder with a manifest at its root, as they are", async () => {
    const model = await seedFolder(await dir("plain"));
    assert.equal(await resolveModelSource(model), model);
    const zip = path.join(tmp.dir, "plain.zip");
    await writeFile(zip, "not even a zip: the opener judges that, not the resolver");
    assert.equal(await resolveModelSource(zip), zip);
  });

  it("answers the only sub-folder when it holds the manifest (an archive with a leading folder), passing over hidden entries and lost+found", async () => {
    const root = await dir("nested");
    const model = await seedFolder(root, { name: "iris-1.0.0" });
    await mkdir(path.join(root, "lost+found"));
    await writeFile(path.join(root, ".storage-initializer"), "x");
    assert.equal(await resolveModelSource(root), model);
  });

  it("answers the only .zip, .tar.gz or .tgz file in the folder", async () => {
    for (const name of ["model.zip", "model.tar.gz", "model.TGZ"]) {
      const root = await dir(`archive-${name}`);
      await writeFile(path.join(root, name), "archive bytes");
      await writeFile(path.join(root, "README.md"), "notes next to the artifact");
      assert.equal(await resolveModelSource(root), path.join(root, name));
    }
  });

  it("follows a symbolic link to the artifact file (volume mounts are made of them)", async () => {
    const root = await dir("linked");
    const target = path.join(tmp.dir, "elsewhere.zip");
    await writeFile(target, "archive bytes");
    await symlink(target, path.join(root, "model.zip"));
    assert.equal(await resolveModelSource(root), path.join(root, "model.zip"));
  });

  it("refuses a folder that holds no artifact with OMAF_ERR_NO_ARTIFACT naming what it holds", async () => {
    const cases: Array<[string, (root: string) => Promise<void>, RegExp]> = [
      ["empty", async () => {}, /it is empty/],
      [
        "two-zips",
        async (root) => {
          await writeFile(path.join(root, "a.zip"), "a");
          await writeFile(path.join(root, "b.zip"), "b");
        },
        /"a\.zip", "b\.zip"/,
      ],
      [
        "folder-without-manifest",
        async (root) => {
          await mkdir(path.join(root, "model"));
          await writeFile(path.join(root, "model", "weights.bin"), "w");
        },
        /"model"/,
      ],
      [
        "two-model-folders",
        async (root) => {
          await seedFolder(root, { name: "one" });
          await seedFolder(root, { name: "two" });
        },
        /"one", "two"/,
      ],
    ];
    for (const [name, fill, names] of cases) {
      const root = await dir(`bad-${name}`);
      await fill(root);
      await assert.rejects(resolveModelSource(root), (err: unknown) => {
        assert.ok(isOmafError(err, "OMAF_ERR_NO_ARTIFACT"), `${name}: ${String(err)}`);
        assert.match(err.message, names);
        assert.match(err.message, /no odahuflow\.model\.yaml at its root or in its only sub-folder/);
        return true;
      });
    }
  });

  it("a missing path is OMAF_ERR_NOT_FOUND", async () => {
    await assert.rejects(resolveModelSource(path.join(tmp.dir, "nope")), (err: unknown) => isOmafError(err, "OMAF_ERR_NOT_FOUND"));
  });
});
