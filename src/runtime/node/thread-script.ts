// The script a node worker thread starts from. Compiled (dist/, or any bundle) it is thread-main's own JavaScript
// file. Run from TypeScript sources (development and tests, through tsx) a thread has no TypeScript loader, and
// registering tsx's in every thread costs about 150 ms per start (its module hooks run on a thread of their own) —
// a replacement after a timeout would wait that long. So the sources are bundled once per process with esbuild (the
// compiler tsx itself runs) into one CommonJS script that threads evaluate in about 20 ms.
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { TYPESCRIPT_EXTENSIONS } from "../entrypoint.js";
import { THREAD_MAIN_URL } from "./thread-main.js";

/** A file to run, or source text to evaluate. */
export type ThreadScript = { file: URL } | { source: string };

let bundled: Promise<ThreadScript> | undefined;

export function threadScript(): Promise<ThreadScript> {
  const url = new URL(THREAD_MAIN_URL);
  if (!(TYPESCRIPT_EXTENSIONS as readonly string[]).includes(extname(url.pathname))) return Promise.resolve({ file: url });
  return (bundled ??= bundleSources(url).catch((err: unknown) => {
    bundled = undefined;
    throw err;
  }));
}

async function bundleSources(entry: URL): Promise<ThreadScript> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    logLevel: "silent",
    plugins: [
      {
        // Packages stay outside, pinned to the files this process would load: evaluated code has no folder to
        // resolve bare names from.
        name: "pin-packages",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("node:") ? { external: true } : { path: import.meta.resolve(args.path), external: true },
          );
        },
      },
    ],
  });
  return { source: result.outputFiles[0]!.text };
}
