// Limits that defend against archive bombs. Shared by the readers (which stop scanning early) and by unpack.

export interface UnpackLimits {
  /** Most entries an archive may have (files, directories and links together). */
  maxEntries: number;
  /** Most uncompressed bytes, declared and actually inflated, over the whole archive. */
  maxTotalBytes: number;
  /**
   * Highest uncompressed/compressed ratio of one zip entry (or of a whole gzip tar). Only judged once the
   * uncompressed size reaches {@link UnpackLimits.ratioFloorBytes}, so tiny, very compressible files are fine.
   */
  maxRatio: number;
  /** Uncompressed size from which the ratio is judged. */
  ratioFloorBytes: number;
  /**
   * Highest ratio of the declared uncompressed total to the archive file's own size, judged once that total reaches
   * {@link UnpackLimits.ratioFloorBytes}. Entries that share their compressed bytes each stay under `maxRatio` but
   * add up past this; honest archives cannot exceed the ratio of their most compressed entry.
   */
  maxArchiveRatio: number;
  /** Most uncompressed bytes of a single entry; no limit when absent. */
  maxEntryBytes?: number;
}

export const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({
  maxEntries: 100_000,
  maxTotalBytes: 64 * 1024 ** 3,
  maxRatio: 1000,
  maxArchiveRatio: 1000,
  ratioFloorBytes: 1024 * 1024,
});

/** Defaults overlaid with the given values (undefined values are ignored). */
export function resolveLimits(limits?: Partial<UnpackLimits>): UnpackLimits {
  const out: UnpackLimits = { ...DEFAULT_UNPACK_LIMITS };
  for (const [k, v] of Object.entries(limits ?? {})) {
    if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}
