// One node worker thread as the worker pool drives it: starts thread-main.ts with the entrypoint to load, waits for
// its ready report, then runs one request at a time. A model stuck in a loop is ended with terminate(), which stops
// even a synchronous `for (;;) {}`; a thread that throws asynchronously, calls process.exit() or runs out of heap
// ends alone, and the server's thread carries on.
//
// What the model prints goes straight to the server's stdout and stderr, as it did in-process. (Reading a thread's
// output through `stdout: true` streams would hold the process open while the thread idles.)
import { Worker, type ResourceLimits } from "node:worker_threads";
import { OmafError } from "../../errors.js";
import type { PoolWorker } from "../workers/pool.js";
import type { EntrypointReport, EntrypointSpec } from "./entrypoint-module.js";
import { fromErrorRecord, transferList, type ThreadMessage, type ThreadRequest, type ThreadStart } from "./protocol.js";
import { messageOf } from "../source.js";
import { threadScript, type ThreadScript } from "./thread-script.js";

/** A request as the pool hands it over; the worker stamps its id. */
export type NodeRequest = Exclude<ThreadRequest, { kind: "stop" }>;
/** A request's answer: a result, or the error the model's function raised (still a served request). */
export type NodeAnswer = Extract<ThreadMessage, { type: "matrix" | "objects" | "tensors" | "error" }>;

/** How to start a worker thread. */
export interface ThreadLaunch {
  entry: EntrypointSpec;
  /** Absolute model folder (model.workDir): MODEL_LOCATION in the thread's environment. */
  modelLocation: string;
  /** Names the model in messages. */
  label: string;
  /** Heap limit of the thread in MiB; undefined keeps V8's default. */
  maxHeapMb?: number;
}

async function startThread(launch: ThreadLaunch): Promise<Worker> {
  const workerData: ThreadStart = { omafNodeWorker: true, entry: launch.entry };
  const resourceLimits: ResourceLimits | undefined = launch.maxHeapMb ? { maxOldGenerationSizeMb: launch.maxHeapMb } : undefined;
  // The GPPI contract: the model finds its files through MODEL_LOCATION. Each thread has its own copy of the
  // environment, so the server's own stays untouched.
  const options = { workerData, env: { ...process.env, MODEL_LOCATION: launch.modelLocation }, resourceLimits };
  let script: ThreadScript;
  try {
    script = await threadScript();
  } catch (err) {
    throw new OmafError("OMAF_ERR_INTERNAL", `cannot prepare the node worker thread's script: ${messageOf(err)}`);
  }
  return "file" in script ? new Worker(script.file, options) : new Worker(script.source, { ...options, eval: true });
}

interface Pending {
  id: number;
  resolve: (answer: NodeAnswer) => void;
  reject: (err: OmafError) => void;
}

export class NodeThreadWorker implements PoolWorker<NodeRequest, NodeAnswer, EntrypointReport> {
  private thread?: Worker;
  /** Kept apart: the Worker object forgets its id once the thread has ended. */
  private threadId?: number;
  private pending?: Pending;
  private startWaiter?: { resolve: (report: EntrypointReport) => void; reject: (err: OmafError) => void };
  private uncaught?: Error;
  private killed = false;
  /** Set by kill() or stop(): a thread still being prepared is then not started at all. */
  private ended = false;
  private finished = false;
  private exitWaiters: (() => void)[] = [];
  exitReason?: string;
  ready = false;
  wasReady = false;

  constructor(
    readonly index: number,
    private readonly launch: ThreadLaunch,
    /** Called once when the thread is gone (expected or not), after any pending request was rejected. */
    private readonly onGone: () => void,
  ) {}

  get pid(): number | undefined {
    return this.threadId;
  }

  get where(): string {
    return `thread ${this.threadId}`;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  async start(): Promise<EntrypointReport> {
    const thread = await startThread(this.launch);
    if (this.ended) {
      void thread.terminate();
      throw new OmafError("OMAF_ERR_UNAVAILABLE", `node worker ${this.index} was stopped while starting`);
    }
    return new Promise<EntrypointReport>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.thread = thread;
      this.threadId = thread.threadId;
      thread.on("message", (msg: ThreadMessage) => this.onMessage(msg));
      // An uncaught exception (or rejection) in the thread: its 'exit' follows.
      thread.on("error", (err) => (this.uncaught ??= err));
      thread.on("exit", (code) => this.finish(code));
    });
  }

  request(payload: NodeRequest, id: number): Promise<NodeAnswer> {
    if (this.pending || !this.ready || this.finished) {
      return Promise.reject(new OmafError("OMAF_ERR_UNAVAILABLE", `node worker ${this.index} is not ready for a request`));
    }
    payload.id = id;
    try {
      this.thread!.postMessage(payload, payload.kind === "matrix" ? transferList(payload.data) : []);
    } catch (err) {
      // Only a caller of the library can get here: protocol inputs are parsed JSON, which always copies.
      return Promise.reject(new OmafError("OMAF_ERR_BAD_INPUT", `the input cannot be copied to the model's thread: ${messageOf(err)}`));
    }
    // A running request keeps the process alive; an idle thread does not (see onMessage).
    this.thread!.ref();
    return new Promise<NodeAnswer>((resolve, reject) => (this.pending = { id, resolve, reject }));
  }

  kill(): void {
    this.ended = true;
    this.pending = undefined;
    this.ready = false;
    this.killed = true;
    if (this.thread && !this.finished) void this.thread.terminate();
  }

  /** Asks the thread to end once its current request is answered; terminates it after `graceMs` (0: at once). */
  async stop(graceMs: number): Promise<void> {
    this.ended = true;
    if (!this.thread || this.finished) return;
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.thread.postMessage({ kind: "stop" } satisfies ThreadRequest);
    if (graceMs <= 0) void this.thread.terminate();
    const timer = graceMs > 0 ? setTimeout(() => void this.thread?.terminate(), graceMs) : undefined;
    await gone;
    clearTimeout(timer);
  }

  private onMessage(msg: ThreadMessage): void {
    if (this.startWaiter) {
      const waiter = this.startWaiter;
      this.startWaiter = undefined;
      if (msg.type === "ready") {
        this.ready = this.wasReady = true;
        this.thread!.unref();
        waiter.resolve(msg.report);
      } else if (msg.type === "failed") {
        waiter.reject(fromErrorRecord(msg.error));
        // The thread waits to be ended (so this message could not be overtaken by its exit).
        void this.thread!.terminate();
      } else {
        waiter.reject(new OmafError("OMAF_ERR_INTERNAL", `node worker ${this.index} answered '${msg.type}' before it was ready`));
      }
      return;
    }
    const pending = this.pending;
    if (!pending || !("id" in msg) || msg.id !== pending.id) return; // the answer of a request the pool gave up on
    this.pending = undefined;
    this.thread!.unref();
    pending.resolve(msg as NodeAnswer);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.ready = false;
    const err = this.uncaught as (Error & { code?: string }) | undefined;
    const how = this.killed
      ? "was terminated"
      : err?.code === "ERR_WORKER_OUT_OF_MEMORY"
        ? `ran out of memory (${err.message})`
        : err
          ? `threw ${err.name}: ${err.message}`
          : `exited with code ${code}`;
    this.exitReason = `node worker ${this.index} (thread ${this.threadId}) ${how}`;
    const details = { worker: this.index, exitCode: code };
    if (this.startWaiter) {
      this.startWaiter.reject(new OmafError("OMAF_ERR_MODEL_INIT", `${this.exitReason} before loading ${this.launch.label}`, details));
      this.startWaiter = undefined;
    }
    if (this.pending) {
      this.pending.reject(new OmafError("OMAF_ERR_WORKER_CRASHED", `${this.exitReason} while running the request`, details));
      this.pending = undefined;
    }
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    this.onGone();
  }
}
