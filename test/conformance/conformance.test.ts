// The shared conformance suite: for each environment, one `omaf serve` with every interface the adapters need (and
// one serving a model of that environment whose load fails); every adapter runs every case it supports against them.
// The first server serves three model versions at once — the environment's model, a second, higher version of it,
// and a model of another name — so every case also holds with several models and versions side by side: requests
// without a version reach the higher one, requests naming the lower one reach it, and the other model answers its own.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { materializeArtifact } from "../../src/artifact/materialize.js";
import { MANIFEST_NAMES } from "../../src/manifest/parse.js";
import { compareVersions } from "../../src/registry/versions.js";
import type { MatrixOutput } from "../../src/runtime/model.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeNoColumnsModel } from "../helpers/serve.js";
import { ENVIRONMENTS } from "./environments.js";
import {
  CASES,
  expectedPrediction,
  sameValues,
  startConformanceServer,
  type AdapterClient,
  type CaseName,
  type ConformanceServer,
  type ErrorKind,
  type NeutralInput,
  type NeutralRequest,
  type Outcome,
  type ProtocolAdapter,
} from "./harness.js";

/** The manifest of a folder artifact: its file and its parsed content. */
async function manifestOf(dir: string): Promise<{ file: string; manifest: { model: { name: string; version: string } } }> {
  const present = new Set(await readdir(dir));
  const name = MANIFEST_NAMES.find((n) => present.has(n));
  assert.ok(name, `no manifest in ${dir}`);
  const file = join(dir, name);
  return { file, manifest: parse(await readFile(file, "utf8")) };
}

/** A copy of the folder artifact `dir` at `into` whose manifest says a higher version; answers that version. */
async function newerVersion(dir: string, into: string): Promise<string> {
  await cp(dir, into, { recursive: true });
  // An unpacked folder's provenance record would no longer match the edited manifest.
  await rm(join(into, ".omaf"), { recursive: true, force: true });
  const { file, manifest } = await manifestOf(into);
  const old = manifest.model.version;
  const [major, minor, patch] = old.split("-")[0].split(".").map(Number);
  const version = `${major}.${minor ?? 0}.${(patch ?? 0) + 1}-1`;
  assert.ok(compareVersions(version, old) > 0, `${version} must be higher than ${old}`);
  manifest.model.version = version;
  await writeFile(file, stringify(manifest));
  return version;
}

/** The model of another name served beside each environment's: each row's first value. */
const OTHER_INPUT: NeutralInput = { name: "input", datatype: "FP64", shape: [2, 2], data: [1, 2, 3.5, 4] };

/** Every `adapters/*.ts` module's `adapters` export. */
async function loadAdapters(): Promise<ProtocolAdapter[]> {
  const dir = fileURLToPath(new URL("./adapters/", import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const out: ProtocolAdapter[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { adapters?: ProtocolAdapter[] };
    assert.ok(Array.isArray(mod.adapters), `adapters/${f} must export adapters: ProtocolAdapter[]`);
    for (const a of mod.adapters) {
      for (const c of CASES) assert.ok(c in a.supports, `adapter ${a.name} must say whether it supports case ${c}`);
      out.push(a);
    }
  }
  return out;
}

const adapters = await loadAdapters();
const interfaces = [...new Set(adapters.map((a) => a.interface))];

function expectError(outcome: Outcome, kind: ErrorKind): void {
  if (outcome.ok) assert.fail(`expected a ${kind} error, got a prediction: ${JSON.stringify(outcome.prediction)}`);
  assert.equal(outcome.kind, kind, `expected ${kind}, got ${outcome.kind}: ${outcome.detail}`);
}

for (const env of ENVIRONMENTS) {
  describe(`conformance (${env.name} model)`, () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    let server: ConformanceServer;
    let broken: ConformanceServer;
    let expected: MatrixOutput;
    let digest: string;
    /** The environment's model at its lower version, addressed by version. */
    let lower: { version: string; digest: string };
    let other: { name: string; expected: MatrixOutput; digest: string };

    before(async () => {
      tmp = await tempDir(`omaf-conformance-${env.name}-`);
      const cache = join(tmp.dir, "cache");
      const [artifact, brokenArtifact, otherArtifact] = await Promise.all([
        env.artifact(tmp.dir),
        env.broken(tmp.dir),
        writeNoColumnsModel(join(tmp.dir, "other")),
      ]);
      const newer = join(tmp.dir, "newer");
      await newerVersion(artifact, newer);
      const { name } = (await manifestOf(artifact)).manifest.model;
      [server, broken] = await Promise.all([
        startConformanceServer([artifact, newer, otherArtifact], {
          interfaces,
          env: env.env,
          model: name,
          args: ["--omi-model", name, "--odahu-model", name],
        }),
        startConformanceServer(brokenArtifact, { interfaces, env: env.env }),
      ]);
      // The model's own answer (both versions hold the same model), and each version's digest.
      ({ prediction: expected, digest } = await expectedPrediction(newer, env.good, cache, env.modelOptions));
      const original = await materializeArtifact(artifact, { cacheDir: cache });
      lower = { version: original.manifest.model.version, digest: original.artifactDigest };
      const own = await expectedPrediction(otherArtifact, OTHER_INPUT, cache);
      other = { name: "first-value", expected: own.prediction, digest: own.digest };
    });
    after(async () => {
      await Promise.all([server?.stop(), broken?.stop()]);
      await tmp?.cleanup();
    });

    it("serves every interface the adapters need, and announces each model version with its digest", () => {
      for (const name of interfaces) assert.ok(server.ports[name] > 0, `no listener for ${name}: ${JSON.stringify(server.ports)}`);
      assert.equal(server.artifactDigest, digest);
      assert.deepEqual(
        server.models.map((m) => [m.name, m.version, m.artifactDigest]).sort(),
        [
          [server.modelName, server.modelVersion, digest],
          [server.modelName, lower.version, lower.digest],
          [other.name, "1.0.0-1", other.digest],
        ].sort(),
      );
    });

    for (const adapter of adapters) {
      if (adapter.unavailable) {
        it(adapter.name, { skip: adapter.unavailable }, () => {});
        continue;
      }
      describe(adapter.name, () => {
        let client: AdapterClient;
        let brokenClient: AdapterClient;
        before(() => {
          client = adapter.connect(server);
          brokenClient = adapter.connect(broken);
        });
        after(async () => {
          await client?.close();
          await brokenClient?.close();
        });
        const request = (over: Partial<NeutralRequest> = {}): NeutralRequest => ({ model: server.modelName, input: env.good, ...over });

        const cases: Record<CaseName, (() => Promise<void>) | undefined> = {
          good: async () => {
            assert.equal(await client.ready(), true);
            const outcome = await client.infer(request());
            if (!outcome.ok) assert.fail(`expected a prediction, got ${outcome.kind}: ${outcome.detail}`);
            assert.deepEqual(outcome.provenance, { modelName: server.modelName, modelVersion: server.modelVersion, artifactDigest: digest });
            const diff = sameValues(outcome.prediction.rows, expected.prediction, "rows");
            assert.equal(diff, undefined, `prediction differs from the model's own answer: ${diff}`);
            if (outcome.prediction.columns && expected.columns) assert.deepEqual(outcome.prediction.columns, expected.columns);
          },
          "good-with-version": async () => {
            // Each version answers when named, the lower one too.
            for (const [version, versionDigest] of [
              [server.modelVersion, digest],
              [lower.version, lower.digest],
            ]) {
              const outcome = await client.infer(request({ version }));
              if (!outcome.ok) assert.fail(`expected a prediction, got ${outcome.kind}: ${outcome.detail}`);
              assert.equal(sameValues(outcome.prediction.rows, expected.prediction), undefined);
              assert.deepEqual(outcome.provenance, { modelName: server.modelName, modelVersion: version, artifactDigest: versionDigest });
            }
          },
          "wrong-shape": async () => expectError(await client.infer(request({ input: env.wrongShape })), "bad_input"),
          "wrong-datatype": async () => expectError(await client.infer(request({ input: env.wrongDatatype })), "bad_input"),
          "unknown-model": async () => expectError(await client.infer(request({ model: "no-such-model" })), "not_found"),
          "unknown-version": async () => expectError(await client.infer(request({ version: "9.9.9-0" })), "not_found"),
          "malformed-body": async () => expectError(await client.infer(request({ malformed: true })), "bad_input"),
          "model-error": env.modelError
            ? async () => {
                expectError(await client.infer(request({ input: env.modelError })), "model_error");
                // The server keeps serving after the model raised.
                assert.equal((await client.infer(request())).ok, true);
              }
            : undefined,
          "not-ready": async () => {
            assert.equal(await brokenClient.ready(), false);
            expectError(await brokenClient.infer({ model: broken.modelName, input: env.good }), "unavailable");
          },
          "other-model": async () => {
            const outcome = await client.infer({ model: other.name, input: OTHER_INPUT });
            if (!outcome.ok) assert.fail(`expected a prediction, got ${outcome.kind}: ${outcome.detail}`);
            assert.deepEqual(outcome.provenance, { modelName: other.name, modelVersion: "1.0.0-1", artifactDigest: other.digest });
            assert.equal(sameValues(outcome.prediction.rows, other.expected.prediction, "rows"), undefined);
          },
        };

        for (const name of CASES) {
          const run = cases[name];
          // Cases an adapter or environment does not support are not registered (the adapter states why).
          if (adapter.supports[name] === true && run) it(name, run);
        }
      });
    }
  });
}
