/** The number after `--name` on the command line, or `fallback` when the flag (or its value) is absent. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}
