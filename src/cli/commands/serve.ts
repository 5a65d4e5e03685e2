// `omaf serve <artifact>`: materialise the artifact, load its model, serve it on the configured protocols until
// SIGTERM/SIGINT or an OMI Shutdown call, then drain and exit 0 — or, after an uncaught error, drain and exit 1
// (crash-only: see server/signals.ts). Every flag comes from the settings table.
import { Option, type Command } from "commander";
import type { DataPlane } from "../../dataplane/dataplane.js";
import type { RunningServer } from "../../server/server.js";
import { describeDefault, isRepeatable, isSwitch, loadSettings, SETTINGS, settingValueName, type SettingFlags } from "../../settings.js";
import { action, repeatable, type CommonOptions } from "../output.js";

export function registerServe(program: Command): void {
  const cmd = program
    .command("serve")
    .summary("Serve an artifact's model over OMI gRPC, Open Inference Protocol v2, KServe v1 and Odahu REST")
    .description(
      "Serve an artifact's model from one process over the chosen protocols — OMI gRPC (Chassis ModzyModel), " +
        "Open Inference Protocol v2 REST and gRPC, KServe v1 REST, Odahu REST — until SIGTERM/SIGINT or an OMI Shutdown call. " +
        "HTTP protocols share one port (--http-port; Odahu uses --odahu-port, shared when equal), which also serves " +
        "/healthz, /readyz and Prometheus /metrics. The model loads at start (--lazy: on the first request). " +
        "Each setting is a flag or an environment variable; flags win.",
    )
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder")
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

async function serve(source: string, opts: CommonOptions & SettingFlags): Promise<number> {
  const flags: SettingFlags = {};
  for (const d of SETTINGS) if (opts[d.key] !== undefined) flags[d.key] = opts[d.key];
  const settings = loadSettings({ flags });

  // The serving stack (gRPC, fastify, pino, runtimes) is loaded only by this command.
  const { serveArtifact } = await import("../../server/serve.js");
  const { handleStopSignals, stopOnFatalErrors } = await import("../../server/signals.js");
  const { formatHostPort } = await import("../../server/listener.js");
  const { dataplane, server, loadError, log, flushLog } = await serveArtifact(source, settings);
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
  if (loadError) {
    process.stderr.write(`omaf: model failed to load: ${loadError.code}: ${loadError.message} (Status answers 500 and retries the load)\n`);
  }
  // No "serving" line when a signal arrived during the start: that server is already going away.
  if (dataplane.state !== "draining" && dataplane.state !== "closed") announce(dataplane, server, Boolean(opts.json), formatHostPort);

  const result = await server.stopped;
  unwire();
  unwireFatal();
  if (result.forced) process.stderr.write(`omaf: stopped (${result.reason}); in-flight requests were cut after ${result.durationMs} ms\n`);
  else process.stderr.write(`omaf: stopped (${result.reason})\n`);
  await flushLog();
  // Model runtimes may keep threads or handles open; the stop is complete, so leave now.
  process.exit(fatal ? 1 : 0);
}

/** The one line that says the server is up: human text on stderr, or JSON on stdout with --json. */
function announce(dataplane: DataPlane, server: RunningServer, json: boolean, formatHostPort: (host: string, port: number) => string): void {
  const { modelName, modelVersion, artifactDigest, signedBy } = dataplane.provenance;
  const listeners = server.listeners.map((l) => ({ interface: l.interfaceName, interfaces: l.interfaces, label: l.label, host: l.host, port: l.port }));
  if (json) {
    const line = {
      event: "listening",
      model: modelName,
      version: modelVersion,
      artifactDigest,
      ...(signedBy ? { signedBy } : {}),
      state: dataplane.state,
      listeners,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } else {
    const on = listeners.map((l) => `${l.label} on ${formatHostPort(l.host, l.port)}`).join(", ");
    process.stderr.write(`omaf: serving ${modelName} ${modelVersion} (${artifactDigest}${signedBy ? `, signed by ${signedBy}` : ""}) — ${on}\n`);
  }
}
