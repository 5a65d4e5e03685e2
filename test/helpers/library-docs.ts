// The TypeScript examples of spec/library.md and the sections they belong to, for the tests that check the page
// against the library (test/library-docs.test.ts) and compile its examples against the packed package
// (test/install/packaged.test.ts).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const LIBRARY_DOC = fileURLToPath(new URL("../../spec/library.md", import.meta.url));

export interface Example {
  /** Line of the opening fence in the page (1-based). */
  line: number;
  code: string;
  /** Why the page's run of its examples leaves this one out: an `<!-- example not run: why -->` line before it. */
  notRun?: string;
}

export interface Section {
  /** Line of the `###` heading. */
  line: number;
  /** The backticked names in the heading. */
  names: string[];
  examples: Example[];
}

/** The page's `###` sections (a `##` heading ends one) and every ```ts example; headings inside fences are code. */
export function readLibraryDoc(text = readFileSync(LIBRARY_DOC, "utf8")): { sections: Section[]; examples: Example[] } {
  const sections: Section[] = [];
  const examples: Example[] = [];
  let current: Section | undefined;
  let fence: { lang: string; line: number; lines: string[]; notRun?: string } | undefined;
  let notRun: string | undefined;
  text.split("\n").forEach((line, i) => {
    if (fence) {
      if (line.startsWith("```")) {
        if (fence.lang === "ts") {
          const example: Example = { line: fence.line, code: fence.lines.join("\n"), ...(fence.notRun ? { notRun: fence.notRun } : {}) };
          examples.push(example);
          current?.examples.push(example);
        }
        fence = undefined;
      } else fence.lines.push(line);
    } else if (line.startsWith("```")) {
      fence = { lang: line.slice(3).trim(), line: i + 1, lines: [], notRun };
      notRun = undefined;
    } else if (/^<!-- example not run: .+ -->$/.test(line)) notRun = line.slice("<!-- example not run: ".length, -" -->".length);
    else if (line.startsWith("### ")) {
      current = { line: i + 1, names: [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]), examples: [] };
      sections.push(current);
    } else if (line.startsWith("## ")) current = undefined;
  });
  return { sections, examples };
}
