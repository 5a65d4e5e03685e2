// The steps of a generated Dockerfile, read with a real Dockerfile parser (dockerfile-ast), and run without a
// container engine as far as that is possible: the COPYs as file copies under a root folder standing for the image's
// file system, the exec-form `omaf` RUN steps with the same arguments (absolute paths moved under the root), the
// ENVs collected. Shell-form RUN steps (apt-get, npm install) need the image's own system and are reported as skipped.
import { cp, mkdir } from "node:fs/promises";
import path from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { omaf, type CliResult } from "../helpers/cli.js";

export interface Step {
  keyword: string;
  /** Exec-form arguments (a JSON array), when the instruction has them. */
  exec?: string[];
  /** The arguments as written, flags included. */
  text: string;
  /** `--name=value` flags (e.g. COPY --from, HEALTHCHECK --interval). */
  flags: Record<string, string>;
  stage: string;
}

/** Every instruction of the Dockerfile, with the stage it belongs to. */
export function readSteps(dockerfile: string): Step[] {
  const steps: Step[] = [];
  let stage = "";
  let index = 0;
  for (const i of DockerfileParser.parse(dockerfile).getInstructions()) {
    const keyword = i.getKeyword();
    const text = i.getArgumentsContent() ?? "";
    if (keyword === "FROM") stage = /\bAS\s+(\S+)/i.exec(text)?.[1] ?? `stage-${index}`;
    if (keyword === "FROM") index++;
    steps.push({ keyword, text, exec: execForm(i, text), flags: flagsOf(i), stage });
  }
  return steps;
}

function execForm(i: Instruction, text: string): string[] | undefined {
  // HEALTHCHECK's exec form follows its CMD word and flags.
  const json = i.getKeyword() === "HEALTHCHECK" ? /\bCMD\s+(\[.*\])\s*$/s.exec(text)?.[1] : text.trim().startsWith("[") ? text : undefined;
  if (!json) return undefined;
  return JSON.parse(json) as string[];
}

function flagsOf(i: Instruction): Record<string, string> {
  const out: Record<string, string> = {};
  const withFlags = i as Instruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> };
  for (const f of withFlags.getFlags?.() ?? []) out[f.getName()] = f.getValue() ?? "";
  return out;
}

/** ENV, LABEL values: `KEY="value"` pairs as Docker reads them (quotes and escapes removed). */
export function propertiesOf(dockerfile: string, keyword: "ENV" | "LABEL"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of DockerfileParser.parse(dockerfile).getInstructions()) {
    if (i.getKeyword() !== keyword) continue;
    for (const p of (i as Instruction & { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties())
      out[p.getName()] = p.getValue() ?? "";
  }
  return out;
}

export interface LocalRun {
  /** The image's environment (ENV), absolute paths (also in comma-separated lists) moved under the root. */
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  /** The omaf steps run, with their results. */
  ran: Array<{ args: string[]; result: CliResult }>;
  /** Shell-form RUN steps, which need the image's system. */
  skipped: string[];
}

/** An absolute path in the image, as a path under `root`. */
export const under = (root: string, p: string) => (p.startsWith("/") ? path.join(root, p) : p);

/**
 * Runs the Dockerfile's steps in `context` with `root` standing for the image's file system. `adapt` may change an
 * omaf step's arguments and environment (a test running the python step with Debian's packages, say).
 */
export async function runLocally(
  context: string,
  root: string,
  dockerfile: string,
  adapt: (args: string[]) => { args: string[]; env?: NodeJS.ProcessEnv } = (args) => ({ args }),
): Promise<LocalRun> {
  const run: LocalRun = { env: {}, entrypoint: [], cmd: [], healthcheck: [], ran: [], skipped: [] };
  for (const step of readSteps(dockerfile)) {
    switch (step.keyword) {
      case "COPY": {
        const [src, dest] = step.text
          .replace(/--\S+\s+/g, "")
          .trim()
          .split(/\s+/);
        const from = step.flags.from ? under(root, src) : path.join(context, src);
        const to = under(root, dest);
        if (from === to) break;
        await mkdir(path.dirname(to), { recursive: true });
        await cp(from, to, { recursive: true });
        break;
      }
      case "RUN": {
        if (step.exec?.[0] !== "omaf") {
          run.skipped.push(step.text);
          break;
        }
        const adapted = adapt((step.exec ?? []).slice(1).map((a) => under(root, a)));
        const result = omaf(adapted.args, { env: adapted.env });
        run.ran.push({ args: adapted.args, result });
        if (result.code !== 0) return run;
        break;
      }
      case "ENV":
        // A list of paths (OMAF_TRUSTED_KEYS) has each of them moved.
        for (const [k, v] of Object.entries(propertiesOf(`ENV ${step.text}`, "ENV")))
          run.env[k] = v
            .split(",")
            .map((p) => under(root, p))
            .join(",");
        break;
      case "ENTRYPOINT":
        run.entrypoint = step.exec ?? [];
        break;
      case "CMD":
        run.cmd = step.exec ?? [];
        break;
      case "HEALTHCHECK":
        run.healthcheck = step.exec ?? [];
        break;
    }
  }
  return run;
}
