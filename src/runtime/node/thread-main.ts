// Inside a node worker thread: load the entrypoint, report ready (or why not), then answer one request at a time.
// The thread runs this module as its main script; in any other thread importing it does nothing but give its URL.
import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import { OmafError } from "../../errors.js";
import { messageOf } from "../source.js";
import { loadEntrypoint, type LoadedEntrypoint } from "./entrypoint-module.js";
import { errorRecord, isPacked, matrixAnswer, transferList, unpack, type ThreadMessage, type ThreadRequest, type ThreadStart } from "./protocol.js";

/** The script a node worker thread runs: this module (inside a bundle, the bundle, whose top level runs it too). */
export const THREAD_MAIN_URL = import.meta.url;

async function serve(port: MessagePort, start: ThreadStart): Promise<void> {
  let model: LoadedEntrypoint;
  let stopping = false;
  let running = false;
  // Listening from the start keeps the thread alive after a failed load until the server ends it, so the failure
  // report cannot be overtaken by the thread's exit.
  port.on("message", (msg: ThreadRequest) => {
    if (msg.kind === "stop") {
      stopping = true;
      if (!running) port.close();
      return;
    }
    running = true;
    void answer(model, msg).then((reply) => {
      running = false;
      post(reply);
      if (stopping) port.close();
    });
  });
  try {
    model = await loadEntrypoint(start.entry);
  } catch (err) {
    port.postMessage({ type: "failed", error: errorRecord(err) } satisfies ThreadMessage);
    return;
  }
  port.postMessage({ type: "ready", report: model.report } satisfies ThreadMessage);

  function post(reply: Answer): void {
    try {
      port.postMessage(reply, reply.type === "matrix" ? transferList(reply.prediction) : []);
    } catch (err) {
      // A function, a symbol or a class with private state in the answer: structured clone refuses it.
      const what = `predict_on_${reply.type === "error" ? "objects" : reply.type}()`;
      const { file } = start.entry;
      const error = new OmafError("OMAF_ERR_PREDICT", `${what} in ${file} answered a value that cannot be copied: ${messageOf(err)}`, { file });
      port.postMessage({ type: "error", id: reply.id, error: errorRecord(error) } satisfies ThreadMessage);
    }
  }
}

/** What the thread posts for a request. */
type Answer = Extract<ThreadMessage, { id: number }>;

async function answer(model: LoadedEntrypoint, msg: Exclude<ThreadRequest, { kind: "stop" }>): Promise<Answer> {
  try {
    if (msg.kind === "matrix") {
      const data = isPacked(msg.data) ? (unpack(msg.data) as unknown[][]) : msg.data;
      return matrixAnswer(msg.id, await model.predictMatrix(data, msg.columns));
    }
    if (msg.kind === "tensors") return { type: "tensors", id: msg.id, outputs: await model.predictTensors(msg.inputs) };
    return { type: "objects", id: msg.id, result: await model.predictObjects(msg.input) };
  } catch (err) {
    return { type: "error", id: msg.id, error: errorRecord(err) };
  }
}

const start = workerData as ThreadStart | undefined;
if (!isMainThread && parentPort && start?.omafNodeWorker === true) void serve(parentPort, start);
