// The npm package ships the Java worker source next to the Python one, where the java runtime looks for it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { WORKER_SOURCE } from "../../src/runtime/java/options.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

test("package.json files ship java/OmafWorker.java, at the path the runtime resolves", () => {
  assert.ok(existsSync(WORKER_SOURCE), WORKER_SOURCE);
  assert.ok(WORKER_SOURCE.endsWith("/java/OmafWorker.java"));
  const out = execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  assert.ok(files.includes("java/OmafWorker.java"), files.filter((f) => !f.startsWith("dist/")).join(", "));
  assert.ok(files.includes("python/omaf_worker.py"));
});
