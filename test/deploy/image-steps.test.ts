// The generated image's steps, run without a container engine: the Dockerfile's unpack-and-verify step with its own
// arguments, then its ENTRYPOINT + CMD with its ENV (ports moved to free ones on loopback), then its HEALTHCHECK
// command, which must fail while nothing is ready and succeed against the real server; one inference checks that the
// served model is the artifact's. Only the shell steps (npm install of omaf's tarball) are left to a real engine.
// A signed artifact's image (--trusted-key --require-signature) serves with the signature the unpack step kept and
// answers with the key id; a changed signature in the unpacked folder stops the build's verify step and the start.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SIGNATURE_PATH } from "../../src/archive/provenance.js";
import { signArtifact } from "../../src/signing/sign.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { freePort } from "../http/helpers.js";
import { cleanEnv, FREE_PORT_ARGS, startServe } from "../helpers/serve.js";
import { keyPair } from "../signing/helpers.js";
import { runLocally, under } from "./dockerfile-steps.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));
const IRIS_ROW = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] };

/** Runs the HEALTHCHECK's command as the engine would (exit 0 = healthy). */
function healthcheck(argv: string[], env: Record<string, string>): number | null {
  assert.equal(argv[0], "node");
  return spawnSync(process.execPath, argv.slice(1), { env: { ...process.env, ...env }, timeout: 20_000 }).status;
}

describe("the image's steps, run without a container engine", { timeout: 180_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let context: string;
  let dockerfile: string;

  before(async () => {
    tmp = await tempDir("omaf-image-steps-");
    context = path.join(tmp.dir, "context");
    const r = omaf(["image", IRIS, "-o", context, "--omaf-from", "npm"]);
    assert.equal(r.code, 0, r.stderr);
    dockerfile = await readFile(path.join(context, "Dockerfile"), "utf8");
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("unpacks and checks the artifact as the build does, starts the server as the image does, and its HEALTHCHECK follows readiness", async () => {
    const root = path.join(tmp.dir, "root");
    const local = await runLocally(context, root, dockerfile);
    assert.deepEqual(
      local.ran.map((r) => [r.args[0], r.result.code]),
      [["unpack", 0]],
      local.ran.map((r) => r.result.stderr).join("\n"),
    );
    assert.equal(local.skipped.length, 1, "only the npm install of omaf needs the image");
    assert.match(local.skipped[0], /npm install --global .*omaf@/);
    assert.ok((await stat(path.join(root, "mnt/models/odahuflow.model.yaml"))).isFile());
    assert.ok((await stat(path.join(root, "mnt/models/.omaf/provenance.json"))).isFile(), "the unpacked folder keeps its provenance record");

    assert.deepEqual(local.entrypoint, ["omaf"]);
    assert.deepEqual(local.cmd, ["serve", "/mnt/models"]);
    const health = await freePort();
    // The HEALTHCHECK fails while nothing answers.
    assert.equal(healthcheck(local.healthcheck, { OMAF_HEALTH_PORT: String(health) }), 1);

    const server = await startServe(under(root, local.cmd[1]), { env: { ...local.env, OMAF_HEALTH_PORT: String(health) } });
    try {
      assert.deepEqual(
        server.listeners.map((l) => l.label),
        ["OMI gRPC", "OIP v2 REST + KServe v1", "OIP v2 gRPC", "health"],
        "the image's OMAF_INTERFACES and OMAF_HEALTH_PORT",
      );
      assert.equal(healthcheck(local.healthcheck, { OMAF_HEALTH_PORT: String(health) }), 0);
      const summary = JSON.parse(await readFile(path.join(context, "omaf-image.json"), "utf8")) as { artifactDigest: string };
      const res = await fetch(`${server.url("OIP v2 REST")}/v2/models/iris-onnx/infer`, {
        method: "POST",
        body: JSON.stringify(IRIS_ROW),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("x-omaf-artifact-digest"), summary.artifactDigest);
      const label = ((await res.json()) as { outputs: Array<{ name: string; data: number[] }> }).outputs.find((o) => o.name === "label");
      assert.deepEqual(label?.data, [0]);
      // Nothing was written outside the cache folder the image names (/tmp/omaf): serving a folder writes nothing at all.
      assert.equal(await stat(local.env.OMAF_CACHE_DIR).catch(() => undefined), undefined);
    } finally {
      await server.kill();
    }
    assert.equal(healthcheck(local.healthcheck, { OMAF_HEALTH_PORT: String(health) }), 1, "unhealthy again once the server is gone");
  });

  it("the unpack step refuses an artifact whose files do not add up to the digest the image was planned with, leaving nothing", async () => {
    const root = path.join(tmp.dir, "root-tampered");
    const local = await runLocally(context, root, dockerfile.replace(/sha256:[0-9a-f]{64}/g, `sha256:${"0".repeat(64)}`));
    assert.equal(local.ran.length, 1);
    assert.equal(local.ran[0].result.code, 1);
    assert.match(local.ran[0].result.stderr, /OMAF_ERR_DIGEST_MISMATCH: the artifact's files add up to sha256:[0-9a-f]{64}, not the expected sha256:0{64}/);
    assert.equal(await stat(path.join(root, "mnt/models")).catch(() => undefined), undefined);
  });

  it("a signed artifact's image keeps its signature at unpack, verifies it at build and serves only it, answering with the key id", async () => {
    const zip = path.join(tmp.dir, "iris-signed.zip");
    assert.equal(omaf(["pack", IRIS, "-o", zip]).code, 0);
    const key = await keyPair(tmp.dir, "release");
    await signArtifact(zip, { key: key.privateKeyFile });
    const signedContext = path.join(tmp.dir, "signed-context");
    const r = omaf(["image", zip, "-o", signedContext, "--omaf-from", "npm", "--trusted-key", key.publicKeyFile, "--require-signature"]);
    assert.equal(r.code, 0, r.stderr);

    const root = path.join(tmp.dir, "signed-root");
    const local = await runLocally(signedContext, root, await readFile(path.join(signedContext, "Dockerfile"), "utf8"));
    assert.deepEqual(
      local.ran.map((s) => [s.args[0], s.result.code]),
      [
        ["unpack", 0],
        ["verify", 0],
      ],
      local.ran.map((s) => s.result.stderr).join("\n"),
    );
    const signature = path.join(root, "mnt/models", SIGNATURE_PATH);
    assert.ok((await stat(signature)).isFile(), "the unpack step kept the signature where serve reads it");
    assert.equal(local.env.OMAF_REQUIRE_SIGNATURE, "1");
    assert.equal(local.env.OMAF_TRUSTED_KEYS, path.join(root, "opt/omaf/trusted-keys", `${key.keyId}.pub`));

    const server = await startServe(under(root, local.cmd[1]), { env: { ...local.env, OMAF_HEALTH_PORT: "0" } });
    try {
      assert.match(server.stderr(), new RegExp(`omaf: signature verified: sha256:[0-9a-f]{64} signed by ${key.keyId}`));
      const res = await fetch(`${server.url("OIP v2 REST")}/v2/models/iris-onnx/infer`, { method: "POST", body: JSON.stringify(IRIS_ROW) });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("x-omaf-signed-by"), key.keyId);
      const body = (await res.json()) as { parameters: Record<string, string> };
      assert.equal(body.parameters.signed_by, key.keyId);
    } finally {
      await server.kill();
    }

    // The signature changed in the unpacked folder: the build's verify step and the container's start both refuse it.
    const [line, ...rest] = (await readFile(signature, "utf8")).split("\n");
    const envelope = JSON.parse(line);
    const sig = Buffer.from(envelope.signatures[0].sig, "base64");
    sig[sig.length - 1] ^= 0x01;
    envelope.signatures[0].sig = sig.toString("base64");
    await writeFile(signature, [JSON.stringify(envelope), ...rest].join("\n"));
    const verify = omaf(local.ran[1].args);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /OMAF_ERR_SIGNATURE_INVALID/);
    const start = omaf(
      [...local.cmd, "--host", "127.0.0.1", ...FREE_PORT_ARGS].map((a) => (a === local.cmd[1] ? under(root, a) : a)),
      {
        env: cleanEnv({ ...local.env, OMAF_HEALTH_PORT: "0" }),
      },
    );
    assert.equal(start.code, 1);
    assert.match(start.stderr, /^error OMAF_ERR_SIGNATURE_INVALID: .*does not verify/m);
    assert.doesNotMatch(start.stderr, /omaf: serving/);
  });
});
