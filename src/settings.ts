// One typed settings object for `omaf serve`: defaults ← OMAF_* environment variables ← command-line flags,
// validated once at start. Every setting is one row of SETTINGS, so `omaf serve --help`, the docs and the parser
// all come from the same table. A new setting (e.g. another protocol's port) is one more row plus one Settings field.
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { OmafError } from "./errors.js";

/** Protocols `omaf serve` can expose. */
export const INTERFACES = ["omi", "oip-rest", "oip-grpc", "kserve-v1", "odahu"] as const;
export type InterfaceName = (typeof INTERFACES)[number];

export interface Settings {
  /** Protocols to serve. */
  interfaces: InterfaceName[];
  /** Address every listener binds to. */
  host: string;
  /** OMI gRPC port (0 picks a free port). */
  omiPort: number;
  /** Shared HTTP port: OIP v2 REST, KServe v1, /metrics, /healthz, /readyz (0 picks a free port). */
  httpPort: number;
  /** OIP v2 gRPC port (0 picks a free port). */
  oipGrpcPort: number;
  /** Odahu REST port; the same number as httpPort puts the Odahu routes on the shared HTTP listener. */
  odahuPort: number;
  /** Port of the health listener answered from its own thread; undefined = none. */
  healthPort?: number;
  /** Largest HTTP request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Serve Prometheus metrics at /metrics on every HTTP listener. */
  metrics: boolean;
  /** Model name the Odahu routes report (Model-Name header, Swagger info); empty = the manifest's. */
  odahuModelName: string;
  /** Name the model is served under on every protocol; empty = the manifest's model.name. */
  modelName: string;
  /** Model version the Odahu routes report (Model-Version header, Swagger info); empty = the manifest's. */
  odahuModelVersion: string;
  /** The model OMI serves, `name[:version]`; empty = the only one. */
  omiModel: string;
  /** The model the Odahu routes serve, `name[:version]`; empty = the only one. */
  odahuModel: string;
  /** Largest gRPC message accepted or sent, in bytes. */
  maxMessageBytes: number;
  /** How often gRPC listeners ping an idle connection; a peer that stays silent longer is dropped. */
  grpcKeepaliveMs: number;
  /** A gRPC connection that carried no call for this long is closed (clients reconnect on their next call). */
  grpcIdleTimeoutMs: number;
  /** Longest a single prediction may take before it answers OMAF_ERR_TIMEOUT. */
  requestTimeoutMs: number;
  /** Most requests handled at once; more answer OMAF_ERR_UNAVAILABLE. 0 = no limit. */
  maxInFlight: number;
  /** Most rows merged into one model call by adaptive batching (0 or 1 = off); undefined = the manifest's, else off. */
  maxBatchSize?: number;
  /** Longest the first request of a batch waits for others, in ms; undefined = the manifest's, else 5. */
  maxBatchTime?: number;
  /** Matrix-mode entrypoints answer rows independently, so their requests may be merged; undefined = the manifest's. */
  batchRows?: boolean;
  /** How long a stop (signal or Shutdown call) waits for in-flight requests before cutting them. */
  drainTimeoutMs: number;
  /** Load the model on the first Status/Run instead of at start. */
  lazy: boolean;
  /** A folder whose archives and model folders are served, one model each; empty = none. */
  modelRepository: string;
  /** Poll the model repository this often (ms) for new, removed and changed entries; 0 = never. */
  modelRepositoryWatch: number;
  /** Write one JSON line per prediction. */
  inferenceLog: boolean;
  /** File the inference log goes to; empty = stdout. */
  inferenceLogFile: string;
  /** Include request inputs and outputs in the inference log. */
  logPayloads: boolean;
  /** OTLP/HTTP collector endpoint that every inference request's trace spans are exported to; empty = no tracing. */
  otlpEndpoint: string;
  /** `service.name` of the exported spans. */
  otlpServiceName: string;
  /** Where unpacked artifacts are cached. */
  cacheDir: string;
  /** How a cached unpacked copy is checked before reuse: every file hashed (`full`), or stat seals (`sealed`). */
  cacheCheck: "full" | "sealed";
  /** Refuse to serve an artifact that carries no signature by one of the `trustedKey` keys. */
  requireSignature: boolean;
  /** Public keys (SPKI PEM files) whose signatures are trusted; a signature present must verify with one of them. */
  trustedKey: string[];
  /** Author reported when the manifest has no model.author. */
  modelAuthor: string;
  /** Worker threads a node model runs in; 0 = one per CPU. */
  nodeWorkers: number;
  /** Run a node model in the server's own thread instead of worker threads. */
  nodeInProcess: boolean;
  /**
   * The Python a python model runs with: `auto` (the environment `omaf env create` made, if any, else current),
   * `create` (make it when missing), `current` (OMAF_PYTHON, else python3), or an interpreter or venv path.
   */
  env: string;
  /**
   * The conda tool `--env create` builds a conda file's environment with: `auto` (micromamba, mamba or conda on
   * PATH, in that order), `none` (venv and pip), or an executable.
   */
  conda: string;
  /** The java launcher (JDK 17+) a java (GJPI) model runs with. */
  java: string;
  /** JVM worker processes a java model runs in; 0 = one per CPU. */
  javaWorkers: number;
  /** Extra JVM options for the java workers, split at white space. */
  javaOpts: string;
}
export type SettingKey = keyof Settings;

/** How a setting's raw text becomes its value; `parse` throws a string describing what was expected. */
interface SettingKind<T> {
  /** Placeholder shown in --help, e.g. `<port>`; undefined for on/off switches. */
  valueName?: string;
  parse(raw: string): T;
  /** The value of a flag given several times (each occurrence taken whole); such a flag may be repeated. */
  parseRepeated?(raws: string[]): T;
}

/** One row of the settings table. */
export interface SettingDef<K extends SettingKey = SettingKey> {
  key: K;
  /** Long flag name without dashes; booleans also get `--no-<flag>`. */
  flag: string;
  /** Environment variables, first one set wins. */
  env: readonly string[];
  default: Settings[K] | (() => Settings[K]);
  /** The default as help shows it, when its value reads badly (a home path, a byte count). */
  defaultText?: string;
  description: string;
  kind: SettingKind<Settings[K]>;
}

const integer = (min: number, max = Number.MAX_SAFE_INTEGER, valueName = "<n>"): SettingKind<number> => ({
  valueName,
  parse(raw) {
    const text = raw.trim();
    if (!/^\d+$/.test(text)) throw `expected a whole number from ${min} to ${max}`;
    const n = Number(text);
    if (n < min || n > max) throw `expected a whole number from ${min} to ${max}`;
    return n;
  },
});

const port: SettingKind<number> = {
  valueName: "<port>",
  parse(raw) {
    const t = raw.trim();
    if (!/^\d+$/.test(t) || Number(t) > 65535) throw "expected a port number from 0 to 65535 (0 picks a free port)";
    return Number(t);
  },
};

const UNITS: Record<string, number> = { "": 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };
const bytes: SettingKind<number> = {
  valueName: "<bytes>",
  parse(raw) {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim());
    const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
    // 2 GiB - 1 is the largest message grpc-js can take.
    const n = m && unit ? Number(m[1]) * unit : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 31 - 1)
      throw "expected a size in bytes from 1 to 2147483647, optionally with a unit (KiB, MiB, GiB, KB, MB, GB)";
    return n;
  },
};

const boolean: SettingKind<boolean> = {
  parse(raw) {
    const t = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(t)) return true;
    if (["0", "false", "no", "off"].includes(t)) return false;
    throw "expected true/false (also 1/0, yes/no, on/off)";
  },
};

const text = (valueName: string, allowEmpty = true): SettingKind<string> => ({
  valueName,
  parse(raw) {
    if (!allowEmpty && raw.trim() === "") throw "expected a non-empty value";
    return raw;
  },
});

/** Text that goes into an HTTP header: visible ASCII and spaces only. */
const headerText = (valueName: string): SettingKind<string> => ({
  valueName,
  parse(raw) {
    if (!/^[\x20-\x7e]*$/.test(raw)) throw "expected printable ASCII text (it is sent in an HTTP header)";
    return raw.trim();
  },
});

/** A model name as it appears in request paths (`/v2/models/<name>`): letters, digits, dots, dashes, underscores. */
const modelName: SettingKind<string> = {
  valueName: "<name>",
  parse(raw) {
    const t = raw.trim();
    if (t !== "" && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(t))
      throw "expected a name of letters, digits, dots, dashes and underscores, starting with a letter or digit (at most 253 characters)";
    return t;
  },
};

/** An http:// or https:// URL, or empty. */
const httpUrl: SettingKind<string> = {
  valueName: "<url>",
  parse(raw) {
    const t = raw.trim();
    if (t === "") return t;
    let url: URL | undefined;
    try {
      url = new URL(t);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw "expected an http:// or https:// URL, e.g. http://127.0.0.1:4318";
    return t;
  },
};

/** One of a fixed set of words. */
const choice = <T extends string>(values: readonly T[]): SettingKind<T> => ({
  valueName: `<${values.join("|")}>`,
  parse(raw) {
    const t = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(t)) throw `expected one of: ${values.join(", ")}`;
    return t as T;
  },
});

const path: SettingKind<string> = {
  valueName: "<path>",
  parse(raw) {
    if (raw.trim() === "") throw "expected a path";
    return raw.startsWith("~/") || raw === "~" ? join(homedir(), raw.slice(1)) : raw;
  },
};

/**
 * Several paths: a repeated flag gives one each time; an environment variable separates them with commas or the
 * platform's path delimiter (`:`, on Windows `;`).
 */
const pathList = (valueName: string): SettingKind<string[]> => {
  const paths = (raws: string[]) => raws.map((p) => path.parse(p.trim()));
  return {
    valueName,
    parse: (raw) => paths(raw.split(new RegExp(`[,${delimiter}]`)).filter((p) => p.trim() !== "")),
    parseRepeated: paths,
  };
};

/** `auto`, `create`, `current`, or a path to an interpreter, a venv folder or a conda prefix. */
const pythonEnv: SettingKind<string> = {
  valueName: "<auto|create|current|path>",
  parse(raw) {
    const t = raw.trim();
    if (t === "") throw "expected auto, create, current, or the path of a Python interpreter or environment folder";
    if (["auto", "create", "current"].includes(t.toLowerCase())) return t.toLowerCase();
    return path.parse(t);
  },
};

/** `auto`, `none`, or the micromamba, mamba or conda executable to run. */
const condaTool: SettingKind<string> = {
  valueName: "<auto|none|path>",
  parse(raw) {
    const t = raw.trim();
    if (t === "") throw "expected auto, none, or a micromamba, mamba or conda executable";
    if (["auto", "none"].includes(t.toLowerCase())) return t.toLowerCase();
    return path.parse(t);
  },
};

/**
 * Other names for interfaces, as Chassis' INTERFACE and other servers spell them. An alias may stand for several
 * interfaces (`oip` = both OIP v2 transports).
 */
export const INTERFACE_ALIASES: Readonly<Record<string, readonly InterfaceName[]>> = {
  modzy: ["omi"],
  kserve: ["kserve-v1"],
  v1: ["kserve-v1"],
  oip: ["oip-rest", "oip-grpc"],
  v2: ["oip-rest", "oip-grpc"],
  "kserve-v2": ["oip-rest", "oip-grpc"],
  "odahu-rest": ["odahu"],
};
const interfaceList: SettingKind<InterfaceName[]> = {
  valueName: "<list>",
  parse(raw) {
    const names = raw
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    if (names.length === 0) throw `expected a comma-separated list of: ${INTERFACES.join(", ")}`;
    const out: InterfaceName[] = [];
    for (const name of names) {
      const direct = (INTERFACES as readonly string[]).includes(name) ? [name as InterfaceName] : undefined;
      const known = direct ?? INTERFACE_ALIASES[name];
      if (!known) throw `unknown interface "${name}"; expected a comma-separated list of: ${INTERFACES.join(", ")}`;
      for (const k of known) if (!out.includes(k)) out.push(k);
    }
    return out;
  },
};

/** How often a model repository is polled when the watch is asked for without an interval. */
const DEFAULT_REPOSITORY_WATCH_MS = 5000;

/** A polling interval: milliseconds (0 = off, else at least 100), or true/on/yes for the default interval. */
const watchInterval: SettingKind<number> = {
  valueName: "[<ms>]",
  parse(raw) {
    const t = raw.trim().toLowerCase();
    if (["true", "yes", "on"].includes(t)) return DEFAULT_REPOSITORY_WATCH_MS;
    if (["false", "no", "off"].includes(t)) return 0;
    const expected = `expected milliseconds (0 = off, else 100 to 86400000), or true for every ${DEFAULT_REPOSITORY_WATCH_MS} ms`;
    if (!/^\d+$/.test(t)) throw expected;
    const n = Number(t);
    if (n !== 0 && (n < 100 || n > 86_400_000)) throw expected;
    return n;
  },
};

/** A model as `name` or `name:version` (empty = the only one). */
const modelChoice: SettingKind<string> = {
  valueName: "<name[:version]>",
  parse(raw) {
    const t = raw.trim();
    if (t !== "" && !/^[A-Za-z0-9-]+(:[^\s:]+)?$/.test(t)) throw "expected a model name, optionally followed by :<version>";
    return t;
  },
};

const def = <K extends SettingKey>(d: SettingDef<K>): SettingDef<K> => d;

/** Every setting: name, flag, environment variables, default and description. */
export const SETTINGS: readonly SettingDef[] = [
  def({
    key: "interfaces",
    flag: "interfaces",
    env: ["OMAF_INTERFACES", "INTERFACE"],
    default: () => ["omi", "oip-rest", "oip-grpc"],
    defaultText: "omi,oip-rest,oip-grpc",
    kind: interfaceList,
    description: `Protocols to serve, comma-separated (${INTERFACES.join(", ")}; also "modzy" = omi, "kserve" = kserve-v1, "oip" = oip-rest,oip-grpc).`,
  }),
  def({
    key: "host",
    flag: "host",
    env: ["OMAF_HOST"],
    default: "0.0.0.0",
    kind: text("<address>", false),
    description: "Address to listen on. The default 0.0.0.0 suits containers; use 127.0.0.1 to stay local.",
  }),
  def({
    key: "omiPort",
    flag: "omi-port",
    env: ["OMAF_OMI_PORT", "PSC_MODEL_PORT"],
    default: 45000,
    kind: port,
    description: "OMI gRPC (Chassis ModzyModel) port; 0 picks a free port.",
  }),
  def({
    key: "httpPort",
    flag: "http-port",
    env: ["OMAF_HTTP_PORT", "HTTP_PORT"],
    default: 8080,
    kind: port,
    description: "Shared HTTP port: OIP v2 REST, KServe v1, /metrics, /healthz, /readyz; 0 picks a free port.",
  }),
  def({
    key: "oipGrpcPort",
    flag: "oip-grpc-port",
    env: ["OMAF_OIP_GRPC_PORT"],
    default: 8081,
    kind: port,
    description: "OIP v2 gRPC (inference.GRPCInferenceService) port; 0 picks a free port.",
  }),
  def({
    key: "odahuPort",
    flag: "odahu-port",
    env: ["OMAF_ODAHU_PORT"],
    default: 5000,
    kind: port,
    description: "Odahu REST port; set it to the HTTP port to serve the Odahu routes on the shared HTTP listener.",
  }),
  def({
    key: "healthPort",
    flag: "health-port",
    env: ["OMAF_HEALTH_PORT"],
    default: undefined,
    defaultText: "none",
    kind: port,
    description:
      "Also answer /healthz and /readyz on this port, from their own thread, so probes are answered while a large request holds the main thread; point Kubernetes probes here. 0 picks a free port.",
  }),
  def({
    key: "maxBodyBytes",
    flag: "max-body-bytes",
    env: ["OMAF_MAX_BODY_BYTES"],
    default: 64 * 1024 ** 2,
    defaultText: "64MiB",
    kind: bytes,
    description: "Largest HTTP request body; a larger one answers 413 OMAF_ERR_PAYLOAD_TOO_LARGE.",
  }),
  def({
    key: "metrics",
    flag: "metrics",
    env: ["OMAF_METRICS"],
    default: true,
    kind: boolean,
    description: "Serve Prometheus metrics at /metrics on every HTTP listener.",
  }),
  def({
    key: "modelName",
    flag: "model-name",
    env: ["OMAF_MODEL_NAME", "MODEL_NAME"],
    default: "",
    kind: modelName,
    description:
      "Serve the model under this name on every protocol (request paths, metadata, provenance, inference log) instead of the manifest's model.name; KServe's ServingRuntime passes the InferenceService name. Empty means the manifest's.",
  }),
  def({
    key: "odahuModelName",
    flag: "odahu-model-name",
    env: ["OMAF_ODAHU_MODEL_NAME", "ODAHU_MODEL_NAME"],
    default: "",
    kind: headerText("<name>"),
    description: "Model name the Odahu REST routes report (Model-Name header, /api/model/info); empty means the manifest's.",
  }),
  def({
    key: "odahuModelVersion",
    flag: "odahu-model-version",
    env: ["OMAF_ODAHU_MODEL_VERSION", "ODAHU_MODEL_VERSION"],
    default: "",
    kind: headerText("<version>"),
    description: "Model version the Odahu REST routes report (Model-Version header, /api/model/info); empty means the manifest's.",
  }),
  def({
    key: "omiModel",
    flag: "omi-model",
    env: ["OMAF_OMI_MODEL"],
    default: "",
    kind: modelChoice,
    description:
      "The model OMI serves (OMI names no model), as name or name:version (no version: the highest served); empty means the only model, and serving several without it fails at start.",
  }),
  def({
    key: "odahuModel",
    flag: "odahu-model",
    env: ["OMAF_ODAHU_MODEL"],
    default: "",
    kind: modelChoice,
    description:
      "The model the Odahu REST routes serve (Odahu names no model), as name or name:version (no version: the highest served); empty means the only model, and serving several without it fails at start.",
  }),
  def({
    key: "maxMessageBytes",
    flag: "max-message-bytes",
    env: ["OMAF_MAX_MESSAGE_BYTES"],
    default: 64 * 1024 ** 2,
    defaultText: "64MiB",
    kind: bytes,
    description: "Largest gRPC message received or sent (e.g. 64MiB).",
  }),
  def({
    key: "grpcKeepaliveMs",
    flag: "grpc-keepalive-ms",
    env: ["OMAF_GRPC_KEEPALIVE_MS"],
    default: 30_000,
    kind: integer(1000, 2 ** 31 - 1, "<ms>"),
    description:
      "gRPC listeners ping idle connections this often; a connection silent for longer than this plus 10 s (no HTTP/2 preface, no ping answer) is closed.",
  }),
  def({
    key: "grpcIdleTimeoutMs",
    flag: "grpc-idle-timeout-ms",
    env: ["OMAF_GRPC_IDLE_TIMEOUT_MS"],
    default: 300_000,
    kind: integer(1000, 2 ** 31 - 1, "<ms>"),
    description: "A gRPC connection that carried no call for this long is closed with GOAWAY; clients reconnect on their next call.",
  }),
  def({
    key: "requestTimeoutMs",
    flag: "request-timeout-ms",
    env: ["OMAF_REQUEST_TIMEOUT_MS"],
    default: 30_000,
    kind: integer(1, 2 ** 31 - 1, "<ms>"),
    description: "A prediction running longer answers OMAF_ERR_TIMEOUT (the server stays up).",
  }),
  def({
    key: "maxInFlight",
    flag: "max-in-flight",
    env: ["OMAF_MAX_IN_FLIGHT"],
    default: 512,
    kind: integer(0),
    description: "Most requests handled at once; more answer OMAF_ERR_UNAVAILABLE. 0 = no limit.",
  }),
  def({
    key: "drainTimeoutMs",
    flag: "drain-timeout-ms",
    env: ["OMAF_DRAIN_TIMEOUT_MS"],
    default: 30_000,
    kind: integer(0, 2 ** 31 - 1, "<ms>"),
    description: "On SIGTERM/SIGINT or Shutdown, how long to let in-flight requests finish before cutting them.",
  }),
  def({
    key: "lazy",
    flag: "lazy",
    env: ["OMAF_LAZY"],
    default: false,
    kind: boolean,
    description: "Load the model on the first request (OMI Status/Run as Chassis does, an inference, or a readiness probe) instead of at start.",
  }),
  def({
    key: "modelRepository",
    flag: "model-repository",
    env: ["OMAF_MODEL_REPOSITORY"],
    default: "",
    defaultText: "none",
    kind: path,
    description:
      "Also serve every archive (.zip, .tar.gz, .tgz) and model folder directly in this folder, one model each; one that cannot be read or loaded is reported in the repository index and does not stop the server. POST /v2/repository/models/<name>/load finds new ones.",
  }),
  def({
    key: "modelRepositoryWatch",
    flag: "model-repository-watch",
    env: ["OMAF_MODEL_REPOSITORY_WATCH"],
    default: 0,
    defaultText: "off",
    kind: watchInterval,
    description: `Poll the model repository for new (loaded), removed (unloaded) and changed (reloaded) entries, every <ms> (given alone: every ${DEFAULT_REPOSITORY_WATCH_MS} ms; 0 = off).`,
  }),
  def({
    key: "inferenceLog",
    flag: "inference-log",
    env: ["OMAF_INFERENCE_LOG"],
    default: true,
    kind: boolean,
    description: "Write one JSON line per prediction (time, request id, protocol, model, digest, latency, status).",
  }),
  def({
    key: "inferenceLogFile",
    flag: "inference-log-file",
    env: ["OMAF_INFERENCE_LOG_FILE"],
    default: "",
    kind: text("<path>"),
    description: "File the inference log is appended to; empty means stdout.",
  }),
  def({
    key: "logPayloads",
    flag: "log-payloads",
    env: ["OMAF_LOG_PAYLOADS"],
    default: false,
    kind: boolean,
    description: "Also log each request's input and output (may contain sensitive data).",
  }),
  def({
    key: "otlpEndpoint",
    flag: "otlp-endpoint",
    env: ["OMAF_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"],
    default: "",
    defaultText: "none (no tracing)",
    kind: httpUrl,
    description:
      "Trace every inference request with OpenTelemetry and export the spans over OTLP/HTTP (JSON) to this collector endpoint, e.g. http://127.0.0.1:4318: spans go to <url>/v1/traces (a URL ending in /v1/traces is used as it is). A W3C traceparent header or gRPC metadata makes each request span a child of the caller's. Empty: no tracing, and nothing of OpenTelemetry is loaded. See spec/tracing.md.",
  }),
  def({
    key: "otlpServiceName",
    flag: "otlp-service-name",
    env: ["OMAF_OTLP_SERVICE_NAME", "OTEL_SERVICE_NAME"],
    default: "omaf",
    kind: text("<name>", false),
    description: "The service.name of the exported spans (with --otlp-endpoint).",
  }),
  def({
    key: "cacheDir",
    flag: "cache-dir",
    env: ["OMAF_CACHE_DIR"],
    default: () => join(homedir(), ".cache", "omaf"),
    defaultText: "~/.cache/omaf",
    kind: path,
    description: "Where zip artifacts are unpacked (keyed by digest, reused on restart).",
  }),
  def({
    key: "cacheCheck",
    flag: "cache-check",
    env: ["OMAF_CACHE_CHECK"],
    default: "full",
    kind: choice(["full", "sealed"] as const),
    description:
      "How a cached unpacked copy is checked before it is served again: full = every file's SHA-256 against the artifact's provenance (a changed byte is never served); sealed = size, times and inode recorded at unpack (about 10x faster, trusts the cache's own record). A mismatch unpacks again with a warning.",
  }),
  def({
    key: "requireSignature",
    flag: "require-signature",
    env: ["OMAF_REQUIRE_SIGNATURE"],
    default: false,
    kind: boolean,
    description:
      "Refuse to start unless the artifact carries a signature by a --trusted-key over the content being served (OMAF_ERR_SIGNATURE_MISSING, _INVALID, _UNTRUSTED); see spec/signing.md.",
  }),
  def({
    key: "trustedKey",
    flag: "trusted-key",
    env: ["OMAF_TRUSTED_KEYS"],
    default: () => [],
    defaultText: "none",
    kind: pathList("<pem>"),
    description:
      "Public key (SPKI PEM, as omaf keygen writes) whose signatures are trusted; repeat the flag for several, or list paths in the variable separated by commas or the path delimiter (: on Linux and macOS, ; on Windows). A signature the artifact carries must then verify with one of them, required or not; the key id that verified joins the provenance of every response.",
  }),
  def({
    key: "modelAuthor",
    flag: "model-author",
    env: ["OMAF_MODEL_AUTHOR"],
    default: "",
    kind: text("<name>"),
    description: "Author reported in metadata when the manifest has no model.author.",
  }),
  def({
    key: "maxBatchSize",
    flag: "max-batch-size",
    env: ["OMAF_MAX_BATCH_SIZE"],
    default: undefined,
    defaultText: "the manifest's serving.max_batch_size, else 0",
    kind: integer(0, 1_000_000),
    description:
      "Adaptive batching: requests that arrive together are merged into one model call of at most this many rows (ONNX models with a variable first dimension; matrix entrypoints with --batch-rows). 0 or 1 = off.",
  }),
  def({
    key: "maxBatchTime",
    flag: "max-batch-time",
    env: ["OMAF_MAX_BATCH_TIME"],
    default: undefined,
    defaultText: "the manifest's serving.max_batch_time_ms, else 5",
    kind: integer(0, 60_000, "<ms>"),
    description: "How long the first request of a batch may wait for requests still on their way to the model; a lone request never waits.",
  }),
  def({
    key: "batchRows",
    flag: "batch-rows",
    env: ["OMAF_BATCH_ROWS"],
    default: undefined,
    defaultText: "the manifest's serving.batch_rows, else off",
    kind: boolean,
    description:
      "A matrix- or tensors-mode (python, node) entrypoint answers each row independently, so batching may merge requests into one predict_on_matrix / predict_on_tensors call.",
  }),
  def({
    key: "nodeWorkers",
    flag: "node-workers",
    env: ["OMAF_NODE_WORKERS"],
    default: 0,
    kind: integer(0, 1024),
    description: "Worker threads a node model runs in, 0 = one per CPU; a request stuck past the request timeout has its thread replaced.",
  }),
  def({
    key: "nodeInProcess",
    flag: "node-in-process",
    env: ["OMAF_NODE_IN_PROCESS"],
    default: false,
    kind: boolean,
    description: "Run a node model in the server's own thread: cheaper calls, but a model stuck in a loop then stops the whole server.",
  }),
  def({
    key: "env",
    flag: "env",
    env: ["OMAF_ENV"],
    default: "auto",
    kind: pythonEnv,
    description:
      "Python environment of a python model: auto = the newest environment `omaf env create` made from the artifact's environment file (any interpreter, venv or conda) when there is one, else current (serving never installs anything unasked); create = make the environment first when missing; current = OMAF_PYTHON, else python3; or the path of an interpreter, venv or conda prefix. An OMAF_PYTHON set wins over auto.",
  }),
  def({
    key: "conda",
    flag: "conda",
    env: ["OMAF_CONDA"],
    default: "auto",
    kind: condaTool,
    description:
      "The tool --env create builds a conda file's environment with: auto = micromamba, else mamba, else conda, the first on PATH (none there: venv and pip); none = always venv and pip; or the executable to run.",
  }),
  def({
    key: "java",
    flag: "java",
    env: ["OMAF_JAVA"],
    default: "java",
    kind: text("<path>", false),
    description: "The java launcher (JDK 17 or later) a java (GJPI) model runs with; it also compiles omaf's worker once into the cache folder.",
  }),
  def({
    key: "javaWorkers",
    flag: "java-workers",
    env: ["OMAF_JAVA_WORKERS"],
    default: 0,
    kind: integer(0, 1024),
    description: "JVM worker processes a java model runs in, 0 = one per CPU; a JVM that crashes or hangs past the request timeout is replaced.",
  }),
  def({
    key: "javaOpts",
    flag: "java-opts",
    env: ["OMAF_JAVA_OPTS"],
    default: "",
    kind: text("<options>"),
    description: 'Extra JVM options for the java workers, split at white space (e.g. "-Xmx512m -XX:+UseParallelGC"); they come after omaf\'s own and win.',
  }),
];

/** Raw values as given on the command line, keyed by setting key (commander's option names). */
export type SettingFlags = Partial<Record<SettingKey, unknown>>;

export interface LoadSettingsOptions {
  /** Environment to read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Flag values; strings are parsed like environment values, booleans/numbers are checked. */
  flags?: SettingFlags;
}

/** Builds and validates the settings; throws OMAF_ERR_SETTINGS naming the setting, the source and what was expected. */
export function loadSettings(opts: LoadSettingsOptions = {}): Settings {
  const env = opts.env ?? process.env;
  const flags = opts.flags ?? {};
  const out: Record<string, unknown> = {};
  for (const d of SETTINGS) {
    const flagValue = flags[d.key];
    if (flagValue !== undefined) {
      out[d.key] = parseValue(d, flagValue, `flag --${d.flag}`);
      continue;
    }
    const envName = d.env.find((name) => env[name] !== undefined && env[name] !== "");
    if (envName !== undefined) {
      out[d.key] = parseValue(d, env[envName] as string, `environment variable ${envName}`);
      continue;
    }
    out[d.key] = typeof d.default === "function" ? (d.default as () => unknown)() : d.default;
  }
  return out as unknown as Settings;
}

function parseValue(d: SettingDef, value: unknown, source: string): unknown {
  if (Array.isArray(value) && d.kind.parseRepeated) {
    try {
      return d.kind.parseRepeated(value.map(String));
    } catch (err) {
      throw settingsError(d, source, value, typeof err === "string" ? err : String(err));
    }
  }
  let raw: string;
  if (typeof value === "string") raw = value;
  else if (typeof value === "number" || typeof value === "boolean") raw = String(value);
  else if (Array.isArray(value)) raw = value.join(",");
  else throw settingsError(d, source, value, "expected a string");
  try {
    return d.kind.parse(raw);
  } catch (err) {
    throw settingsError(d, source, value, typeof err === "string" ? err : String(err));
  }
}

function settingsError(d: SettingDef, source: string, value: unknown, expected: string): OmafError {
  return new OmafError("OMAF_ERR_SETTINGS", `bad value ${JSON.stringify(value)} for ${d.key} (${source}): ${expected}`, {
    setting: d.key,
    source,
    value,
  });
}

/** The `<value>` placeholder of a setting's flag, or undefined for on/off switches. */
export function settingValueName(d: SettingDef): string | undefined {
  return d.kind.valueName;
}

/** True for settings whose flag may be given several times. */
export function isRepeatable(d: SettingDef): boolean {
  return d.kind.parseRepeated !== undefined;
}

/** True for on/off settings (they get `--flag` and `--no-flag`). */
export function isSwitch(d: SettingDef): boolean {
  return d.kind === (boolean as SettingKind<unknown>);
}

/** The default of a setting as text, for help output. */
export function describeDefault(d: SettingDef): string {
  if (d.defaultText !== undefined) return d.defaultText;
  const v = typeof d.default === "function" ? (d.default as () => unknown)() : d.default;
  if (Array.isArray(v)) return v.join(",");
  if (v === "") return '""';
  return String(v);
}
