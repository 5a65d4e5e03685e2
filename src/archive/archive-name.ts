// What an artifact archive's file is called: `.zip`, or `.tar.gz` / `.tgz` as real Odahu artifacts come, in any case
// (`MODEL.ZIP` is an archive too). One list for every place that finds archives by name: a model folder holding the
// artifact file (KServe's /mnt/models), a model repository, and the folder `omaf unpack` makes by default.

/** The file name endings of artifact archives. */
const ARCHIVE_SUFFIXES = [".zip", ".tar.gz", ".tgz"] as const;

/** The archive suffix `name` ends with, as written in `name`; undefined when it is not an archive's name. */
export function archiveSuffix(name: string): string | undefined {
  const lower = name.toLowerCase();
  const suffix = ARCHIVE_SUFFIXES.find((s) => lower.endsWith(s) && lower.length > s.length);
  return suffix === undefined ? undefined : name.slice(-suffix.length);
}

/** `name` without its archive suffix; unchanged when it has none. */
export function withoutArchiveSuffix(name: string): string {
  const suffix = archiveSuffix(name);
  return suffix === undefined ? name : name.slice(0, -suffix.length);
}
