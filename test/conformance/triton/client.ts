// The Python clients of the conformance suite: where test/.venv is, whether it is there, and a long-lived
// driver.py process (tritonclient.http or tritonclient.grpc) that answers one JSON line per request line.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The interpreter of the test venv (OMAF_TEST_VENV_PYTHON_BIN overrides, e.g. for a venv elsewhere). */
export const VENV_PYTHON = process.env.OMAF_TEST_VENV_PYTHON_BIN || fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));

const DRIVER = fileURLToPath(new URL("./driver.py", import.meta.url));

/** How to create the venv, for skip and failure messages. */
export const SETUP_HINT = "create it with `npm run setup:test-venv` (runs test/conformance/triton/setup-venv.sh; .ci/run does this)";

/**
 * Why the Python clients cannot run here (no venv), or undefined when they can. With OMAF_TEST_REQUIRE_TRITON=1
 * (set by .ci/run) a missing venv is an error instead of a reason to skip.
 */
export function venvMissing(): string | undefined {
  if (existsSync(VENV_PYTHON)) return undefined;
  const reason = `the test venv with tritonclient is missing (${VENV_PYTHON}); ${SETUP_HINT}`;
  if (process.env.OMAF_TEST_REQUIRE_TRITON === "1") throw new Error(`OMAF_TEST_REQUIRE_TRITON=1 but ${reason}`);
  return reason;
}

export type DriverAnswer<T = unknown> = { ok: true; result: T } | { ok: false; status: string; message: string };

/** One driver.py process; requests are answered in order. */
export class TritonDriver {
  readonly #child: ChildProcess;
  readonly #waiting: { resolve: (a: DriverAnswer) => void; reject: (e: Error) => void }[] = [];
  #stderr = "";
  #exited = false;

  constructor(protocol: "http" | "grpc", url: string) {
    this.#child = spawn(VENV_PYTHON, ["-u", DRIVER, protocol, url], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.#stderr += d));
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      const next = this.#waiting.shift();
      if (!next) return;
      try {
        next.resolve(JSON.parse(line) as DriverAnswer);
      } catch {
        next.reject(new Error(`driver.py wrote a line that is not JSON: ${line}`));
      }
    });
    this.#child.on("exit", (code, signal) => {
      this.#exited = true;
      const err = new Error(`driver.py exited (${code ?? signal}); stderr:\n${this.#stderr}`);
      for (const w of this.#waiting.splice(0)) w.reject(err);
    });
  }

  /** Sends one request; answers the driver's reply (a server error is an `ok: false` answer, not a rejection). */
  request<T = unknown>(req: Record<string, unknown>): Promise<DriverAnswer<T>> {
    if (this.#exited) return Promise.reject(new Error(`driver.py is not running; stderr:\n${this.#stderr}`));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve: resolve as (a: DriverAnswer) => void, reject });
      this.#child.stdin!.write(JSON.stringify(req) + "\n");
    });
  }

  /** Like request(), but a failed answer rejects with the status and message tritonclient reported. */
  async call<T = unknown>(req: Record<string, unknown>): Promise<T> {
    const a = await this.request<T>(req);
    if (!a.ok) throw new Error(`tritonclient ${String(req.op)} failed (${a.status}): ${a.message}`);
    return a.result;
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const done = new Promise((r) => this.#child.once("exit", r));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await done;
    clearTimeout(timer);
  }
}
