// Judges where a ZIP's entries lie. The central directory alone can point many entries at the same compressed bytes
// (an "overlapping" bomb: each entry looks harmless, together they inflate a thousandfold) or hide bytes between
// entries; and a local header can name another file than the central directory does, so that streaming readers see
// other files than omaf. Honest writers lay entries end to end, each local header + data (+ data descriptor), with the
// central directory right after the last one.
import { OmafError } from "../errors.js";

/** One entry as its local header places it. */
export interface LocalEntry {
  /** Normalised name from the central directory (for messages). */
  name: string;
  headerOffset: number;
  /** Where the entry's compressed data starts (after the local header's name and extra field). */
  dataStart: number;
  compressedSize: number;
  /** General-purpose bit 3: a data descriptor follows the data. */
  dataDescriptor: boolean;
  /** The local header's name bytes equal the central directory's. */
  nameMatches: boolean;
  /** The local header's name as stored, when it differs. */
  localName?: string;
}

/**
 * Sizes a data descriptor can have: optional signature (4) + CRC-32 (4) + two sizes of 4 bytes, or of 8 with ZIP64.
 */
const DESCRIPTOR_SIZES = new Set([12, 16, 20, 24]);
/** After this many, one summary stands for the rest (a crafted archive can have a problem per entry). */
const MAX_REPORTED = 10;

/**
 * Every layout problem (empty when the entries lie end to end): overlapping or gapped entries and a central directory
 * that does not follow the last entry (`OMAF_ERR_OVERLAPPING_ENTRIES`), and local names that differ from the central
 * directory (`OMAF_ERR_ENTRY_NAME_MISMATCH`).
 */
export function checkZipLayout(entries: readonly LocalEntry[], centralDirectoryOffset: number | undefined): OmafError[] {
  const overlaps: OmafError[] = [];
  const mismatches: OmafError[] = [];
  const sorted = [...entries].sort((a, b) => a.headerOffset - b.headerOffset);
  // The furthest byte any earlier entry reaches, and which entry that is.
  let reach = 0;
  let previous: LocalEntry | undefined;
  for (const e of sorted) {
    if (!e.nameMatches) {
      mismatches.push(
        new OmafError("OMAF_ERR_ENTRY_NAME_MISMATCH", `archive entry "${e.name}" is named ${JSON.stringify(e.localName)} in its local header`, {
          entry: e.name,
          localName: e.localName,
        }),
      );
    }
    if (e.headerOffset < reach) {
      overlaps.push(
        new OmafError("OMAF_ERR_OVERLAPPING_ENTRIES", `archive entry "${e.name}" overlaps the data of "${previous!.name}"`, {
          entry: e.name,
          offset: e.headerOffset,
          overlaps: previous!.name,
        }),
      );
    } else if (!followsOn(e.headerOffset - reach, previous)) {
      overlaps.push(
        new OmafError("OMAF_ERR_OVERLAPPING_ENTRIES", `${e.headerOffset - reach} unlisted bytes lie before archive entry "${e.name}"`, {
          entry: e.name,
          offset: e.headerOffset,
          gap: e.headerOffset - reach,
        }),
      );
    }
    const end = e.dataStart + e.compressedSize;
    if (end > reach || previous === undefined) {
      reach = end;
      previous = e;
    }
  }
  if (centralDirectoryOffset !== undefined && centralDirectoryOffset >= reach && !followsOn(centralDirectoryOffset - reach, previous)) {
    overlaps.push(
      new OmafError("OMAF_ERR_OVERLAPPING_ENTRIES", `${centralDirectoryOffset - reach} unlisted bytes lie before the central directory`, {
        offset: centralDirectoryOffset,
        gap: centralDirectoryOffset - reach,
      }),
    );
  } else if (centralDirectoryOffset !== undefined && centralDirectoryOffset < reach) {
    overlaps.push(
      new OmafError("OMAF_ERR_OVERLAPPING_ENTRIES", `the central directory overlaps the data of "${previous!.name}"`, {
        offset: centralDirectoryOffset,
        overlaps: previous!.name,
      }),
    );
  }
  return [...capped(overlaps), ...capped(mismatches)];
}

/** True when `gap` bytes after `previous`'s data are exactly what it leaves there (nothing, or its data descriptor). */
function followsOn(gap: number, previous: LocalEntry | undefined): boolean {
  return gap === 0 || (previous?.dataDescriptor === true && DESCRIPTOR_SIZES.has(gap));
}

function capped(problems: OmafError[]): OmafError[] {
  if (problems.length <= MAX_REPORTED) return problems;
  const first = problems[0];
  const rest = problems.length - MAX_REPORTED;
  return [...problems.slice(0, MAX_REPORTED), new OmafError(first.code, `${rest} more archive entries have the same problem`, { more: rest })];
}
