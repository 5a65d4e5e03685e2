// A view of an artifact's files (from a folder walk or a ZIP central directory) for cross-checks.

export interface FileIndex {
  /** True when `path` (posix, relative to the artifact root) is a file. */
  hasFile(path: string): boolean;
  /** True when `path` is a folder (explicitly, or implied by a file below it). "" is the root. */
  hasDir(path: string): boolean;
}

/** Builds a FileIndex from relative file paths (and optional explicit folder paths). */
export function fileIndex(files: Iterable<string>, dirs: Iterable<string> = []): FileIndex {
  const fileSet = new Set<string>();
  const dirSet = new Set<string>([""]);
  const addParents = (p: string) => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) {
      const parent = p.slice(0, i);
      if (dirSet.has(parent)) break;
      dirSet.add(parent);
    }
  };
  for (const f of files) {
    fileSet.add(f);
    addParents(f);
  }
  for (const d of dirs) {
    dirSet.add(d);
    addParents(d);
  }
  return { hasFile: (p) => fileSet.has(p), hasDir: (p) => dirSet.has(p) };
}

/**
 * Resolves `rel` against the artifact root to a normalised posix path, or undefined when it is absolute or
 * climbs out of the root. "." and "" mean the root itself (returned as "").
 */
export function resolveInside(rel: string, base = ""): string | undefined {
  if (/^([a-zA-Z]:)?[\\/]/.test(rel)) return undefined;
  const parts = base ? base.split("/") : [];
  for (const seg of rel.split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join("/");
}
