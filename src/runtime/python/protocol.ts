// The Python workers speak the shared process-worker protocol (src/runtime/process/protocol.ts).
export * from "../process/protocol.js";
