// One omaf archive operation, timed inside its own process and reporting its own peak RSS; bench/pack.ts runs it.
//   pack <folder> <zip> | unpack <zip> <folder> | validate <zip>
import { readFileSync } from "node:fs";
import { listFolder } from "../src/archive/folder.js";
import { validate } from "../src/artifact/validate.js";
import { unpackArchive } from "../src/archive/unpack.js";
import { writeZip } from "../src/archive/write-zip.js";

const [op, a, b] = process.argv.slice(2);
const t0 = performance.now();
let extra: Record<string, unknown> = {};
if (op === "pack") {
  const files = await listFolder(a, { exclude: [b] });
  const r = await writeZip({ dir: a, files, output: b, force: true, provenance: { packerVersion: "bench" } });
  extra = { bytes: r.bytes, files: r.files.length, digest: r.artifactDigest };
} else if (op === "unpack") {
  const r = await unpackArchive(a, b, { force: true });
  extra = { files: r.files.length, digest: r.artifactDigest };
} else if (op === "validate") {
  // What `omaf validate` does: central directory, manifest, provenance record, schema and cross-checks.
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    const r = await validate(a);
    times.push(performance.now() - s);
    if (!r.valid) throw new Error(`the benchmark artifact is invalid: ${JSON.stringify(r.issues)}`);
  }
  extra.firstMs = times[0];
  extra.bestMs = Math.min(...times);
} else {
  throw new Error(`unknown operation ${op}`);
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ ms, maxRssMB: peakRssMB(), cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, ...extra }) + "\n");

/**
 * Peak RSS of this process in MB. VmHWM belongs to this process image only; getrusage's maxRSS
 * (process.resourceUsage().maxRSS) also counts the parent's memory that fork copied before exec on Linux.
 */
function peakRssMB(): number {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+) kB/);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
