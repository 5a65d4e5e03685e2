// One model worker process of any language (Python GPPI, Java GJPI): spawns it, waits for it to load the model, then
// runs one request at a time over the framed pipes (./protocol.ts). Its stderr (model prints, warnings, stack traces)
// goes to the logger line by line. Each language supplies a ProcessLaunch: the command, and how to word its errors.
import { spawn, type ChildProcess } from "node:child_process";
import { OmafError, type ErrorCode } from "../../errors.js";
import type { PoolWorker } from "../workers/pool.js";
import type { WorkerLogger } from "../workers/logger.js";
import { decodeJson, FrameReader, FrameType, setFrameId, type Frame } from "./protocol.js";

/** What every worker reports once the model is loaded and initialised; each language adds its own fields. */
export interface BaseReadyInfo {
  protocol: number;
  mode: string;
  pid: number;
  info?: unknown;
  infoFunction?: string;
  objectInputType?: unknown;
  objectOutputType?: unknown;
  serializer: boolean;
}

/** How to start one worker process of a language. */
export interface ProcessLaunch {
  /** What a worker is called in log lines and messages, e.g. "python worker". */
  kind: string;
  command: string;
  args: string[];
  /** Working directory: the model folder (model.workDir). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Names the model in messages. */
  label: string;
  /** Details every error of this worker carries, e.g. `{python: "/usr/bin/python3"}`. */
  details: Record<string, unknown>;
  /** The error for a command that cannot be run at all (ENOENT, EACCES). */
  notFound(errno: string): OmafError;
}

/** An error a worker reported in a 'F' or 'E' frame. */
interface WorkerError {
  code: string;
  message: string;
  traceback?: string | null;
}

const STDERR_TAIL_LINES = 30;

/** The OmafError for an error the worker reported; unknown codes become OMAF_ERR_INTERNAL. */
export function workerError(reported: WorkerError, extraDetails: Record<string, unknown> = {}): OmafError {
  const code = (reported.code?.startsWith("OMAF_ERR_") ? reported.code : "OMAF_ERR_INTERNAL") as ErrorCode;
  const details = { ...extraDetails, ...(reported.traceback ? { traceback: reported.traceback } : {}) };
  return new OmafError(code, reported.message, details);
}

interface Pending {
  id: number;
  resolve: (frame: Frame) => void;
  reject: (err: OmafError) => void;
}

export class ProcessWorker<Ready extends BaseReadyInfo> implements PoolWorker<Buffer, Frame, Ready> {
  private child?: ChildProcess;
  private reader = new FrameReader();
  private stderrTail: string[] = [];
  private partialLine = "";
  private pending?: Pending;
  private startWaiter?: { resolve: (info: Ready) => void; reject: (err: OmafError) => void };
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private stdoutClosed = false;
  private spawnError?: NodeJS.ErrnoException;
  private finished = false;
  private exitWaiters: (() => void)[] = [];
  /** Set once the worker is gone, with why. */
  exitReason?: string;
  /** True while the model is loaded and the process runs. */
  ready = false;
  /** True once the model was loaded (stays true after the process is gone). */
  wasReady = false;

  constructor(
    readonly index: number,
    private readonly launch: ProcessLaunch,
    private readonly logger: WorkerLogger,
    /** Called once when the process is gone (expected or not), after any pending request was rejected. */
    private readonly onGone: () => void,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get where(): string {
    return `pid ${this.child?.pid}`;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Spawns the process; resolves when the model is loaded, rejects with the load error. */
  start(): Promise<Ready> {
    const { command, args, cwd, env } = this.launch;
    return new Promise<Ready>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      const child = spawn(command, args, { cwd, stdio: ["pipe", "pipe", "pipe"], env });
      this.child = child;
      child.on("error", (err: NodeJS.ErrnoException) => {
        this.spawnError ??= err;
        // A spawn failure emits no 'exit'.
        if (child.pid === undefined) this.finish();
      });
      child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.stdoutClosed) this.finish();
      });
      child.stdout!.on("data", (chunk: Buffer) => this.onData(chunk));
      child.stdout!.on("close", () => {
        this.stdoutClosed = true;
        if (this.exitInfo) this.finish();
      });
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (text: string) => this.onStderr(text));
      // EPIPE when the worker died first: the exit path reports it.
      child.stdin!.on("error", () => {});
    });
  }

  /** Sends one request frame; resolves with the answer frame ('J', 'A' or 'E'). One at a time. */
  request(frame: Buffer, id: number): Promise<Frame> {
    if (this.pending || !this.ready || this.finished) {
      return Promise.reject(new OmafError("OMAF_ERR_UNAVAILABLE", `${this.launch.kind} ${this.index} is not ready for a request`));
    }
    return new Promise<Frame>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      setFrameId(frame, id);
      this.child!.stdin!.write(frame);
    });
  }

  /** Kills the process at once (a hung model); the pending request is the caller's to settle. */
  kill(): void {
    this.pending = undefined;
    this.ready = false;
    if (this.child && !this.finished) this.child.kill("SIGKILL");
  }

  /** Closes the worker's input so it exits after the current request; kills it after `graceMs` (0: at once). */
  async stop(graceMs: number): Promise<void> {
    if (!this.child || this.finished) return;
    this.child.stdin!.end();
    // No grace left: kill now rather than on the next turn of the event loop, which may come after the exit.
    if (graceMs <= 0) this.child.kill("SIGKILL");
    const timer = graceMs > 0 ? setTimeout(() => this.child?.kill("SIGKILL"), graceMs) : undefined;
    await new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    clearTimeout(timer);
  }

  /** Waits until the process is gone. */
  gone(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise<void>((resolve) => this.exitWaiters.push(resolve));
  }

  /** The last lines the worker wrote to stderr. */
  recentStderr(): string {
    return [...this.stderrTail, ...(this.partialLine ? [this.partialLine] : [])].join("\n");
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.protocolError(`unreadable output: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    if (this.startWaiter) {
      const waiter = this.startWaiter;
      if (frame.type === FrameType.Ready) {
        this.startWaiter = undefined;
        this.ready = true;
        this.wasReady = true;
        waiter.resolve(decodeJson<Ready>(frame.body));
      } else if (frame.type === FrameType.Failed) {
        this.startWaiter = undefined;
        const reported = decodeJson<WorkerError>(frame.body);
        // The traceback belongs in the message: it is what the model's author needs to see.
        const message = reported.traceback ? `${reported.message}\n${reported.traceback.trimEnd()}` : reported.message;
        waiter.reject(workerError({ ...reported, message }, { ...this.launch.details, worker: this.index }));
      } else {
        this.protocolError(`unexpected frame type ${frame.type} before ready`);
      }
      return;
    }
    const pending = this.pending;
    if (!pending || frame.id !== pending.id) {
      this.protocolError(`answer for request ${frame.id} that is not running`);
      return;
    }
    this.pending = undefined;
    pending.resolve(frame);
  }

  private protocolError(what: string): void {
    this.logger.error(`[${this.launch.kind} ${this.index}] protocol error: ${what}; restarting it`);
    this.child?.kill("SIGKILL");
  }

  private onStderr(text: string): void {
    const lines = (this.partialLine + text).split(/\r?\n/);
    this.partialLine = lines.pop() ?? "";
    for (const line of lines) this.logLine(line);
  }

  private logLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.logger.info(`[${this.launch.kind} ${this.index}] ${line}`);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ready = false;
    if (this.partialLine) {
      this.logLine(this.partialLine);
      this.partialLine = "";
    }
    const { kind, command, details } = this.launch;
    let err: OmafError;
    if (this.spawnError) {
      const e = this.spawnError;
      err =
        e.code === "ENOENT" || e.code === "EACCES"
          ? this.launch.notFound(e.code)
          : new OmafError("OMAF_ERR_INTERNAL", `cannot start ${kind} ${this.index} with '${command}': ${e.message}`, details);
      this.exitReason = err.message;
    } else {
      const how = this.exitInfo?.signal ? `was killed by ${this.exitInfo.signal}` : `exited with code ${this.exitInfo?.code}`;
      this.exitReason = `${kind} ${this.index} (pid ${this.child?.pid}) ${how}`;
      const tail = this.recentStderr();
      err = new OmafError(
        this.startWaiter ? "OMAF_ERR_MODEL_INIT" : "OMAF_ERR_WORKER_CRASHED",
        this.startWaiter
          ? `${this.exitReason} before loading ${this.launch.label}${tail ? `; its last output:\n${tail}` : ""}`
          : `${this.exitReason} while running the request${tail ? `; its last output:\n${tail}` : ""}`,
        { ...details, worker: this.index, exitCode: this.exitInfo?.code ?? null, signal: this.exitInfo?.signal ?? null },
      );
    }
    if (this.startWaiter) {
      this.startWaiter.reject(err);
      this.startWaiter = undefined;
    }
    if (this.pending) {
      this.pending.reject(err);
      this.pending = undefined;
    }
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    this.onGone();
  }
}
