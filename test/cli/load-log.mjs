// Preload (`node --import`) that records every module file the process loads, one URL per line, in the file named by
// OMAF_TEST_RESOLVE_LOG: ES modules as they are resolved (test/helpers/resolve-log-hooks.mjs), and CommonJS files —
// which those hooks do not see when a CommonJS package requires its own files or another package — at exit, from
// require's cache. Used by test/cli/start-loads.test.ts and bench/cli-start.ts.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

register("../helpers/resolve-log-hooks.mjs", import.meta.url);

const require = createRequire(import.meta.url);
process.on("exit", () => {
  const log = process.env.OMAF_TEST_RESOLVE_LOG;
  if (log)
    appendFileSync(
      log,
      Object.keys(require.cache)
        .map((file) => `${pathToFileURL(file).href}\n`)
        .join(""),
    );
});
