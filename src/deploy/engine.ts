// Container engines for `omaf image --build`: docker (only when its daemon answers: the client alone builds nothing),
// podman and buildah (daemonless; usable when `info` answers). The first usable one builds the context; when none is,
// the error says what was tried and why each one cannot build.
import { OmafError } from "../errors.js";
import { runCommand, type CommandResult } from "../run-command.js";

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
  let r: CommandResult;
  try {
    r = await runCommand(engine, args, { env, timeoutMs: CHECK_TIMEOUT_MS });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "not found on PATH" : `cannot be run (${(err as Error).message})`;
    return { engine, usable: false, reason };
  }
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
  const r = await runCommand(cmd, args, { onOutput }).catch((err: NodeJS.ErrnoException) => {
    throw new OmafError("OMAF_ERR_IMAGE_BUILD", `cannot run ${cmd}: ${err.message}`, { engine }, { cause: err });
  });
  if (r.code !== 0) {
    throw new OmafError("OMAF_ERR_IMAGE_BUILD", `${[cmd, ...args].join(" ")} failed with exit code ${r.code}`, { engine, code: r.code });
  }
}
