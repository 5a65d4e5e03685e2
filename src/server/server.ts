// Starts the listeners chosen in the settings on the model registry, keeps their readiness in step with the models,
// and stops gracefully: stop accepting, let in-flight requests finish, cut them after the drain timeout.
// Process signals are wired in by the caller (see signals.ts); nothing here exits the process.
import type { Logger } from "pino";
import { createOmiService } from "../protocols/omi/service.js";
import { loadOmiPackage, OMI_SERVICE_NAME } from "../protocols/omi/proto.js";
import { createOipGrpcService } from "../protocols/oip-v2/grpc.js";
import { loadOipPackage, OIP_SERVICE_NAME } from "../tensor/grpc-contents.js";
import { OmafError } from "../errors.js";
import { parseModelChoice, type ModelChoice, type ModelRegistry } from "../registry/registry.js";
import type { InterfaceName, Settings } from "../settings.js";
import { startGrpcListener } from "./grpc-listener.js";
import { startHealthListener } from "./health-listener.js";
import { isHttpInterface, startHttpListener, type HttpInterfaceName } from "./http-listener.js";
import type { Listener } from "./listener.js";
import type { ServerMetrics } from "./metrics.js";

/**
 * The health port calls the server not live once its main thread has not run for this long: no request, however
 * large, holds it that long (spec/limits.md), so a main thread stalled longer is stuck and a restart is the cure.
 */
export const MAIN_THREAD_STALL_LIMIT_MS = 10_000;

export interface ServerOptions {
  settings: Settings;
  /** The served models. */
  registry: ModelRegistry;
  /** Lifecycle lines (listening, stopping, stopped); optional. */
  log?: Logger;
  /** Served at /metrics on every HTTP listener; the dataplanes must report to it (DataPlaneOptions.metrics). */
  metrics?: ServerMetrics;
  /** Tracing in force (the dataplanes report to its tracer): its spans are flushed within the drain timeout on stop. */
  tracing?: { shutdown(timeoutMs: number): Promise<void> };
}

/**
 * The model a protocol that names no model (OMI, Odahu) serves: the one `choice` names (`name[:version]`; it must be
 * served), else the only one; with several models and no choice, OMAF_ERR_SETTINGS naming the setting.
 */
export function chooseModel(registry: ModelRegistry, choice: string, protocol: string, flag: string): ModelChoice {
  const served = registry.entries();
  const list = served.map((e) => (e.version ? `${e.name}:${e.version}` : e.name)).join(", ") || "none";
  if (choice.trim() !== "") {
    const picked = parseModelChoice(choice);
    try {
      registry.entry(picked.name, picked.version);
    } catch {
      throw new OmafError("OMAF_ERR_SETTINGS", `--${flag} ${choice}: this server serves no such model (it serves ${list})`, { setting: flag, value: choice });
    }
    return picked;
  }
  if (served.length === 1) return { name: served[0].name, ...(served[0].version ? { version: served[0].version } : {}) };
  throw new OmafError(
    "OMAF_ERR_SETTINGS",
    `${protocol} serves one model and this server serves ${served.length === 0 ? "none" : `${served.length} (${list})`}: choose one with --${flag} <name>[:<version>], or leave ${protocol} out of --interfaces`,
    { setting: flag },
  );
}

/** One listener to start: a gRPC interface, or an HTTP port with the protocols it serves. */
export type ListenerPlan = { kind: "grpc"; name: Exclude<InterfaceName, HttpInterfaceName> } | { kind: "http"; port: number; interfaces: HttpInterfaceName[] };

/**
 * The listeners settings.interfaces asks for, in its order. HTTP protocols on the same port share one listener:
 * OIP REST and KServe v1 use httpPort; Odahu uses odahuPort, which joins the shared listener when it is the same
 * number (both 0 included).
 */
export function planListeners(settings: Settings): ListenerPlan[] {
  const plans: ListenerPlan[] = [];
  for (const name of settings.interfaces) {
    if (!isHttpInterface(name)) {
      plans.push({ kind: "grpc", name });
      continue;
    }
    const port = name === "odahu" ? settings.odahuPort : settings.httpPort;
    const shared = plans.find((p): p is Extract<ListenerPlan, { kind: "http" }> => p.kind === "http" && p.port === port);
    if (shared) shared.interfaces.push(name);
    else plans.push({ kind: "http", port, interfaces: [name] });
  }
  return plans;
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
  const { settings, registry, log } = opts;
  // OMI and Odahu name no model: each serves one, chosen before anything listens.
  const models = {
    omi: settings.interfaces.includes("omi") ? chooseModel(registry, settings.omiModel, "OMI", "omi-model") : undefined,
    odahu: settings.interfaces.includes("odahu") ? chooseModel(registry, settings.odahuModel, "Odahu", "odahu-model") : undefined,
  };
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
    log?.info({ reason, inFlight: registry.inFlightCount }, "stopping");
    // Draining flips readiness off first, so health answers NOT_SERVING while in-flight calls finish.
    const graceful = Promise.all([registry.drain(), ...listeners.map((l) => l.close())]).then(() => "done" as const);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), settings.drainTimeoutMs)));
    const outcome = await Promise.race([graceful, timeout, forced]);
    clearTimeout(timer);
    if (outcome !== "done") for (const l of listeners) l.forceClose();
    await closeModels(registry, log, settings.drainTimeoutMs - (performance.now() - t0));
    // The spans of the last requests go out within what is left of the drain timeout (at least a moment, as above).
    await opts.tracing?.shutdown(Math.max(0, settings.drainTimeoutMs - (performance.now() - t0)) + 250);
    const result: StopResult = { reason, forced: outcome !== "done", durationMs: Math.round(performance.now() - t0) };
    log?.info({ ...result }, "stopped");
    return result;
  }

  try {
    for (const plan of planListeners(settings)) {
      listeners.push(
        plan.kind === "http"
          ? await startHttp(plan.port, plan.interfaces, opts, models.odahu)
          : await startListener(plan.name, opts, models.omi, (reason) => void stop(reason)),
      );
    }
    if (settings.healthPort !== undefined) {
      listeners.push(await startHealthListener({ host: settings.host, port: settings.healthPort, registry, stallLimitMs: MAIN_THREAD_STALL_LIMIT_MS }));
    }
  } catch (err) {
    for (const l of listeners) l.forceClose();
    throw err;
  }
  const syncReadiness = () => {
    for (const l of listeners) l.setServing(registry.ready);
  };
  registry.onStateChange(syncReadiness);
  syncReadiness();
  for (const l of listeners) log?.info({ interface: l.interfaceName, interfaces: l.interfaces, host: l.host, port: l.port }, "listening");

  return { listeners, stopped, stop, forceStop: () => force() };
}

function startHttp(port: number, interfaces: HttpInterfaceName[], opts: ServerOptions, odahuModel: ModelChoice | undefined): Promise<Listener> {
  const { settings, registry, metrics } = opts;
  return startHttpListener({
    interfaces,
    host: settings.host,
    port,
    maxBodyBytes: settings.maxBodyBytes,
    registry,
    metrics: settings.metrics ? metrics : undefined,
    odahuModel,
    odahuNames: { modelName: settings.odahuModelName || undefined, modelVersion: settings.odahuModelVersion || undefined },
  });
}

/** Starts one gRPC listener (each gRPC protocol has its own port). */
async function startListener(
  name: Exclude<InterfaceName, HttpInterfaceName>,
  opts: ServerOptions,
  omiModel: ModelChoice | undefined,
  requestStop: (reason: string) => void,
): Promise<Listener> {
  const { settings, registry } = opts;
  switch (name) {
    case "omi": {
      const model = omiModel!;
      const omi = createOmiService(() => registry.resolve(model.name, model.version), {
        maxMessageBytes: settings.maxMessageBytes,
        requestTimeoutMs: settings.requestTimeoutMs,
        modelAuthor: settings.modelAuthor,
        onShutdown: () => requestStop("Shutdown call"),
        onRejected: (ctx, err) => registry.reportRejected(ctx, err),
      });
      return startGrpcListener({
        label: "OMI gRPC",
        interfaceName: "omi",
        host: settings.host,
        port: settings.omiPort,
        ...grpcConnectionSettings(settings),
        services: [{ name: OMI_SERVICE_NAME, ...omi, packageDefinition: loadOmiPackage() }],
      });
    }
    case "oip-grpc": {
      const oip = createOipGrpcService(registry);
      return startGrpcListener({
        label: "OIP v2 gRPC",
        interfaceName: "oip-grpc",
        host: settings.host,
        port: settings.oipGrpcPort,
        ...grpcConnectionSettings(settings),
        services: [{ name: OIP_SERVICE_NAME, ...oip, packageDefinition: loadOipPackage() }],
      });
    }
    default: {
      const unknown: never = name;
      throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `the ${String(unknown)} interface is not available in this build`);
    }
  }
}

/** What every gRPC listener takes from the settings: message size and connection limits. */
function grpcConnectionSettings(settings: Settings): { maxMessageBytes: number; keepaliveMs: number; idleTimeoutMs: number } {
  return { maxMessageBytes: settings.maxMessageBytes, keepaliveMs: settings.grpcKeepaliveMs, idleTimeoutMs: settings.grpcIdleTimeoutMs };
}

/**
 * Releases the models within what is left of the drain timeout (plus a moment for a worker kill to land; close() cuts
 * running work at once), so the whole stop fits the grace period a supervisor gives: a hung close() never holds it.
 */
async function closeModels(registry: ModelRegistry, log: Logger | undefined, leftMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([registry.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, leftMs) + 250)))]);
  } catch (err) {
    log?.warn({ err: (err as Error).message }, "closing the model failed");
  } finally {
    clearTimeout(timer);
  }
}
