// Starts the listeners chosen in the settings on one dataplane, keeps their readiness in step with the model,
// and stops gracefully: stop accepting, let in-flight requests finish, cut them after the drain timeout.
// Process signals are wired in by the caller (see signals.ts); nothing here exits the process.
import type { Logger } from "pino";
import type { DataPlane } from "../dataplane/dataplane.js";
import { createOmiService } from "../protocols/omi/service.js";
import { loadOmiPackage, OMI_SERVICE_NAME } from "../protocols/omi/proto.js";
import type { InterfaceName, Settings } from "../settings.js";
import { startGrpcListener } from "./grpc-listener.js";
import type { Listener } from "./listener.js";

export interface ServerOptions {
  settings: Settings;
  dataplane: DataPlane;
  /** Lifecycle lines (listening, stopping, stopped); optional. */
  log?: Logger;
}

export interface StopResult {
  /** What asked for the stop, e.g. `SIGTERM` or `Shutdown call`. */
  reason: string;
  /** True when in-flight requests had to be cut (drain timeout or forceStop). */
  forced: boolean;
  durationMs: number;
}

export interface RunningServer {
  listeners: Listener[];
  /** Resolves once a stop completed, whoever started it. */
  stopped: Promise<StopResult>;
  /** Begins a graceful stop; later calls return the same promise. */
  stop(reason: string): Promise<StopResult>;
  /** Cuts in-flight requests now (e.g. on a second signal); a stop in progress then completes at once. */
  forceStop(): void;
}

/** Starts every listener in settings.interfaces; if one cannot start, the ones already started are closed. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { settings, dataplane, log } = opts;
  const listeners: Listener[] = [];
  let stopping: Promise<StopResult> | undefined;
  let resolveStopped!: (r: StopResult) => void;
  const stopped = new Promise<StopResult>((resolve) => (resolveStopped = resolve));
  let force!: () => void;
  const forced = new Promise<"forced">((resolve) => (force = () => resolve("forced")));

  const stop = (reason: string): Promise<StopResult> => {
    stopping ??= drainAndClose(reason).then((r) => {
      resolveStopped(r);
      return r;
    });
    return stopping;
  };

  async function drainAndClose(reason: string): Promise<StopResult> {
    const t0 = performance.now();
    log?.info({ reason, inFlight: dataplane.inFlightCount }, "stopping");
    // Draining flips readiness off first, so health answers NOT_SERVING while in-flight calls finish.
    const graceful = Promise.all([dataplane.drain(), ...listeners.map((l) => l.close())]).then(() => "done" as const);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), settings.drainTimeoutMs)));
    const outcome = await Promise.race([graceful, timeout, forced]);
    clearTimeout(timer);
    if (outcome !== "done") for (const l of listeners) l.forceClose();
    await closeModel(dataplane, log);
    const result: StopResult = { reason, forced: outcome !== "done", durationMs: Math.round(performance.now() - t0) };
    log?.info({ ...result }, "stopped");
    return result;
  }

  try {
    for (const name of settings.interfaces) listeners.push(await startListener(name, opts, (reason) => void stop(reason)));
  } catch (err) {
    for (const l of listeners) l.forceClose();
    throw err;
  }
  const syncReadiness = () => {
    for (const l of listeners) l.setServing(dataplane.ready);
  };
  dataplane.onStateChange(syncReadiness);
  syncReadiness();
  for (const l of listeners) log?.info({ interface: l.interfaceName, host: l.host, port: l.port }, "listening");

  return { listeners, stopped, stop, forceStop: () => force() };
}

async function startListener(name: InterfaceName, opts: ServerOptions, requestStop: (reason: string) => void): Promise<Listener> {
  const { settings, dataplane } = opts;
  switch (name) {
    case "omi": {
      const omi = createOmiService(dataplane, {
        maxMessageBytes: settings.maxMessageBytes,
        requestTimeoutMs: settings.requestTimeoutMs,
        modelAuthor: settings.modelAuthor,
        onShutdown: () => requestStop("Shutdown call"),
      });
      return startGrpcListener({
        label: "OMI gRPC",
        interfaceName: "omi",
        host: settings.host,
        port: settings.omiPort,
        maxMessageBytes: settings.maxMessageBytes,
        services: [{ name: OMI_SERVICE_NAME, ...omi, packageDefinition: loadOmiPackage() }],
      });
    }
  }
}

/** Releases the model, but never lets a hung close() hold the exit. */
async function closeModel(dataplane: DataPlane, log?: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([dataplane.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
  } catch (err) {
    log?.warn({ err: (err as Error).message }, "closing the model failed");
  } finally {
    clearTimeout(timer);
  }
}
