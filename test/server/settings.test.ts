import assert from "node:assert/strict";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isOmafError } from "../../src/errors.js";
import { loadSettings, SETTINGS, type Settings } from "../../src/settings.js";

const settingsError = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(isOmafError(e, "OMAF_ERR_SETTINGS"), String(e));
    assert.match(e.message, pattern);
    return true;
  });

describe("settings", () => {
  it("has documented defaults", () => {
    const s = loadSettings({ env: {} });
    const expected: Settings = {
      interfaces: ["omi", "oip-rest", "oip-grpc"],
      host: "0.0.0.0",
      omiPort: 45000,
      httpPort: 8080,
      oipGrpcPort: 8081,
      odahuPort: 5000,
      healthPort: undefined,
      maxBodyBytes: 64 * 1024 * 1024,
      metrics: true,
      modelName: "",
      odahuModelName: "",
      odahuModelVersion: "",
      omiModel: "",
      odahuModel: "",
      maxMessageBytes: 64 * 1024 * 1024,
      grpcKeepaliveMs: 30_000,
      grpcIdleTimeoutMs: 300_000,
      requestTimeoutMs: 30000,
      maxInFlight: 512,
      maxBatchSize: undefined,
      maxBatchTime: undefined,
      batchRows: undefined,
      drainTimeoutMs: 30000,
      lazy: false,
      modelRepository: "",
      modelRepositoryWatch: 0,
      inferenceLog: true,
      inferenceLogFile: "",
      logPayloads: false,
      otlpEndpoint: "",
      otlpServiceName: "omaf",
      cacheDir: join(homedir(), ".cache", "omaf"),
      cacheCheck: "full",
      requireSignature: false,
      trustedKey: [],
      modelAuthor: "",
      nodeWorkers: 0,
      nodeInProcess: false,
      env: "auto",
      conda: "auto",
      java: "java",
      javaWorkers: 0,
      javaOpts: "",
    };
    assert.deepEqual(s, expected);
  });

  it("env is auto, create, current or a path (~ expanded), from --env or OMAF_ENV", () => {
    assert.equal(loadSettings({ env: { OMAF_ENV: "Create" } }).env, "create");
    assert.equal(loadSettings({ env: { OMAF_ENV: "current" }, flags: { env: "auto" } }).env, "auto");
    assert.equal(loadSettings({ env: {}, flags: { env: "/opt/venv" } }).env, "/opt/venv");
    assert.equal(loadSettings({ env: { OMAF_ENV: "~/venv" } }).env, join(homedir(), "venv"));
    settingsError(() => loadSettings({ env: {}, flags: { env: " " } }), /env .*expected auto, create, current/);
  });

  it("trusted keys: the flag repeated (each path whole), or OMAF_TRUSTED_KEYS separated by commas or the path delimiter", () => {
    assert.deepEqual(loadSettings({ env: {}, flags: { trustedKey: ["a.pub", "b,c.pub"] } }).trustedKey, ["a.pub", "b,c.pub"]);
    assert.deepEqual(loadSettings({ env: { OMAF_TRUSTED_KEYS: `a.pub,b.pub${delimiter}~/c.pub` } }).trustedKey, ["a.pub", "b.pub", join(homedir(), "c.pub")]);
    assert.deepEqual(loadSettings({ env: { OMAF_TRUSTED_KEYS: "x.pub" }, flags: { trustedKey: ["y.pub"] } }).trustedKey, ["y.pub"]);
    assert.equal(loadSettings({ env: { OMAF_REQUIRE_SIGNATURE: "yes" } }).requireSignature, true);
    settingsError(() => loadSettings({ env: {}, flags: { trustedKey: [" "] } }), /trustedKey .*expected a path/);
  });

  it("conda is auto, none or an executable (~ expanded), from --conda or OMAF_CONDA", () => {
    assert.equal(loadSettings({ env: { OMAF_CONDA: "None" } }).conda, "none");
    assert.equal(loadSettings({ env: { OMAF_CONDA: "none" }, flags: { conda: "micromamba" } }).conda, "micromamba");
    assert.equal(loadSettings({ env: { OMAF_CONDA: "~/bin/mamba" } }).conda, join(homedir(), "bin/mamba"));
    settingsError(() => loadSettings({ env: {}, flags: { conda: " " } }), /conda .*expected auto, none, or a micromamba, mamba or conda executable/);
  });

  it("every setting has a flag, an OMAF_ environment variable and a description", () => {
    const keys = SETTINGS.map((d) => d.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual([...keys].sort(), Object.keys(loadSettings({ env: {} })).sort());
    for (const d of SETTINGS) {
      assert.match(d.flag, /^[a-z][a-z-]+$/);
      assert.ok(d.env[0].startsWith("OMAF_"), d.key);
      assert.ok(d.description.length > 10, d.key);
      // The flag's camelCase form is the key, so commander's option names line up with the settings.
      assert.equal(
        d.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
        d.key,
      );
    }
  });

  it("environment beats defaults, flags beat environment; OMAF_OMI_PORT beats PSC_MODEL_PORT", () => {
    assert.equal(loadSettings({ env: { PSC_MODEL_PORT: "46000" } }).omiPort, 46000);
    assert.equal(loadSettings({ env: { PSC_MODEL_PORT: "46000", OMAF_OMI_PORT: "47000" } }).omiPort, 47000);
    assert.equal(loadSettings({ env: { OMAF_OMI_PORT: "47000" }, flags: { omiPort: "48000" } }).omiPort, 48000);
    const s = loadSettings({
      env: {
        OMAF_HOST: "127.0.0.1",
        OMAF_MAX_MESSAGE_BYTES: "4MiB",
        OMAF_REQUEST_TIMEOUT_MS: "1500",
        OMAF_MAX_IN_FLIGHT: "0",
        OMAF_LAZY: "yes",
        OMAF_INFERENCE_LOG: "off",
        OMAF_INFERENCE_LOG_FILE: "/tmp/x.jsonl",
        OMAF_LOG_PAYLOADS: "1",
        OMAF_CACHE_DIR: "~/cache-here",
        OMAF_INTERFACES: "modzy",
        OMAF_MODEL_AUTHOR: "Data Team",
      },
      flags: { lazy: false, host: "::1" },
    });
    assert.equal(s.host, "::1");
    assert.equal(s.maxMessageBytes, 4 * 1024 * 1024);
    assert.equal(s.requestTimeoutMs, 1500);
    assert.equal(s.maxInFlight, 0);
    assert.equal(s.lazy, false);
    assert.equal(s.inferenceLog, false);
    assert.equal(s.inferenceLogFile, "/tmp/x.jsonl");
    assert.equal(s.logPayloads, true);
    assert.equal(s.cacheDir, join(homedir(), "cache-here"));
    assert.deepEqual(s.interfaces, ["omi"]);
    assert.equal(s.modelAuthor, "Data Team");
    // An empty variable counts as unset.
    assert.equal(loadSettings({ env: { OMAF_OMI_PORT: "", PSC_MODEL_PORT: "46001" } }).omiPort, 46001);
    // Chassis' INTERFACE works too, with its names.
    assert.deepEqual(loadSettings({ env: { INTERFACE: "omi" } }).interfaces, ["omi"]);
    assert.deepEqual(loadSettings({ env: { INTERFACE: "kserve" } }).interfaces, ["kserve-v1"]);
    assert.deepEqual(loadSettings({ env: { INTERFACE: "modzy" } }).interfaces, ["omi"]);
    assert.deepEqual(loadSettings({ env: { INTERFACE: "kserve", OMAF_INTERFACES: "odahu" } }).interfaces, ["odahu"]);
    assert.deepEqual(loadSettings({ env: { OMAF_INTERFACES: "oip,KServe-V1,odahu,oip-rest" } }).interfaces, ["oip-rest", "oip-grpc", "kserve-v1", "odahu"]);
    // Chassis' HTTP_PORT is the shared HTTP port; OMAF_HTTP_PORT wins.
    assert.equal(loadSettings({ env: { HTTP_PORT: "9000" } }).httpPort, 9000);
    assert.equal(loadSettings({ env: { HTTP_PORT: "9000", OMAF_HTTP_PORT: "9001" } }).httpPort, 9001);
    const http = loadSettings({
      env: {
        OMAF_OIP_GRPC_PORT: "9002",
        OMAF_ODAHU_PORT: "9003",
        OMAF_MAX_BODY_BYTES: "1KiB",
        OMAF_METRICS: "off",
        ODAHU_MODEL_NAME: "legacy",
        ODAHU_MODEL_VERSION: "2.0",
      },
    });
    assert.deepEqual(
      [http.oipGrpcPort, http.odahuPort, http.maxBodyBytes, http.metrics, http.odahuModelName, http.odahuModelVersion],
      [9002, 9003, 1024, false, "legacy", "2.0"],
    );
  });

  it("the model repository watch takes milliseconds or a bare switch; model choices are name[:version]", () => {
    const watch = (value: unknown) => loadSettings({ env: {}, flags: { modelRepositoryWatch: value } }).modelRepositoryWatch;
    assert.equal(watch(true), 5000, "the flag alone (commander gives true)");
    assert.equal(watch("250"), 250);
    assert.equal(watch("0"), 0);
    assert.equal(watch("off"), 0);
    assert.equal(loadSettings({ env: { OMAF_MODEL_REPOSITORY_WATCH: "on" } }).modelRepositoryWatch, 5000);
    settingsError(() => watch("50"), /modelRepositoryWatch.*0 = off, else 100 to 86400000/);
    settingsError(() => watch("soon"), /modelRepositoryWatch/);
    assert.equal(loadSettings({ env: { OMAF_OMI_MODEL: "iris:1.0.0-1" } }).omiModel, "iris:1.0.0-1");
    assert.equal(loadSettings({ env: {}, flags: { odahuModel: " iris " } }).odahuModel, "iris");
    settingsError(() => loadSettings({ env: { OMAF_OMI_MODEL: "two words" } }), /omiModel.*model name, optionally followed by :<version>/);
  });

  it("tracing: an http(s) OTLP endpoint from the flag, OMAF_OTLP_ENDPOINT or OpenTelemetry's own variable; a service name", () => {
    assert.equal(loadSettings({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" } }).otlpEndpoint, "http://collector:4318");
    assert.equal(
      loadSettings({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OMAF_OTLP_ENDPOINT: "https://other:4318/" } }).otlpEndpoint,
      "https://other:4318/",
    );
    assert.equal(loadSettings({ env: { OMAF_OTLP_ENDPOINT: "http://a:1" }, flags: { otlpEndpoint: "http://b:2" } }).otlpEndpoint, "http://b:2");
    assert.equal(loadSettings({ env: { OTEL_SERVICE_NAME: "scoring" } }).otlpServiceName, "scoring");
    assert.equal(loadSettings({ env: { OTEL_SERVICE_NAME: "scoring", OMAF_OTLP_SERVICE_NAME: "omaf-a" } }).otlpServiceName, "omaf-a");
    settingsError(() => loadSettings({ env: { OMAF_OTLP_ENDPOINT: "collector:4318" } }), /otlpEndpoint .*http:\/\/ or https:\/\/ URL/);
    settingsError(() => loadSettings({ env: {}, flags: { otlpEndpoint: "grpc://collector:4317" } }), /otlpEndpoint \(flag --otlp-endpoint\)/);
  });

  it("rejects bad values once, naming the setting, where it came from and what was expected", () => {
    settingsError(() => loadSettings({ env: { OMAF_OMI_PORT: "abc" } }), /"abc" for omiPort \(environment variable OMAF_OMI_PORT\): expected a port number/);
    settingsError(() => loadSettings({ env: { PSC_MODEL_PORT: "70000" } }), /PSC_MODEL_PORT.*0 to 65535/);
    settingsError(() => loadSettings({ env: {}, flags: { omiPort: "-1" } }), /flag --omi-port/);
    settingsError(() => loadSettings({ env: { OMAF_REQUEST_TIMEOUT_MS: "0" } }), /requestTimeoutMs.*from 1/);
    settingsError(() => loadSettings({ env: { OMAF_REQUEST_TIMEOUT_MS: "1.5" } }), /whole number/);
    settingsError(() => loadSettings({ env: { OMAF_MAX_MESSAGE_BYTES: "64 parsecs" } }), /maxMessageBytes.*unit/);
    settingsError(() => loadSettings({ env: { OMAF_MAX_MESSAGE_BYTES: "4GiB" } }), /2147483647/);
    settingsError(() => loadSettings({ env: { OMAF_LAZY: "maybe" } }), /lazy.*true\/false/);
    settingsError(() => loadSettings({ env: { OMAF_INTERFACES: "omi,carrier-pigeon" } }), /unknown interface "carrier-pigeon"/);
    settingsError(() => loadSettings({ env: { OMAF_HOST: " " } }), /host.*non-empty/);
    settingsError(() => loadSettings({ env: { HTTP_PORT: "http" } }), /httpPort \(environment variable HTTP_PORT\)/);
    settingsError(() => loadSettings({ env: { OMAF_MAX_BODY_BYTES: "0" } }), /maxBodyBytes/);
    settingsError(() => loadSettings({ env: { ODAHU_MODEL_NAME: "bad\nname" } }), /odahuModelName.*printable/);
  });

  it("spec/omi.md documents every setting's flag and environment variables; spec/http.md the HTTP ones", async () => {
    const read = (file: string) => readFile(fileURLToPath(new URL(`../../spec/${file}`, import.meta.url)), "utf8");
    const [omi, http] = await Promise.all([read("omi.md"), read("http.md")]);
    const httpKeys = new Set([
      "interfaces",
      "host",
      "httpPort",
      "odahuPort",
      "maxBodyBytes",
      "metrics",
      "odahuModelName",
      "odahuModelVersion",
      "odahuModel",
      "requestTimeoutMs",
      "maxInFlight",
      "drainTimeoutMs",
    ]);
    for (const d of SETTINGS) {
      for (const [file, doc] of [["omi.md", omi], ...(httpKeys.has(d.key) ? [["http.md", http]] : [])]) {
        assert.ok(doc.includes(`\`--${d.flag}\``), `--${d.flag} missing from spec/${file}`);
        for (const e of d.env) assert.ok(doc.includes(`\`${e}\``), `${e} missing from spec/${file}`);
      }
    }
  });
});
