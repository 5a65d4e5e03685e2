// Lists the files of a model folder that go into an artifact: sorted, ignore rules applied, links checked.
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { OmafError, toOmafError } from "../errors.js";
import { PROVENANCE_DIR, canonicalOrder } from "./provenance.js";

/** One regular file of a folder about to be packed. */
export interface FolderFile {
  /** Path relative to the folder, `/`-separated; this is the archive entry name. */
  path: string;
  /** Absolute path to read the content from (a link inside the folder keeps its own path; reading follows it). */
  absPath: string;
  size: number;
  /** Permission bits (`stat.mode & 0o7777`) of the file, or of a link's target. */
  mode: number;
  /** Modification time in ms since the epoch (used only when packing non-deterministically). */
  mtimeMs: number;
}

/** Name of the gitignore-syntax file at a folder's root that lists what to leave out of the artifact. */
export const IGNORE_FILE = ".omafignore";

/** Left out of every artifact: version-control folders, caches, compiled Python, the provenance folder, the ignore file. */
export const DEFAULT_IGNORES: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  "**/node_modules/.cache/",
  "__pycache__/",
  "*.pyc",
  ".DS_Store",
  `/${PROVENANCE_DIR}/`,
  `/${IGNORE_FILE}`,
];

export interface ListFolderOptions {
  /** Extra gitignore-syntax patterns, applied after the defaults and `.omafignore`. */
  ignore?: string[];
  /** Files or folders to leave out, e.g. the output zip when it is written inside the folder. */
  exclude?: string[];
}

/**
 * Lists the regular files under `dir`, sorted by path in byte order (directories are implied by the paths).
 * Applies {@link DEFAULT_IGNORES}, then `.omafignore` at the folder root, then `opts.ignore`. A symbolic link is
 * followed when it points to a file inside the folder; any other link fails with `OMAF_ERR_UNSAFE_LINK`.
 */
export async function listFolder(dir: string, opts: ListFolderOptions = {}): Promise<FolderFile[]> {
  const root = path.resolve(dir);
  const rootStats = await stat(root).catch((err: unknown) => {
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  if (!rootStats.isDirectory()) throw new OmafError("OMAF_ERR_USAGE", `${dir} is not a folder`, { path: root });
  const realRoot = await realpath(root);

  // Imported here, not at the top: opening a ZIP artifact does not list a folder.
  const { default: ignore } = await import("ignore");
  const rules = ignore({ ignorecase: false }).add(DEFAULT_IGNORES as string[]);
  const ignoreFile = await readFile(path.join(root, IGNORE_FILE), "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return "";
    throw toOmafError(err, "OMAF_ERR_IO");
  });
  rules.add(ignoreFile);
  if (opts.ignore) rules.add(opts.ignore);
  const excluded = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));

  const files: FolderFile[] = [];

  function describe(rel: string, absPath: string, isLink: boolean): FolderFile {
    let stats: Stats | undefined;
    if (isLink) {
      let target: string | undefined;
      try {
        target = realpathSync(absPath);
      } catch {
        // dangling
      }
      const inside = target !== undefined && (target === realRoot || target.startsWith(realRoot + path.sep));
      if (inside) stats = statSync(target!);
      if (!stats?.isFile()) {
        throw new OmafError("OMAF_ERR_UNSAFE_LINK", `${rel} is a link that does not point to a file inside the folder`, {
          path: rel,
          target: target ?? null,
        });
      }
    } else {
      stats = lstatSync(absPath);
      if (!stats.isFile()) {
        throw new OmafError("OMAF_ERR_IO", `${rel} is not a regular file (socket, FIFO or device)`, { path: rel });
      }
    }
    return { path: rel, absPath, size: stats.size, mode: stats.mode & 0o7777, mtimeMs: stats.mtimeMs };
  }

  // Synchronous file-system calls cost a few microseconds each where a thread-pool round trip costs tens; the walk
  // yields to the event loop every few hundred calls so that a large folder does not stall other work.
  const pending = [""];
  let calls = 0;
  try {
    while (pending.length > 0) {
      const relDir = pending.pop()!;
      const absDir = relDir === "" ? root : path.join(root, relDir);
      for (const d of readdirSync(absDir, { withFileTypes: true })) {
        const rel = relDir === "" ? d.name : `${relDir}/${d.name}`;
        const absPath = path.join(absDir, d.name);
        if (/[\\\r\n]/.test(d.name)) {
          throw new OmafError("OMAF_ERR_USAGE", `${JSON.stringify(rel)}: names with a backslash or line break cannot be stored portably in an archive`, {
            path: rel,
          });
        }
        if (d.isDirectory()) {
          if (!rules.ignores(rel + "/") && !excluded.has(absPath)) pending.push(rel);
          continue;
        }
        if (rules.ignores(rel) || excluded.has(absPath)) continue;
        files.push(describe(rel, absPath, d.isSymbolicLink()));
        if (++calls % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } catch (err) {
    throw toOmafError(err, "OMAF_ERR_IO");
  }
  // Byte order of the UTF-8 path: the order entries are written in and the digest is computed over.
  return canonicalOrder(files);
}
