// Entrypoint files on disk. Which file an entrypoint names is the manifest's rule (src/manifest/entrypoint.ts);
// this module only supplies the folder view that rule is checked against.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { FileIndex } from "../manifest/file-index.js";

/** Extensions the node runtime imports through tsx rather than plain `import()`. */
export const TYPESCRIPT_EXTENSIONS = [".ts", ".mts", ".cts", ".tsx"] as const;

/** A FileIndex over a folder on disk (posix paths relative to `dir`). */
export function folderIndex(dir: string): FileIndex {
  const is = (kind: "file" | "dir") => (relPath: string) => {
    try {
      const s = statSync(join(dir, relPath));
      return kind === "file" ? s.isFile() : s.isDirectory();
    } catch {
      return false;
    }
  };
  return { hasFile: is("file"), hasDir: is("dir") };
}
