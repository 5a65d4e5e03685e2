// `omaf image --build`: with no usable container engine it says so with OMAF_ERR_NO_CONTAINER_ENGINE (exit 2),
// naming each engine and why, and the build context is written all the same. Where an engine works, the image is
// built and smoke-tested: the container becomes healthy and answers an inference with the artifact's digest.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, stat, symlink } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { findEngine } from "../../src/deploy/engine.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

/** Where `name` is on PATH, if anywhere. */
function which(name: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

describe("omaf image --build", { timeout: 1_200_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  /** A PATH with node and npm only: no docker, podman or buildah. */
  let bare: string;

  before(async () => {
    tmp = await tempDir("omaf-image-build-");
    bare = path.join(tmp.dir, "bin");
    await mkdir(bare);
    for (const tool of ["node", "npm", "sh"]) {
      const found = tool === "node" ? process.execPath : which(tool);
      if (found) await symlink(found, path.join(bare, tool));
    }
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("without any container engine on PATH: OMAF_ERR_NO_CONTAINER_ENGINE, exit 2, each engine named, the context written", async () => {
    const out = path.join(tmp.dir, "no-engine");
    const r = omaf(["image", IRIS, "-o", out, "--omaf-from", "npm", "--build"], { env: { PATH: bare } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error OMAF_ERR_NO_CONTAINER_ENGINE: no container engine can build the image:/);
    for (const engine of ["docker", "podman", "buildah"]) assert.match(r.stderr, new RegExp(`  ${engine}: not found on PATH`));
    assert.match(r.stderr, new RegExp(`the build context is complete in ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.match(r.stdout, /image {4}iris-onnx:1\.0\.0-1/, "the summary is printed before the build is tried");
    assert.ok((await stat(path.join(out, "Dockerfile"))).isFile());

    // --json: one document, the summary with the reason the build did not happen.
    const json = omaf(["image", IRIS, "-o", path.join(tmp.dir, "no-engine-json"), "--omaf-from", "npm", "--build", "--json"], { env: { PATH: bare } });
    assert.equal(json.code, 2);
    const summary = JSON.parse(json.stdout);
    assert.equal(summary.image, "iris-onnx:1.0.0-1");
    assert.equal(summary.build.engine, null);
    assert.equal(summary.build.error.code, "OMAF_ERR_NO_CONTAINER_ENGINE");
    assert.deepEqual(
      summary.build.checks.map((c: { engine: string; usable: boolean }) => [c.engine, c.usable]),
      [
        ["docker", false],
        ["podman", false],
        ["buildah", false],
      ],
    );
  });

  it("with a docker client whose daemon does not answer: docker is not usable, and says why", async (t) => {
    const docker = which("docker");
    if (!docker) return t.skip("no docker client on PATH");
    const found = await findEngine("docker");
    if (found.engine) return t.skip("docker's daemon answers here: the build test below covers it");
    await symlink(docker, path.join(bare, "docker"));
    const r = omaf(["image", IRIS, "-o", path.join(tmp.dir, "no-daemon"), "--omaf-from", "npm", "--build", "--engine", "docker"], { env: { PATH: bare } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /error OMAF_ERR_NO_CONTAINER_ENGINE: no container engine can build the image:\n {2}docker: the docker daemon does not answer \(docker info: .+\)/,
    );
  });

  it("where a container engine works: builds the image, runs it, and it becomes healthy and answers", async (t) => {
    const found = await findEngine();
    if (!found.engine) return t.skip(`no usable container engine: ${found.checks.map((c) => `${c.engine}: ${c.reason}`).join("; ")}`);
    const engine = found.engine === "buildah" ? "podman" : found.engine;
    if (!which(engine)) return t.skip(`${found.engine} builds, but there is no ${engine} to run the image`);
    const out = path.join(tmp.dir, "built");
    const tag = `omaf-test-${process.pid}`;
    const r = omaf(["image", IRIS, "-o", out, "--build", "--tag", tag, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const name = `omaf-smoke-${process.pid}`;
    const run = spawnSync(engine, ["run", "-d", "--rm", "--name", name, "-p", "127.0.0.1::8080", summary.image], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    try {
      const port = spawnSync(engine, ["port", name, "8080"], { encoding: "utf8" }).stdout.trim().split(":").pop();
      let ready = false;
      for (let i = 0; i < 120 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (!ready) await new Promise((res) => setTimeout(res, 1000));
      }
      assert.ok(ready, "the container never became ready");
      const res = await fetch(`http://127.0.0.1:${port}/v2/models/iris-onnx/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-omaf-artifact-digest"), summary.artifactDigest);
      const labels = JSON.parse(spawnSync(engine, ["image", "inspect", "--format", "{{json .Config.Labels}}", summary.image], { encoding: "utf8" }).stdout);
      assert.equal(labels["ml.openmodel.interfaces"], '["kfserving", "modzy"]');
      assert.equal(labels["omaf.artifact.digest"], summary.artifactDigest);
      for (const [k, v] of Object.entries(JSON.parse(await readFile(path.join(out, "omaf-image.json"), "utf8")).labels)) assert.equal(labels[k], v, k);
    } finally {
      spawnSync(engine, ["rm", "-f", name]);
      spawnSync(engine, ["rmi", "-f", summary.image]);
    }
  });
});
