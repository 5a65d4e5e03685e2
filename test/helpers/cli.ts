// Runs the real omaf CLI in a child process (from source through tsx, so tests need no build).
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The node arguments that start the omaf CLI. */
export const cliArgs = (args: string[]): string[] => ["--import", TSX, CLI, ...args];

/** Runs `omaf <args>` to completion. */
export function omaf(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, cliArgs(args), {
    cwd: opts.cwd,
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `omaf <args>` without waiting (for commands that run until stopped). */
export function omafSpawn(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: "ignore" | "pipe" } = {}) {
  return spawn(process.execPath, cliArgs(args), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: [opts.stdin ?? "ignore", "pipe", "pipe"] });
}
