import { readFileSync } from "node:fs";

/** omaf's own version, read from package.json (one level above both src/ and dist/). */
export const omafVersion: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
