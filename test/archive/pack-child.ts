// Packs a folder in a separate process (so a test can vary its environment, e.g. TZ): pack-child.ts <dir> <zip>
import { listFolder } from "../../src/archive/folder.js";
import { writeZip } from "../../src/archive/write-zip.js";

const [dir, output] = process.argv.slice(2);
const files = await listFolder(dir);
const r = await writeZip({ dir, files, output, provenance: { packerVersion: "0.0.0-test" } });
process.stdout.write(JSON.stringify({ digest: r.artifactDigest, tz: Intl.DateTimeFormat().resolvedOptions().timeZone }) + "\n");
