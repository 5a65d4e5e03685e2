// The unpack cache: `<cacheDir>/<key>` holds an unpacked artifact and `<cacheDir>/<key>.json` records what it holds.
// A cached copy is served only after it has been checked against what the artifact says it contains: the same files,
// no more, no fewer, with the same sizes and SHA-256s. Anything else, and the artifact is unpacked again.
import { lstatSync, readdirSync, type BigIntStats } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { hashFile } from "../archive/hash.js";
import { canonicalOrder, type FileDigest } from "../archive/provenance.js";
import { runPool } from "../archive/stream-util.js";

/**
 * How a cached copy is checked before reuse. `full`: every file is hashed. `sealed`: a file whose inode, size,
 * modification and change times are those recorded when it was written (or last hashed) is taken as unchanged; the
 * others are hashed. See spec/provenance.md for what each costs and what it does not catch.
 */
export type CacheCheck = "full" | "sealed";

/** What `stat` said of a file when its content was known to be right (bigints as decimal strings). */
interface Seal {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

export interface CacheRecord {
  format: typeof CACHE_FORMAT;
  artifactDigest: string;
  /** The archive the copy was unpacked from (informational). */
  source: string;
  /** Every file of the cached folder, the provenance record included, in canonical order. */
  files: FileDigest[];
  /** By path, for the `sealed` check. */
  seals: Record<string, Seal>;
  /** Wall-clock time (ns) just after the seals were taken. */
  sealedAtNs: string;
}

const CACHE_FORMAT = "omaf-cache/1";
/**
 * A file whose change time lies this close to the moment it was sealed may have been changed again within the same
 * timestamp tick (up to 2 s on some file systems), unseen by `stat`: the `sealed` check hashes it anyway.
 */
const RACY_NS = 2_000_000_000n;
const HASH_CONCURRENCY = 4;

/** The record at `file`, or undefined when there is none or it is not one. */
export async function readCacheRecord(file: string): Promise<CacheRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(file, "utf8")) as CacheRecord;
    if (r.format !== CACHE_FORMAT || !Array.isArray(r.files) || typeof r.seals !== "object" || typeof r.artifactDigest !== "string") return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** Writes the record beside the folder atomically (a concurrent reader sees the old record or the new one). */
export async function writeCacheRecord(file: string, record: CacheRecord): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(record));
  await rename(tmp, file);
}

/** A record for `dir`, whose `files` are known to be right now: it seals each of them as it is on disk. */
export function sealedRecord(dir: string, files: FileDigest[], info: { artifactDigest: string; source: string }): CacheRecord {
  const { found } = walk(dir);
  const seals: Record<string, Seal> = {};
  for (const f of files) {
    const st = found.get(f.path);
    if (st) seals[f.path] = sealOf(st);
  }
  return { format: CACHE_FORMAT, ...info, files: canonicalOrder(files), seals, sealedAtNs: nowNs().toString() };
}

export interface CacheVerdict {
  /** Why the copy cannot be served; undefined when it matches. */
  problem?: { path: string; message: string };
  /** Files whose content was hashed. */
  hashed: number;
  /** Fresh seals when files had to be hashed and all matched (to write back, so the next check is cheap again). */
  resealed?: Pick<CacheRecord, "seals" | "sealedAtNs">;
}

/**
 * Checks the folder against `expected` (every file it must hold): every regular file under it, whatever its name
 * (no ignore rules: a stray `__pycache__/x.pyc` is code too), must be expected, nothing else may be there but
 * folders, and each file must have the expected size and SHA-256 — all of them hashed (`full`) or those whose seal
 * in `record` no longer holds (`sealed`).
 */
export async function verifyCachedFolder(
  dir: string,
  expected: readonly FileDigest[],
  record: CacheRecord | undefined,
  check: CacheCheck,
): Promise<CacheVerdict> {
  let listed: ReturnType<typeof walk>;
  try {
    listed = walk(dir);
  } catch (err) {
    return { hashed: 0, problem: { path: "", message: `the cached folder cannot be read (${(err as Error).message})` } };
  }
  const { found, others } = listed;
  if (others.length > 0) return { hashed: 0, problem: { path: others[0], message: `${others[0]} is not a regular file` } };
  const want = new Map(expected.map((f) => [f.path, f]));
  for (const p of found.keys()) {
    if (!want.has(p)) return { hashed: 0, problem: { path: p, message: `${p} is not part of the artifact` } };
  }
  for (const f of expected) {
    const st = found.get(f.path);
    if (!st) return { hashed: 0, problem: { path: f.path, message: `${f.path} is missing` } };
    if (Number(st.size) !== f.size) return { hashed: 0, problem: { path: f.path, message: `${f.path} is ${st.size} bytes; the artifact's is ${f.size}` } };
  }

  const sealedAt = record ? BigInt(record.sealedAtNs) : 0n;
  const toHash = check === "full" ? [...expected] : expected.filter((f) => !sealHolds(record?.seals[f.path], found.get(f.path)!, sealedAt));
  let changed: FileDigest | undefined;
  await runPool(toHash, HASH_CONCURRENCY, undefined, async (f) => {
    if (changed) return;
    if ((await hashFile(path.join(dir, f.path))) !== f.sha256) changed = f;
  });
  if (changed) return { hashed: toHash.length, problem: { path: changed.path, message: `${changed.path} differs from the artifact's (SHA-256)` } };
  if (check === "full" || toHash.length === 0) return { hashed: toHash.length };
  // The stats taken before hashing describe content now known to be right; a file changed while it was hashed
  // has another change time and fails its seal next time.
  const seals: Record<string, Seal> = {};
  for (const f of expected) seals[f.path] = sealOf(found.get(f.path)!);
  return { hashed: toHash.length, resealed: { seals, sealedAtNs: nowNs().toString() } };
}

function sealOf(st: BigIntStats): Seal {
  return { dev: st.dev.toString(), ino: st.ino.toString(), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString() };
}

/** True when the file is as sealed, and was sealed long enough after its last change that `stat` would tell a later one. */
function sealHolds(seal: Seal | undefined, st: BigIntStats, sealedAt: bigint): boolean {
  if (!seal) return false;
  const now = sealOf(st);
  const same = seal.dev === now.dev && seal.ino === now.ino && seal.size === now.size && seal.mtimeNs === now.mtimeNs && seal.ctimeNs === now.ctimeNs;
  return same && BigInt(seal.ctimeNs) < sealedAt - RACY_NS;
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Every regular file under `dir` by `/`-separated path (not following links), and what else is there. */
function walk(dir: string): { found: Map<string, BigIntStats>; others: string[] } {
  const found = new Map<string, BigIntStats>();
  const others: string[] = [];
  // Synchronous calls: a few microseconds each, where a thread-pool round trip costs tens (as in listFolder).
  const pending = [""];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    for (const d of readdirSync(rel === "" ? dir : path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) pending.push(p);
      else if (d.isFile()) found.set(p, lstatSync(path.join(dir, p), { bigint: true }));
      else others.push(p);
    }
  }
  return { found, others };
}
