// resolveModelSource: what `omaf serve` serves when it is given a folder that an artifact was put in rather than the
// artifact itself — KServe's /mnt/models. KServe's storage initializer downloads the storageUri there and unpacks a
// .zip or .tar.gz, so the folder holds the unpacked artifact (its manifest at the root, or inside one leading folder
// that the archive had), or, when the URI named a folder, the artifact file as it was uploaded.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { archiveSuffix } from "../archive/archive-name.js";
import { OmafError, toOmafError } from "../errors.js";
import { MANIFEST_NAMES } from "../manifest/parse.js";

/** Names a model folder may hold besides the artifact: a volume's own bookkeeping, never part of a model. */
const IGNORED = new Set(["lost+found"]);

/**
 * The artifact or model folder that `source` stands for: a file as it is; a folder with a manifest at its root as it
 * is; else the folder's only sub-folder when that has a manifest at its root; else the folder's only `.zip`,
 * `.tar.gz` or `.tgz` file. Hidden entries and `lost+found` are passed over. OMAF_ERR_NO_ARTIFACT when none of these
 * fits, naming what the folder holds.
 */
export async function resolveModelSource(source: string): Promise<string> {
  const st = await stat(source).catch((err: unknown) => {
    throw toOmafError(err);
  });
  if (!st.isDirectory() || (await hasManifest(source))) return source;

  const names = (await readdir(source)).filter((n) => !n.startsWith(".") && !IGNORED.has(n)).sort();
  const entries = await Promise.all(names.map(async (name) => ({ name, st: await stat(path.join(source, name)).catch(() => undefined) })));
  const folders = entries.filter((e) => e.st?.isDirectory());
  if (entries.length === 1 && folders.length === 1 && (await hasManifest(path.join(source, folders[0].name)))) return path.join(source, folders[0].name);
  const archives = entries.filter((e) => e.st?.isFile() && archiveSuffix(e.name) !== undefined);
  if (archives.length === 1) return path.join(source, archives[0].name);

  const found = names.length === 0 ? "it is empty" : `it holds ${names.map((n) => JSON.stringify(n)).join(", ")}`;
  throw new OmafError(
    "OMAF_ERR_NO_ARTIFACT",
    `${source} holds no artifact: no ${MANIFEST_NAMES[0]} at its root or in its only sub-folder, and not exactly one .zip or .tar.gz artifact file (${found})`,
    { path: source, entries: names },
  );
}

async function hasManifest(dir: string): Promise<boolean> {
  for (const name of MANIFEST_NAMES) {
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) return true;
  }
  return false;
}
