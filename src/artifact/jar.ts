// What `omaf validate` checks in a java (GJPI) model's JAR without running Java: it opens as a ZIP, its manifest
// names the model class in Omaf-Model-Class (spec/gjpi.md), and the JAR holds that class.
import yauzl from "yauzl";
import type { ValidationIssue } from "../errors.js";

/** The JAR manifest attribute that names the model class. */
export const MODEL_CLASS_ATTRIBUTE = "Omaf-Model-Class";

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** A main attribute of a JAR manifest (72-byte lines continue on lines that start with one space). */
export function manifestAttribute(text: string, name: string): string | undefined {
  const lines = text.split(/\r\n|\r|\n/);
  const joined: string[] = [];
  for (const line of lines) {
    // The main section ends at the first blank line.
    if (line === "") break;
    if (line.startsWith(" ") && joined.length) joined[joined.length - 1] += line.slice(1);
    else joined.push(line);
  }
  const lower = `${name.toLowerCase()}:`;
  const found = joined.find((l) => l.toLowerCase().startsWith(lower));
  return found?.slice(lower.length).trim();
}

/** Issues with the JAR `bytes` found at `path` (the artifact path shown in messages). */
export async function jarIssues(bytes: Buffer, path: string): Promise<ValidationIssue[]> {
  const issue = (message: string): ValidationIssue[] => [{ code: "OMAF_ERR_JAR", severity: "error", path: "model.entrypoint", message }];
  let names: Set<string>;
  let manifest: string | undefined;
  try {
    ({ names, manifest } = await listJar(bytes));
  } catch (err) {
    return issue(`${path} is not a JAR (it does not open as a ZIP: ${(err as Error).message})`);
  }
  if (manifest === undefined) return issue(`${path} has no META-INF/MANIFEST.MF naming the model class (${MODEL_CLASS_ATTRIBUTE})`);
  const modelClass = manifestAttribute(manifest, MODEL_CLASS_ATTRIBUTE);
  if (!modelClass) return issue(`the manifest of ${path} has no ${MODEL_CLASS_ATTRIBUTE} attribute naming the model class`);
  const entry = `${modelClass.replaceAll(".", "/")}.class`;
  if (!names.has(entry)) return issue(`${path} does not contain the model class ${modelClass} (${entry}) named by ${MODEL_CLASS_ATTRIBUTE}`);
  return [];
}

function listJar(bytes: Buffer): Promise<{ names: Set<string>; manifest?: string }> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error("unreadable"));
      const names = new Set<string>();
      let manifest: string | undefined;
      zip.on("error", reject);
      zip.on("end", () => resolve({ names, manifest }));
      zip.on("entry", (entry: yauzl.Entry) => {
        names.add(entry.fileName);
        if (entry.fileName.toUpperCase() !== "META-INF/MANIFEST.MF" || entry.uncompressedSize > MAX_MANIFEST_BYTES) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error("unreadable manifest"));
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", reject);
          stream.on("end", () => {
            manifest = Buffer.concat(chunks).toString("utf8");
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
