// One omaf archive operation, timed inside its own process and reporting its own peak RSS; bench/pack.ts runs it.
//   pack <folder> <zip> | unpack <zip> <folder> | validate <zip>
// Each operation imports only the modules it uses, as the CLI's commands do.
import { readFileSync } from "node:fs";

const [op, a, b] = process.argv.slice(2);
const t0 = performance.now();
let extra: Record<string, unknown> = {};
if (op === "pack") {
  const { listFolder } = await import("../src/archive/folder.js");
  const { writeZip } = await import("../src/archive/write-zip.js");
  const files = await listFolder(a, { exclude: [b] });
  const r = await writeZip({ dir: a, files, output: b, force: true, provenance: { packerVersion: "bench" } });
  extra = { bytes: r.bytes, files: r.files.length, digest: r.artifactDigest };
} else if (op === "unpack") {
  const { unpackArchive } = await import("../src/archive/unpack.js");
  const r = await unpackArchive(a, b, { force: true });
  extra = { files: r.files.length, digest: r.artifactDigest };
} else if (op === "validate") {
  const { validate } = await import("../src/artifact/validate.js");
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
process.stdout.write(
  JSON.stringify({ ms, maxRssMB: peakRssMB(), cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, mainThreadCpuMs: mainThreadCpuMs(), ...extra }) +
    "\n",
);

/**
 * CPU time of the main (JavaScript) thread alone, user + system, from /proc (Linux; clock ticks of 10 ms); the rest
 * of process.cpuUsage() is zlib's thread pool, V8's helpers and the hashing thread.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

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
