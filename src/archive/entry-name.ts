// Archive entry names: one normal form for every reader, and one safety check before anything touches the disk.
import { OmafError } from "../errors.js";

/** What normaliseEntryName changes: a backslash, a leading `/` or `./`, a lone `.`, an empty or `.` segment, a trailing `/`. */
const NOT_NORMAL = /\\|^\.?\/|^\.$|\/\/|\/\.(\/|$)|\/$/;
/** What checkEntryName rejects, or looks at more closely: a backslash, a leading `/` or drive letter, `..`, NUL. */
const SUSPECT = /\\|^\/|^[A-Za-z]:|\.\.|\0/;

/**
 * Puts a raw archive entry name into omaf's normal form: backslashes become `/`, ONE leading `/` is stripped (older
 * Odahu zips written in Go start every name with `/`), leading `./` is stripped (tar archives made with `tar -C dir .`),
 * empty and `.` segments inside the name are dropped, and a trailing `/` is removed.
 *
 * It does not judge safety: `//etc/passwd` becomes `/etc/passwd` and `a/../b` stays as it is, so that
 * {@link checkEntryName} can reject them.
 */
export function normaliseEntryName(raw: string): string {
  // Most names are already normal; an archive may hold tens of thousands of them.
  if (!NOT_NORMAL.test(raw)) return raw;
  let name = raw.replace(/\\/g, "/");
  if (name.startsWith("/")) name = name.slice(1);
  while (name.startsWith("./")) name = name.slice(2);
  if (name === ".") name = "";
  // Keep a leading "/" (an absolute name after the one strip above) visible to checkEntryName.
  const absolute = name.startsWith("/");
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  return (absolute ? "/" : "") + segments.join("/");
}

/**
 * Throws when a normalised entry name could land outside the extraction folder: `OMAF_ERR_UNSAFE_ABSOLUTE_PATH` for an
 * absolute name or one with a drive letter (`/x`, `C:/x`), `OMAF_ERR_UNSAFE_TRAVERSAL` for any `..` segment. The
 * offending name is in `details.entry`.
 */
export function checkEntryName(name: string): void {
  if (!SUSPECT.test(name)) return;
  const slashed = name.replace(/\\/g, "/");
  if (slashed.startsWith("/") || /^[A-Za-z]:/.test(slashed)) {
    throw new OmafError("OMAF_ERR_UNSAFE_ABSOLUTE_PATH", `archive entry "${name}" has an absolute path`, { entry: name });
  }
  if (slashed.split("/").includes("..")) {
    throw new OmafError("OMAF_ERR_UNSAFE_TRAVERSAL", `archive entry "${name}" contains ".." and would escape the target folder`, {
      entry: name,
    });
  }
  if (slashed.includes("\0")) {
    throw new OmafError("OMAF_ERR_ARCHIVE_FORMAT", `archive entry name contains a NUL byte`, { entry: name });
  }
}
