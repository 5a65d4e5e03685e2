// Runs the real `omaf serve` in a child process on 127.0.0.1 with free ports (port 0, read back from the
// listening line), plus small node-entrypoint model folders that misbehave on request.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { stringify } from "yaml";
import { omafSpawn } from "./cli.js";
import { writeTree } from "./fixtures.js";

/** One listener from the listening line, e.g. `{label: "OIP v2 REST + KServe v1", port: 41234}`. */
export interface ServeListener {
  label: string;
  port: number;
}

export interface ServeProcess {
  child: ChildProcess;
  /** The OMI gRPC port, or the first listener's port when OMI is not served. */
  port: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Every listener, in the order the listening line names them. */
  listeners: ServeListener[];
  /** `http://127.0.0.1:<port>` of the listener whose label includes `label` (e.g. "KServe v1", "Odahu REST"). */
  url(label: string): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process if it is still running (test teardown). */
  kill(): Promise<void>;
}

const LISTENING = /^omaf: serving .* — (.+ on 127\.0\.0\.1:\d+)$/m;
const LISTENER = /^(.+) on 127\.0\.0\.1:(\d+)$/;

/** Environment without any omaf/Chassis settings from the outer shell, so only what a test sets applies. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("OMAF_") || k.startsWith("OTEL_")) continue;
    if (["PSC_MODEL_PORT", "INTERFACE", "HTTP_PORT", "MODEL_NAME", "ODAHU_MODEL_NAME", "ODAHU_MODEL_VERSION"].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Every port flag set to 0, so each listener picks a free port (Odahu then shares the HTTP listener). */
export const FREE_PORT_ARGS = ["--omi-port", "0", "--http-port", "0", "--oip-grpc-port", "0", "--odahu-port", "0"];

/**
 * Starts `omaf serve <artifact...> --host 127.0.0.1 <every port 0> <args>` and waits for its listening line. Unless
 * the test chooses interfaces (`--interfaces`, OMAF_INTERFACES or INTERFACE), only OMI is served.
 */
export async function startServe(
  artifact: string | string[],
  opts: { args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  const args = opts.args ?? [];
  const chosen = args.includes("--interfaces") || opts.env?.OMAF_INTERFACES !== undefined || opts.env?.INTERFACE !== undefined;
  const artifacts = Array.isArray(artifact) ? artifact : [artifact];
  const child = omafSpawn(["serve", ...artifacts, "--host", "127.0.0.1", ...FREE_PORT_ARGS, ...args], {
    env: cleanEnv({ ...(chosen ? {} : { OMAF_INTERFACES: "omi" }), ...opts.env }),
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = once(child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));

  const listeners = await new Promise<ServeListener[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`omaf serve did not start in time; stderr:\n${err}`)), opts.timeoutMs ?? 60_000);
    const onData = () => {
      const m = LISTENING.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off("data", onData);
        resolve(
          m[1].split(", ").map((part) => {
            const l = LISTENER.exec(part);
            if (!l) throw new Error(`cannot read listener "${part}" of: ${m[0]}`);
            return { label: l[1], port: Number(l[2]) };
          }),
        );
      }
    };
    child.stderr!.on("data", onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`omaf serve exited (${code}) before listening; stderr:\n${err}`));
    });
  });

  const port = (listeners.find((l) => l.label === "OMI gRPC") ?? listeners[0]).port;
  // The listening line is written once every model loaded or failed to.
  return {
    child,
    port,
    address: `127.0.0.1:${port}`,
    listeners,
    url(label) {
      const l = listeners.find((x) => x.label.includes(label));
      if (!l) throw new Error(`no listener "${label}" among: ${listeners.map((x) => x.label).join(", ")}`);
      return `http://127.0.0.1:${l.port}`;
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/**
 * The manifest of a node-entrypoint test model (`src/<entrypoint>`), as YAML text: version 1.0.0-1 unless `version`
 * says otherwise; any other field of `extra` (e.g. `serving`, `sample`) is added at the top level.
 */
export const nodeManifest = (name: string, entrypoint = "model.mjs", { version = "1.0.0-1", ...extra }: { version?: string; [field: string]: unknown } = {}) =>
  stringify({
    binaries: { type: "node", dependencies: "none" },
    model: { name, version, workDir: "src", entrypoint },
    odahuflowVersion: "1.0",
    toolchain: { name: "omaf-test", version: "0.1.0" },
    ...extra,
  });

/**
 * A matrix model (`sum-check`): each row [a, b] → [a + b], columns ["sum"]; a negative value throws.
 * Its schema fixes rows to 2 values.
 */
export async function writeSumModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("sum-check", "model.mjs"),
    "src/model.mjs": `export function init() { return "matrix"; }
export function predict_on_matrix(rows) {
  const out = rows.map((row) => {
    if (row.some((v) => v < 0)) throw new Error("negative values are not allowed");
    return [row.reduce((a, b) => a + b, 0)];
  });
  return [out, ["sum"]];
}
export function get_info() {
  return [[{ name: "a", type: "number", required: true }, { name: "b", type: "number", required: true }], [{ name: "sum", type: "number" }]];
}
`,
  });
  return dir;
}

/**
 * An objects model (`behave`): echoes `{echo: input}`; `{"markFile": path}` creates that file on arrival (so a test
 * knows the request is in flight), `{"sleepMs": n}` waits, `{"hang": true}` never answers, `{"throw": "msg"}` throws.
 */
export async function writeBehaveModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("behave", "model.mjs"),
    "src/model.mjs": `import { writeFileSync } from "node:fs";
export function init() { return "objects"; }
export async function predict_on_objects(input) {
  if (input.markFile) writeFileSync(input.markFile, "in flight");
  if (input.sleepMs) await new Promise((r) => setTimeout(r, input.sleepMs));
  if (input.hang) await new Promise(() => {});
  if (input.throw) throw new Error(input.throw);
  return { echo: input };
}
`,
  });
  return dir;
}

/** A matrix model (`first-value`) that answers each row's first value and names no output columns. */
export async function writeNoColumnsModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("first-value", "model.mjs"),
    "src/model.mjs": `export const init = () => "matrix";
export const predict_on_matrix = (rows) => [rows.map((r) => [r[0]]), null];
`,
  });
  return dir;
}

/** A model whose init() throws. */
export async function writeFailingInitModel(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest("broken-init", "model.mjs"),
    "src/model.mjs": `export function init() { throw new Error("init failed on purpose"); }
export function predict_on_objects(x) { return x; }
`,
  });
  return dir;
}
