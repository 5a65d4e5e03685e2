// omaf's own npm package as a tarball for an image's build context: `npm pack` of the package this code runs from —
// a git checkout (its built dist/ as it is) or an installed copy — so the image serves with exactly this omaf, released
// or not. Scripts are not run: packing must not rebuild, and an installed copy has nothing to build from.
import { existsSync } from "node:fs";
import { readdir, rename } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OmafError } from "../errors.js";
import { runCommand } from "../run-command.js";

/** The folder of omaf's package.json (one level above both src/ and dist/). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** Packs omaf into `file` (npm's tarballs are reproducible: fixed times, sorted entries). */
export async function packOmaf(file: string, root = PACKAGE_ROOT): Promise<void> {
  if (!existsSync(path.join(root, "dist", "cli", "main.js"))) {
    throw new OmafError("OMAF_ERR_NOT_FOUND", `omaf at ${root} is not built (no dist/): run npm run build, or use --omaf-from npm`, { root });
  }
  const dest = path.dirname(file);
  const before = new Set(await readdir(dest));
  const r = await runCommand(NPM, ["pack", root, "--ignore-scripts", "--pack-destination", dest, "--loglevel=error"], {
    env: { ...process.env, npm_config_update_notifier: "false" },
  }).catch((err: Error) => {
    throw new OmafError("OMAF_ERR_NOT_FOUND", `cannot run npm to pack omaf: ${err.message}; use --omaf-from npm`, {}, { cause: err });
  });
  if (r.code !== 0) throw new OmafError("OMAF_ERR_IO", `npm pack ${root} exited with ${r.code}: ${r.stderr.trim()}`, { root, code: r.code });
  const made = (await readdir(dest)).filter((f) => f.endsWith(".tgz") && !before.has(f));
  if (made.length !== 1) throw new OmafError("OMAF_ERR_IO", `npm pack ${root} wrote ${made.length} tarballs: ${made.join(", ")}`);
  await rename(path.join(dest, made[0]), file);
}
