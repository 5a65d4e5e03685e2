// `omaf serve [artifact...]`: materialise the artifacts (and the model repository's entries), load their models,
// serve them on the configured protocols until SIGTERM/SIGINT or an OMI Shutdown call, then drain and exit 0 — or,
// after an uncaught error, drain and exit 1 (crash-only: see server/signals.ts). Every flag comes from the settings
// table.
import { Option, type Command } from "commander";
import type { ModelRegistry } from "../../registry/registry.js";
import type { RunningServer } from "../../server/server.js";
import { describeDefault, isRepeatable, isSwitch, loadSettings, SETTINGS, settingValueName, type SettingFlags } from "../../settings.js";
import { action, repeatable, type CommonOptions } from "../output.js";

export function registerServe(program: Command): void {
  const cmd = program
    .command("serve")
    .summary("Serve artifacts' models over OMI gRPC, Open Inference Protocol v2, KServe v1 and Odahu REST")
    .description(
      "Serve the models of one or more artifacts (and of a --model-repository folder) from one process over the chosen protocols — OMI gRPC (Chassis ModzyModel), " +
        "Open Inference Protocol v2 REST and gRPC, KServe v1 REST, Odahu REST — until SIGTERM/SIGINT or an OMI Shutdown call. " +
        "HTTP protocols share one port (--http-port; Odahu uses --odahu-port, shared when equal), which also serves " +
        "/healthz, /readyz and Prometheus /metrics. Models load at start (--lazy: on the first request). " +
        "OMI and Odahu serve one model: the only one, or --omi-model / --odahu-model. " +
        "Each setting is a flag or an environment variable; flags win.",
    )
    .argument("[artifacts...]", "artifact .zip (or Odahu gzip tar) or model folder; several serve several models")
    .option("--json", "print the listening line as JSON (one line on stdout)");
  for (const d of SETTINGS) {
    const help = `${d.description} (env: ${d.env.join(", ")}; default: ${describeDefault(d)})`;
    if (isSwitch(d)) {
      cmd.addOption(new Option(`--${d.flag}`, help));
      cmd.addOption(new Option(`--no-${d.flag}`, `turn ${d.flag} off`));
    } else if (isRepeatable(d)) {
      cmd.addOption(new Option(`--${d.flag} ${settingValueName(d) ?? "<value>"}`, help).argParser((v: string, prev?: string[]) => repeatable(v, prev ?? [])));
    } else {
      cmd.addOption(new Option(`--${d.flag} ${settingValueName(d) ?? "<value>"}`, help));
    }
  }
  cmd.action(action(serve));
}

async function serve(sources: string[], opts: CommonOptions & SettingFlags): Promise<number> {
  const flags: SettingFlags = {};
  for (const d of SETTINGS) if (opts[d.key] !== undefined) flags[d.key] = opts[d.key];
  const settings = loadSettings({ flags });

  // The serving stack (gRPC, fastify, pino, runtimes) is loaded only by this command.
  const { serveModels } = await import("../../server/serve.js");
  const { handleStopSignals, stopOnFatalErrors } = await import("../../server/signals.js");
  const { formatHostPort } = await import("../../server/listener.js");
  const { registry, server, log, flushLog } = await serveModels(sources, settings);
  let fatal: string | undefined;
  const unwireFatal = stopOnFatalErrors(server, (kind, err) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`omaf: ${kind}: ${message}\nomaf: draining and exiting with code 1 (a supervisor restarts the server)\n`);
    log?.fatal({ err: err instanceof Error ? err.message : String(err) }, kind);
    fatal ??= kind;
  });
  const unwire = handleStopSignals(server, (signal, count) => {
    if (count > 1) process.stderr.write(`omaf: ${signal} again; cutting in-flight requests\n`);
  });
  reportProblems(registry);
  // No "serving" line when a signal arrived during the start: that server is already going away.
  if (!registry.isStopping) announce(registry, server, Boolean(opts.json), formatHostPort);

  const result = await server.stopped;
  unwire();
  unwireFatal();
  if (result.forced) process.stderr.write(`omaf: stopped (${result.reason}); in-flight requests were cut after ${result.durationMs} ms\n`);
  else process.stderr.write(`omaf: stopped (${result.reason})\n`);
  await flushLog();
  // Model runtimes may keep threads or handles open; the stop is complete, so leave now.
  process.exit(fatal ? 1 : 0);
}

/** A line on stderr for each model that failed to load or cannot be read (the server keeps running). */
function reportProblems(registry: ModelRegistry): void {
  const entries = registry.entries();
  for (const e of entries) {
    const error = e.dataplane?.loadError;
    if (error && entries.length === 1) {
      process.stderr.write(`omaf: model failed to load: ${error.code}: ${error.message} (Status answers 500 and retries the load)\n`);
    } else if (error) {
      process.stderr.write(`omaf: model ${e.name} ${e.version} failed to load: ${error.code}: ${error.message} (requests retry the load)\n`);
    } else if (!e.dataplane && e.problem) {
      process.stderr.write(`omaf: ${e.source} cannot be served: ${e.reason}\n`);
    }
  }
}

/** The one line that says the server is up: human text on stderr, or JSON on stdout with --json. */
function announce(registry: ModelRegistry, server: RunningServer, json: boolean, formatHostPort: (host: string, port: number) => string): void {
  const models = registry.entries().map((e) => ({
    name: e.name,
    version: e.version,
    artifactDigest: e.opened?.artifact.artifactDigest ?? "",
    ...(e.dataplane?.provenance.signedBy ? { signedBy: e.dataplane.provenance.signedBy } : {}),
    state: e.dataplane?.state ?? "unavailable",
  }));
  const listeners = server.listeners.map((l) => ({ interface: l.interfaceName, interfaces: l.interfaces, label: l.label, host: l.host, port: l.port }));
  // A server of one model names it at the top level, as it always has.
  const only = models.length === 1 ? models[0] : undefined;
  if (json) {
    const single = only
      ? {
          model: only.name,
          version: only.version,
          artifactDigest: only.artifactDigest,
          ...(only.signedBy ? { signedBy: only.signedBy } : {}),
          state: only.state,
        }
      : {};
    process.stdout.write(`${JSON.stringify({ event: "listening", ...single, models, listeners })}\n`);
  } else {
    const on = listeners.map((l) => `${l.label} on ${formatHostPort(l.host, l.port)}`).join(", ");
    const what = only
      ? `${only.name} ${only.version} (${only.artifactDigest}${only.signedBy ? `, signed by ${only.signedBy}` : ""})`
      : `${models.length} models: ${models.map((m) => `${m.name} ${m.version || "(unreadable)"}`.trim()).join(", ")}`;
    process.stderr.write(`omaf: serving ${what} — ${on}\n`);
  }
}
