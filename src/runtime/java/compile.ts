// The Java worker ships as source (java/OmafWorker.java). Compiling it at every JVM start would cost each worker
// and each restart about two seconds of CPU, so it is compiled once per source and launcher into a cache folder,
// by the launcher itself (`java OmafWorker.java compile`: no javac on PATH needed), and started from there.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmafError } from "../../errors.js";
import { runCommand } from "../../run-command.js";

const compiled = new Map<string, Promise<string>>();

/** The folder holding OmafWorker.class compiled from `source` by `java`; compiles it on first use. */
export function compiledWorker(java: string, source: string, cacheDir: string): Promise<string> {
  const key = `${java}\0${source}\0${cacheDir}`;
  let done = compiled.get(key);
  if (!done) {
    done = compile(java, source, cacheDir);
    compiled.set(key, done);
    // A failure is not cached: the next load tries again (the launcher may have been installed meanwhile).
    done.catch(() => compiled.delete(key));
  }
  return done;
}

async function compile(java: string, source: string, cacheDir: string): Promise<string> {
  const text = await readFile(source);
  const digest = createHash("sha256").update(java).update("\0").update(text).digest("hex").slice(0, 16);
  let dir = join(cacheDir, `worker-${digest}`);
  if (existsSync(join(dir, "OmafWorker.class"))) return dir;
  // A cache folder that cannot be written (a read-only home in a container) falls back to the temp folder.
  const writable = await mkdir(cacheDir, { recursive: true }).then(
    () => true,
    () => false,
  );
  if (!writable) {
    const fallback = join(tmpdir(), "omaf-java");
    await mkdir(fallback, { recursive: true });
    dir = join(fallback, `worker-${digest}`);
    if (existsSync(join(dir, "OmafWorker.class"))) return dir;
  }
  // Compiled next to its final place and renamed, so a concurrent server never sees half a folder.
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await run(java, [source, "compile", source, tmp]);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, "OmafWorker.class"))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function run(java: string, args: string[]): Promise<void> {
  const r = await runCommand(java, args, { keep: 16_384 }).catch((err: NodeJS.ErrnoException) => {
    throw javaNotFound(java, err.code ?? err.message);
  });
  if (r.code === 0) return;
  const stderr = r.stderr.trim();
  throw new OmafError(
    "OMAF_ERR_JAVA_NOT_FOUND",
    `'${java}' cannot compile omaf's GJPI worker (${r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`}); OMAF_JAVA must name the java launcher of a JDK 17 or later${stderr ? `:\n${stderr}` : ""}`,
    { java },
  );
}

/** The error for a java launcher that cannot be run at all. */
export function javaNotFound(java: string, errno: string): OmafError {
  return new OmafError(
    "OMAF_ERR_JAVA_NOT_FOUND",
    `cannot run the Java launcher '${java}' (${errno}); set OMAF_JAVA (or --java) to the java of a JDK 17 or later`,
    { java, errno },
  );
}
