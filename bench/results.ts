// bench/RESULTS.md: each benchmark owns one `## <name>` section and replaces only that section.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const RESULTS_FILE = fileURLToPath(new URL("RESULTS.md", import.meta.url));

/**
 * Replaces the `## <name>` section of bench/RESULTS.md with `section` (which starts with that heading), or appends it.
 * `keep` names a `### ` subsection of the old section that another benchmark owns; it is carried over.
 */
export function writeResultsSection(name: string, section: string, opts: { keep?: string } = {}): void {
  let text: string;
  try {
    text = readFileSync(RESULTS_FILE, "utf8");
  } catch {
    text = "# Benchmark results\n\n";
  }
  const start = text.search(new RegExp(`^## ${name}\\s*$`, "m"));
  if (start < 0) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    const old = next < 0 ? rest : rest.slice(0, next);
    const own = opts.keep === undefined ? -1 : old.search(new RegExp(`^### ${opts.keep}\\s*$`, "m"));
    const kept = own < 0 ? "" : `\n${old.slice(own).trimEnd()}\n`;
    text = text.slice(0, start) + section.trimEnd() + "\n" + kept + (next < 0 ? "" : `\n${rest.slice(next)}`);
  }
  writeFileSync(RESULTS_FILE, text.endsWith("\n") ? text : `${text}\n`);
}
