// A model repository folder (`omaf serve --model-repository DIR`): each archive (.zip, .tar.gz, .tgz) or folder
// directly in DIR is one model; hidden entries and other files are left alone. Each entry has a signature — size and
// modification time of the archive, or of every file under the folder — so a poll can tell new, removed and changed
// entries apart without reading any model bytes.
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { archiveSuffix, withoutArchiveSuffix } from "../archive/archive-name.js";
import { OmafError, toOmafError } from "../errors.js";

/** Most files a folder entry's signature looks at; a folder beyond that is signed by its first ones. */
const SIGNATURE_FILE_LIMIT = 10_000;

/** The entries of `dir` (their paths) and their signatures. */
export async function scanRepository(dir: string): Promise<Map<string, string>> {
  let names: import("node:fs").Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const e = toOmafError(err, "OMAF_ERR_IO");
    if (e.code === "OMAF_ERR_NOT_FOUND") throw new OmafError("OMAF_ERR_NOT_FOUND", `the model repository ${dir} does not exist`, { path: dir });
    throw e;
  }
  const out = new Map<string, string>();
  for (const d of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (d.name.startsWith(".")) continue;
    const path = join(dir, d.name);
    // A link is followed, as an operator's symlinked model folder or archive should be.
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) out.set(path, await folderSignature(path));
    else if (st.isFile() && archiveSuffix(d.name) !== undefined) out.set(path, `${st.size}:${st.mtimeMs}`);
  }
  return out;
}

/** The name a repository entry goes by before its manifest is read (its file name without the archive suffix). */
export function entryName(path: string): string {
  return withoutArchiveSuffix(path.split(/[\\/]/).filter(Boolean).pop() ?? path);
}

/** A digest of every file's path, size and modification time under `root`. */
async function folderSignature(root: string): Promise<string> {
  const hash = createHash("sha256");
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (files >= SIGNATURE_FILE_LIMIT) return;
      const path = join(dir, d.name);
      if (d.isDirectory()) {
        await walk(path);
        continue;
      }
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      files++;
      hash.update(`${relative(root, path)}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  await walk(root);
  return hash.digest("hex");
}
