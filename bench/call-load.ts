// An in-process load loop shared by the bridge benchmarks (bench/python.ts, bench/java.ts): `concurrency` loops
// calling a model function back to back, with every call's latency.

/** The value at percentile `p` of ascending `sorted`. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export interface Load {
  label: string;
  concurrency: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** `concurrency` loops calling `call` back to back for `seconds` (after 300 ms of warm-up); completions and latencies. */
export async function load(label: string, concurrency: number, seconds: number, call: () => Promise<unknown>): Promise<Load> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await call();
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { label, concurrency, perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
