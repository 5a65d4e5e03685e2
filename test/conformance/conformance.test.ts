// The shared conformance suite: for each environment, one `omaf serve` with every interface the adapters need (and
// one serving a model of that environment whose load fails); every adapter runs every case it supports against them.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { MatrixOutput } from "../../src/runtime/model.js";
import { tempDir } from "../helpers/fixtures.js";
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
  type NeutralRequest,
  type Outcome,
  type ProtocolAdapter,
} from "./harness.js";

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

    before(async () => {
      tmp = await tempDir(`omaf-conformance-${env.name}-`);
      const [artifact, brokenArtifact] = await Promise.all([env.artifact(tmp.dir), env.broken(tmp.dir)]);
      [server, broken] = await Promise.all([
        startConformanceServer(artifact, { interfaces, env: env.env }),
        startConformanceServer(brokenArtifact, { interfaces, env: env.env }),
      ]);
      ({ prediction: expected, digest } = await expectedPrediction(artifact, env.good, join(tmp.dir, "cache"), env.modelOptions));
    });
    after(async () => {
      await Promise.all([server?.stop(), broken?.stop()]);
      await tmp?.cleanup();
    });

    it("serves every interface the adapters need, and announces the artifact's digest", () => {
      for (const name of interfaces) assert.ok(server.ports[name] > 0, `no listener for ${name}: ${JSON.stringify(server.ports)}`);
      assert.equal(server.artifactDigest, digest);
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
            const outcome = await client.infer(request({ version: server.modelVersion }));
            if (!outcome.ok) assert.fail(`expected a prediction, got ${outcome.kind}: ${outcome.detail}`);
            assert.equal(sameValues(outcome.prediction.rows, expected.prediction), undefined);
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
