import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
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
      interfaces: ["omi"],
      host: "0.0.0.0",
      omiPort: 45000,
      maxMessageBytes: 64 * 1024 * 1024,
      requestTimeoutMs: 30000,
      maxInFlight: 512,
      drainTimeoutMs: 30000,
      lazy: false,
      inferenceLog: true,
      inferenceLogFile: "",
      logPayloads: false,
      cacheDir: join(homedir(), ".cache", "omaf"),
      modelAuthor: "",
    };
    assert.deepEqual(s, expected);
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
      assert.equal(d.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), d.key);
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
    // Chassis' INTERFACE works too.
    assert.deepEqual(loadSettings({ env: { INTERFACE: "omi" } }).interfaces, ["omi"]);
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
  });

  it("spec/omi.md documents every setting's flag and environment variables", async () => {
    const doc = await readFile(fileURLToPath(new URL("../../spec/omi.md", import.meta.url)), "utf8");
    for (const d of SETTINGS) {
      assert.ok(doc.includes(`\`--${d.flag}\``), `--${d.flag} missing from spec/omi.md`);
      for (const e of d.env) assert.ok(doc.includes(`\`${e}\``), `${e} missing from spec/omi.md`);
    }
  });
});
