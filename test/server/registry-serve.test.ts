// Several models in one `omaf serve` process, over real sockets: each request reaches its model and version on every
// protocol; the model repository (index, load, unload) over REST and gRPC; a model that fails stays in the index
// with its reason; unloading one model drains it while requests to another keep flowing, none lost; the repository
// watch; per-model metrics; and the start-up refusals (several models for OMI without --omi-model, a name and
// version given twice).
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServiceError } from "@grpc/grpc-js";
import { omafSpawn } from "../helpers/cli.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { entryJson, jsonItem, omiClient } from "../helpers/omi-client.js";
import { oipGrpcClient } from "../helpers/oip-client.js";
import { cleanEnv, FREE_PORT_ARGS, nodeManifest, startServe, writeFailingInitModel, type ServeProcess } from "../helpers/serve.js";
import { parsePrometheus, sampleValue, until } from "../http/helpers.js";

/**
 * An objects model `name` `version` answering `{tag, echo}`; `{"sleepMs": n}` waits, `{"markFile": path}` creates that
 * file on arrival (so a test knows the request reached the model).
 */
async function writeEchoModel(dir: string, name: string, version: string, tag = `${name}@${version}`): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": nodeManifest(name, "model.mjs", { version }),
    "src/model.mjs": `import { writeFileSync } from "node:fs";
export function init() { return "objects"; }
export async function predict_on_objects(input) {
  if (input.markFile) writeFileSync(input.markFile, "in flight");
  if (input.sleepMs) await new Promise((r) => setTimeout(r, input.sleepMs));
  return { tag: ${JSON.stringify(tag)}, echo: input };
}
`,
  });
  return dir;
}

interface Answer {
  status: number;
  json: any;
  headers: Headers;
}

async function http(url: string, body?: unknown): Promise<Answer> {
  const res = await fetch(url, body === undefined ? {} : { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** An OIP REST inference of one objects input; answers the status, the model's answer and the provenance headers. */
async function infer(base: string, model: string, input: unknown, version?: string): Promise<Answer & { answer?: any }> {
  const path = version ? `/v2/models/${model}/versions/${version}/infer` : `/v2/models/${model}/infer`;
  const a = await http(`${base}${path}`, { inputs: [{ name: "input", datatype: "BYTES", shape: [1], data: [JSON.stringify(input)] }] });
  return a.status === 200 ? { ...a, answer: JSON.parse(a.json.outputs[0].data[0]) } : a;
}

const index = async (base: string, ready?: boolean) => (await http(`${base}/v2/repository/index`, ready === undefined ? "" : { ready })).json as any[];

/** Runs `omaf serve <args>` expecting it to fail at start; answers its exit code and stderr. */
async function failedStart(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = omafSpawn(["serve", ...args, "--host", "127.0.0.1", ...FREE_PORT_ARGS], { env: cleanEnv() });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stderr };
}

describe("several models and versions in one server", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-registry-");
    const models = await Promise.all([
      writeEchoModel(join(tmp.dir, "alpha"), "alpha", "1.0.0-1"),
      writeEchoModel(join(tmp.dir, "beta-old"), "beta", "1.9.0-1"),
      writeEchoModel(join(tmp.dir, "beta-new"), "beta", "1.10.0-1"),
    ]);
    server = await startServe(models, {
      args: ["--interfaces", "omi,oip-rest,oip-grpc,kserve-v1,odahu", "--omi-model", "beta:1.9.0-1", "--odahu-model", "alpha", "--no-inference-log"],
    });
    base = server.url("OIP v2 REST");
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("routes each request to its model and version on every protocol; the provenance says which answered", async () => {
    const cases: [string, string | undefined, string][] = [
      ["alpha", undefined, "alpha@1.0.0-1"],
      // No version: the highest (semver: 1.10 above 1.9).
      ["beta", undefined, "beta@1.10.0-1"],
      ["beta", "1.9.0-1", "beta@1.9.0-1"],
      ["beta", "1.10.0-1", "beta@1.10.0-1"],
    ];
    for (const [model, version, tag] of cases) {
      const a = await infer(base, model, { n: 1 }, version);
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(a.answer.tag, tag);
      assert.equal(a.json.model_name, model);
      assert.equal(a.json.model_version, tag.split("@")[1]);
      assert.equal(a.headers.get("x-omaf-model"), model);
      assert.equal(a.headers.get("x-omaf-model-version"), tag.split("@")[1]);
    }
    const kserve = await http(`${base}/v1/models/beta:predict`, { instances: [{ k: 1 }] });
    assert.equal(kserve.status, 200);
    assert.equal(kserve.json.predictions[0].tag, "beta@1.10.0-1");
    assert.equal((await http(`${base}/v1/models/alpha:predict`, { instances: [{ k: 1 }] })).json.predictions[0].tag, "alpha@1.0.0-1");
    // Refused before its route ran (a body the transport cannot inflate): the provenance still names the model asked for.
    const refused = await fetch(`${base}/v1/models/alpha:predict`, { method: "POST", headers: { "content-encoding": "gzip" }, body: "not gzip" });
    assert.equal(refused.status, 400, await refused.text());
    assert.equal(refused.headers.get("x-omaf-model"), "alpha");

    const odahu = await http(`${server.url("Odahu")}/api/model/invoke`, { o: 1 });
    assert.equal(odahu.json.tag, "alpha@1.0.0-1", "--odahu-model alpha");
    assert.equal(odahu.headers.get("model-name"), "alpha");

    const omi = omiClient(server.address);
    const grpc = oipGrpcClient(`127.0.0.1:${server.listeners.find((l) => l.label === "OIP v2 gRPC")!.port}`);
    try {
      const run = await omi.Run({ inputs: [jsonItem({ m: 1 })] });
      assert.deepEqual(entryJson(run.outputs[0].output, "results.json"), { data: { result: { tag: "beta@1.9.0-1", echo: { m: 1 } } } });
      assert.equal(run.outputs[0].output.model_version.toString(), "1.9.0-1", "--omi-model beta:1.9.0-1");
      assert.equal((await omi.Status({})).model_info.model_version, "1.9.0-1");
      const request = (version?: string) => ({
        model_name: "beta",
        ...(version ? { model_version: version } : {}),
        inputs: [{ name: "input", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from('{"g":1}')] } }],
      });
      for (const [version, expected] of [
        [undefined, "1.10.0-1"],
        ["1.9.0-1", "1.9.0-1"],
      ] as const) {
        const res = await grpc.ModelInfer(request(version));
        assert.equal(res.model_version, expected);
        assert.equal(JSON.parse(Buffer.from(res.outputs[0].contents!.bytes_contents![0]).toString()).tag, `beta@${expected}`);
      }
      await assert.rejects(grpc.ModelInfer({ ...request("2.0.0-1") }), (err: ServiceError) => err.code === 5);
    } finally {
      omi.close();
      grpc.close();
    }
  });

  it("lists and describes every model: KServe v1 list, OIP metadata versions, readiness per model, 404 for others", async () => {
    assert.deepEqual((await http(`${base}/v1/models`)).json, { models: ["alpha", "beta"] });
    const meta = await http(`${base}/v2/models/beta`);
    assert.deepEqual(meta.json.versions, ["1.10.0-1", "1.9.0-1"]);
    assert.equal((await http(`${base}/v2/models/beta/versions/1.9.0-1/ready`)).status, 200);
    assert.deepEqual((await http(`${base}/v1/models/alpha`)).json, { name: "alpha", ready: true });
    assert.equal((await http(`${base}/v2/health/ready`)).status, 200);
    const unknown = await infer(base, "gamma", {});
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error, /unknown model 'gamma'; this server serves 'alpha', 'beta'/);
    assert.equal((await http(`${base}/v2/models/beta/versions/3.0.0-1/ready`)).status, 404);
    assert.deepEqual(await index(base), [
      { name: "alpha", version: "1.0.0-1", state: "READY", reason: "" },
      { name: "beta", version: "1.10.0-1", state: "READY", reason: "" },
      { name: "beta", version: "1.9.0-1", state: "READY", reason: "" },
    ]);
  });

  it("counts requests per model and version in /metrics", async () => {
    const scrape = async () => parsePrometheus((await http(`${base}/metrics`)).json as string);
    const count = (samples: ReturnType<typeof parsePrometheus>, model: string, version: string) =>
      sampleValue(samples, "omaf_requests_total", { model, version, protocol: "oip-rest", status: "ok" });
    const before = await scrape();
    for (let i = 0; i < 3; i++) await infer(base, "alpha", { i });
    await infer(base, "beta", { i: 0 }, "1.9.0-1");
    const after = await scrape();
    assert.equal(count(after, "alpha", "1.0.0-1") - count(before, "alpha", "1.0.0-1"), 3);
    assert.equal(count(after, "beta", "1.9.0-1") - count(before, "beta", "1.9.0-1"), 1);
    assert.equal(count(after, "beta", "1.10.0-1") - count(before, "beta", "1.10.0-1"), 0);
    assert.equal(sampleValue(after, "omaf_model_ready", { model: "beta", version: "1.9.0-1" }), 1);
    const latency = after.find((s) => s.name === "omaf_request_duration_seconds_count" && s.labels.model === "alpha" && s.labels.protocol === "oip-rest");
    assert.ok(latency && latency.value >= 3, "latency histogram per model");
  });
});

describe("start-up refusals", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-registry-start-");
    await Promise.all([
      writeEchoModel(join(tmp.dir, "a"), "alpha", "1.0.0-1"),
      writeEchoModel(join(tmp.dir, "b"), "beta", "1.0.0-1"),
      writeEchoModel(join(tmp.dir, "a-again"), "alpha", "1.0.0-1", "other"),
    ]);
  });
  after(() => tmp?.cleanup());

  it("several models with OMI on and no --omi-model: a clear settings error naming it (exit 2)", async () => {
    const r = await failedStart([join(tmp.dir, "a"), join(tmp.dir, "b"), "--interfaces", "omi,oip-rest"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /OMAF_ERR_SETTINGS: OMI serves one model and this server serves 2 \(alpha:1\.0\.0-1, beta:1\.0\.0-1\): choose one with --omi-model/);
    const odahu = await failedStart([join(tmp.dir, "a"), join(tmp.dir, "b"), "--interfaces", "odahu", "--odahu-model", "gamma"]);
    assert.equal(odahu.code, 2);
    assert.match(odahu.stderr, /--odahu-model gamma: this server serves no such model/);
  });

  it("the same model name and version twice: OMAF_ERR_MODEL_DUPLICATE (exit 2)", async () => {
    const r = await failedStart([join(tmp.dir, "a"), join(tmp.dir, "a-again"), "--interfaces", "oip-rest"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /OMAF_ERR_MODEL_DUPLICATE: .*a-again holds model 'alpha' version '1\.0\.0-1', which .* holds too/);
  });

  it("nothing to serve: a usage error", async () => {
    const r = await failedStart(["--interfaces", "oip-rest"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nothing to serve/);
  });
});

describe("a model repository: index, load and unload over REST and gRPC; failures stay in the index", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let server: ServeProcess;
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-registry-repo-");
    repo = join(tmp.dir, "repo");
    await writeEchoModel(join(repo, "alpha"), "alpha", "1.0.0-1");
    await writeFailingInitModel(join(repo, "broken"));
    await writeTree(join(repo, "not-a-model"), { "README.md": "no manifest here\n" });
    await writeFile(join(repo, "junk.zip"), "this is not a zip");
    await writeFile(join(repo, "notes.txt"), "not a model entry: ignored");
    server = await startServe([], { args: ["--model-repository", repo, "--interfaces", "oip-rest,oip-grpc"] });
    base = server.url("OIP v2 REST");
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("starts with every readable model served and each failure in the index with its reason; readiness waits for all", async () => {
    const rows = await index(base);
    const by = (name: string) => rows.find((r) => r.name === name);
    assert.deepEqual(
      rows.map((r) => r.name),
      ["alpha", "broken-init", "junk", "not-a-model"],
    );
    assert.equal(by("alpha").state, "READY");
    assert.equal(by("broken-init").state, "UNAVAILABLE");
    assert.match(by("broken-init").reason, /init failed on purpose/);
    assert.match(by("not-a-model").reason, /^OMAF_ERR_NO_ARTIFACT: .*not-a-model holds no artifact/);
    assert.match(by("junk").reason, /^OMAF_ERR_ARCHIVE_FORMAT: /);
    assert.deepEqual(
      (await index(base, true)).map((r) => r.name),
      ["alpha"],
    );
    assert.equal((await infer(base, "alpha", { x: 1 })).answer.tag, "alpha@1.0.0-1");
    assert.equal((await http(`${base}/v2/models/alpha/ready`)).status, 200);
    const broken = await infer(base, "broken-init", {});
    assert.equal(broken.status, 503);
    assert.equal(broken.json.code, "OMAF_ERR_MODEL_NOT_READY");
    assert.equal((await http(`${base}/v2/health/ready`)).status, 503);
    assert.deepEqual((await http(`${base}/readyz`)).json, { ready: false, state: "failed" });
  });

  it("unloading the failed models makes the server ready; loading one again fails again and says why", async () => {
    for (const name of ["broken-init", "junk", "not-a-model"]) {
      const r = await http(`${base}/v2/repository/models/${name}/unload`, { parameters: { unload_dependents: false } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    assert.equal((await http(`${base}/v2/health/ready`)).status, 200);
    assert.ok((await index(base)).filter((r) => r.name !== "alpha").every((r) => r.state === "UNAVAILABLE" && r.reason === "unloaded"));

    const load = await http(`${base}/v2/repository/models/broken-init/load`, "");
    assert.equal(load.status, 500);
    assert.match(load.json.error, /init failed on purpose/);
    assert.match((await index(base)).find((r) => r.name === "broken-init").reason, /init failed on purpose/);
    assert.equal((await http(`${base}/v2/health/ready`)).status, 503, "asked to load it again: the server waits for it");
    await http(`${base}/v2/repository/models/broken-init/unload`, "");
    assert.equal((await http(`${base}/v2/repository/models/nope/load`, "")).status, 404);
    const override = await http(`${base}/v2/repository/models/alpha/load`, { parameters: { config: "{}" } });
    assert.equal(override.status, 501);
  });

  it("a model added to the folder is found by its load; gRPC sees the same repository", async () => {
    await writeEchoModel(join(repo, "gamma"), "gamma", "2.0.0-1");
    assert.equal((await infer(base, "gamma", {})).status, 404, "not known before its load");
    assert.equal((await http(`${base}/v2/repository/models/gamma/load`, "")).status, 200);
    assert.equal((await infer(base, "gamma", { y: 1 })).answer.tag, "gamma@2.0.0-1");

    const grpc = oipGrpcClient(`127.0.0.1:${server.listeners.find((l) => l.label === "OIP v2 gRPC")!.port}`);
    try {
      const ready = await grpc.RepositoryIndex({ ready: true });
      assert.deepEqual(
        ready.models.map((m) => `${m.name} ${m.version} ${m.state}`),
        ["alpha 1.0.0-1 READY", "gamma 2.0.0-1 READY"],
      );
      await grpc.RepositoryModelUnload({ model_name: "gamma" });
      assert.equal((await grpc.ModelReady({ name: "gamma" })).ready, false);
      await grpc.RepositoryModelLoad({ model_name: "gamma" });
      assert.equal((await grpc.ModelReady({ name: "gamma" })).ready, true);
      await assert.rejects(grpc.RepositoryModelLoad({ model_name: "nope" }), (err: ServiceError) => err.code === 5);
      // Triton's load overrides are refused over gRPC as over REST (UNIMPLEMENTED), not ignored.
      await assert.rejects(
        grpc.RepositoryModelLoad({ model_name: "gamma", parameters: { config: { string_param: "{}" } } }),
        (err: ServiceError) => err.code === 12 && /loading with config is not offered/.test(err.details),
      );
    } finally {
      grpc.close();
    }
  });
});

describe("unloading a model under load", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-registry-load-");
    const models = await Promise.all([writeEchoModel(join(tmp.dir, "a"), "alpha", "1.0.0-1"), writeEchoModel(join(tmp.dir, "b"), "beta", "1.0.0-1")]);
    server = await startServe(models, { args: ["--interfaces", "oip-rest", "--no-inference-log", "--node-workers", "1"] });
    base = server.url("OIP v2 REST");
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("drains the unloaded model's in-flight requests, refuses new ones, and loses no request of the other model", async () => {
    let flowing = true;
    const answers: { sent: number; status: number; echo?: number; tag?: string }[] = [];
    let next = 0;
    // Four clients keep requests to alpha flowing the whole time.
    const flow = Array.from({ length: 4 }, async () => {
      while (flowing) {
        const n = next++;
        const a = await infer(base, "alpha", { n, sleepMs: 5 });
        answers.push({ sent: n, status: a.status, echo: a.answer?.echo.n, tag: a.answer?.tag });
      }
    });

    for (let round = 0; round < 3; round++) {
      const mark = join(tmp.dir, `in-flight-${round}`);
      const inFlight = infer(base, "beta", { markFile: mark, sleepMs: 600 }).then((a) => ({ ...a, at: performance.now() }));
      await until(() => existsSync(mark), "beta's request to reach the model");
      const unload = http(`${base}/v2/repository/models/beta/unload`, "").then((a) => ({ ...a, at: performance.now() }));
      await until(async () => (await index(base)).some((r) => r.name === "beta" && r.state === "UNLOADING"), "beta to be unloading");
      const refused = await infer(base, "beta", {});
      assert.equal(refused.status, 503);
      assert.equal(refused.json.code, "OMAF_ERR_UNAVAILABLE");
      assert.match(refused.json.error, /being unloaded/);
      const [done, unloaded] = await Promise.all([inFlight, unload]);
      assert.equal(done.status, 200, "the in-flight request was answered");
      assert.equal(done.answer.tag, "beta@1.0.0-1");
      assert.equal(unloaded.status, 200);
      assert.ok(done.at <= unloaded.at, "the unload answered after the in-flight request");
      const gone = await infer(base, "beta", {});
      assert.equal(gone.status, 503);
      assert.equal(gone.json.code, "OMAF_ERR_MODEL_NOT_READY");
      assert.equal((await http(`${base}/v2/repository/models/beta/load`, "")).status, 200);
      assert.equal((await infer(base, "beta", { back: round })).answer.echo.back, round);
    }
    flowing = false;
    await Promise.all(flow);

    assert.ok(answers.length >= 20, `only ${answers.length} requests to alpha`);
    const wrong = answers.filter((a) => a.status !== 200 || a.echo !== a.sent || a.tag !== "alpha@1.0.0-1");
    assert.deepEqual(wrong, [], "every request to alpha was answered, by alpha, with its own input");
  });
});

describe("a watched model repository", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let server: ServeProcess;
  let base: string;

  before(async () => {
    tmp = await tempDir("omaf-registry-watch-");
    repo = join(tmp.dir, "repo");
    await writeEchoModel(join(repo, "alpha"), "alpha", "1.0.0-1", "first");
    server = await startServe([], { args: ["--model-repository", repo, "--model-repository-watch", "200", "--interfaces", "oip-rest", "--no-inference-log"] });
    base = server.url("OIP v2 REST");
  });
  after(async () => {
    await server?.kill();
    await tmp?.cleanup();
  });

  it("loads new entries, reloads changed ones and unloads removed ones", async () => {
    await writeEchoModel(join(repo, "beta"), "beta", "1.0.0-1");
    await until(async () => (await infer(base, "beta", {})).status === 200, "the new entry to be served");

    const before = await infer(base, "alpha", {});
    assert.equal(before.answer.tag, "first");
    await writeEchoModel(join(repo, "alpha"), "alpha", "1.0.0-1", "second");
    await until(async () => (await infer(base, "alpha", {})).answer?.tag === "second", "the changed entry to be reloaded");
    const after = await infer(base, "alpha", {});
    assert.notEqual(after.headers.get("x-omaf-artifact-digest"), before.headers.get("x-omaf-artifact-digest"));

    await rm(join(repo, "beta"), { recursive: true });
    await until(async () => !(await index(base)).some((r) => r.name === "beta"), "the removed entry to leave the index");
    assert.equal((await infer(base, "beta", {})).status, 404);
    assert.deepEqual(await index(base), [{ name: "alpha", version: "1.0.0-1", state: "READY", reason: "" }]);
  });
});
