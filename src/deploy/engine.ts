// Container engines for `omaf image --build`: docker (only when its daemon answers: the client alone builds nothing),
// podman and buildah (daemonless; usable when `info` answers). The first usable one builds the context; when none is,
// the error says what was tried and why each one cannot build.
import { spawn } from "node:child_process";
import { OmafError } from "../errors.js";

export const ENGINES = ["docker", "podman", "buildah"] as const;
export type EngineName = (typeof ENGINES)[number];

export interface EngineCheck {
  engine: EngineName;
  usable: boolean;
  /** Why it is not usable: not on PATH, or what its check answered. */
  reason?: string;
}

/** How long an engine's check may take (a docker client waiting on an unreachable remote daemon). */
const CHECK_TIMEOUT_MS = 15_000;

/** Checks each engine (or the one asked for), in order, until one is usable. */
export async function findEngine(only?: EngineName, env: NodeJS.ProcessEnv = process.env): Promise<{ engine?: EngineName; checks: EngineCheck[] }> {
  const checks: EngineCheck[] = [];
  for (const engine of only ? [only] : ENGINES) {
    const check = await checkEngine(engine, env);
    checks.push(check);
    if (check.usable) return { engine, checks };
  }
  return { checks };
}

/** The error when no engine can build: one line per engine tried. */
export function noEngineError(checks: EngineCheck[], context: string): OmafError {
  const lines = checks.map((c) => `  ${c.engine}: ${c.reason}`).join("\n");
  return new OmafError(
    "OMAF_ERR_NO_CONTAINER_ENGINE",
    `no container engine can build the image:\n${lines}\nthe build context is complete in ${context}: build it where an engine runs (docker build, podman build, buildah bud)`,
    { checks },
  );
}

async function checkEngine(engine: EngineName, env: NodeJS.ProcessEnv): Promise<EngineCheck> {
  const args = engine === "docker" ? ["info", "--format", "{{.ServerVersion}}"] : ["info"];
  const r = await run(engine, args, { env, timeoutMs: CHECK_TIMEOUT_MS, capture: true });
  if (r.notFound) return { engine, usable: false, reason: "not found on PATH" };
  if (r.code === 0 && (engine !== "docker" || r.stdout.trim() !== "")) return { engine, usable: true };
  const said = (r.stderr || r.stdout).trim().split("\n").filter(Boolean).pop() ?? `exit code ${r.code}`;
  const what = engine === "docker" ? "the docker daemon does not answer" : `${engine} info failed`;
  return { engine, usable: false, reason: `${what} (${engine} ${args[0]}: ${r.timedOut ? "timed out" : said})` };
}

/** The build command of an engine. podman and buildah write Docker's image format so that HEALTHCHECK is kept. */
export function buildCommand(engine: EngineName, context: string, reference: string): string[] {
  if (engine === "docker") return ["docker", "build", "-t", reference, context];
  if (engine === "podman") return ["podman", "build", "--format", "docker", "-t", reference, context];
  return ["buildah", "bud", "--format", "docker", "-t", reference, context];
}

/** Builds the context with `engine`, its output passed to `onOutput`; OMAF_ERR_IMAGE_BUILD when the build fails. */
export async function buildImage(engine: EngineName, context: string, reference: string, onOutput: (chunk: string) => void): Promise<void> {
  const [cmd, ...args] = buildCommand(engine, context, reference);
  const r = await run(cmd, args, { onOutput });
  if (r.code !== 0) {
    throw new OmafError("OMAF_ERR_IMAGE_BUILD", `${[cmd, ...args].join(" ")} failed with exit code ${r.code}`, { engine, code: r.code });
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  notFound?: boolean;
  timedOut?: boolean;
}

function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; capture?: boolean; onOutput?: (chunk: string) => void },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    for (const [stream, keep] of [
      [child.stdout, (d: string) => (stdout += d)],
      [child.stderr, (d: string) => (stderr += d)],
    ] as const) {
      stream.setEncoding("utf8").on("data", (d: string) => {
        if (opts.capture) keep(d);
        opts.onOutput?.(d);
      });
    }
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: err.message, notFound: err.code === "ENOENT" });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
