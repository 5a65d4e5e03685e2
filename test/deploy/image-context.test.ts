// `omaf image`: the build context of an ONNX, a python and a java artifact. The Dockerfile is read with a real
// Dockerfile parser (dockerfile-ast) and checked for what the image must do; the Dockerfile, .dockerignore and the
// manifests match the snapshots in test/deploy/snapshots/ (OMAF_UPDATE_SNAPSHOTS=1 rewrites them; omaf's own version
// is written there as {{omaf-version}}, so that a release does not change them). The same input gives the same bytes,
// omaf's tarball included; the options change what they name, and bad ones are refused before anything is written.
// Signed artifacts: their signatures kept in the image, verified with --trusted-key (refused with the signing codes
// otherwise), the keys and the ENV that makes the server check them at every start.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { SIGNATURE_PATH } from "../../src/archive/provenance.js";
import { unpackArchive } from "../../src/archive/unpack.js";
import { putLastEntry } from "../../src/archive/zip-append.js";
import { readPublicKey, type WrittenKeyPair } from "../../src/signing/keys.js";
import { signArtifact } from "../../src/signing/sign.js";
import { readEmbeddedSignatures, verifyArtifact } from "../../src/signing/verify.js";
import { omafVersion } from "../../src/version.js";
import { craftZip } from "../archive/craft.js";
import { omaf } from "../helpers/cli.js";
import { tempDir, writeTree } from "../helpers/fixtures.js";
import { seededKeyPair } from "../signing/helpers.js";
import { propertiesOf, readSteps, runLocally } from "./dockerfile-steps.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SNAPSHOTS = fileURLToPath(new URL("./snapshots/", import.meta.url));
const UPDATE = process.env.OMAF_UPDATE_SNAPSHOTS === "1";
const SNAPSHOT_FILES = [
  "Dockerfile",
  ".dockerignore",
  "k8s/kserve/servingruntime.yaml",
  "k8s/kserve/inferenceservice.yaml",
  "k8s/kserve/inferenceservice-storage.yaml",
  "k8s/deployment.yaml",
];

/** The text with omaf's own version written as {{omaf-version}}. */
const normalised = (text: string) =>
  text.replace(new RegExp(`\\bomaf([ @]|\\.version=")${omafVersion.replace(/\./g, "\\.")}\\b`, "g"), "omaf$1{{omaf-version}}");

/** A java artifact whose JAR names a class it holds (what validation checks without running Java). */
async function javaArtifact(dir: string): Promise<string> {
  await writeTree(dir, {
    "odahuflow.model.yaml": stringify({
      binaries: { type: "java", dependencies: "none" },
      model: { name: "churn-java", version: "2.1.0-7", workDir: "model", entrypoint: "model.jar" },
      odahuflowVersion: "1.0",
      toolchain: { name: "javac", version: "17" },
      output: { run_id: "4f2a9c1e0b7d" },
    }),
    "model/model.jar": craftZip([
      { name: "META-INF/MANIFEST.MF", data: Buffer.from("Manifest-Version: 1.0\nOmaf-Model-Class: example.Churn\n") },
      { name: "example/Churn.class", data: Buffer.from([0xca, 0xfe, 0xba, 0xbe]) },
    ]),
  });
  return dir;
}

describe("omaf image: the build context", { timeout: 300_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const sources: Record<string, string> = {};

  const image = (source: string, out: string, args: string[] = []) => omaf(["image", source, "-o", path.join(tmp.dir, out), ...args]);

  before(async () => {
    tmp = await tempDir("omaf-image-context-");
    // An artifact ZIP, and two model folders that `omaf image` packs itself.
    sources.onnx = path.join(tmp.dir, "iris-onnx.zip");
    const packed = omaf(["pack", path.join(ROOT, "examples/iris-onnx"), "-o", sources.onnx]);
    assert.equal(packed.code, 0, packed.stderr);
    sources.python = path.join(ROOT, "examples/python-sklearn");
    sources.java = await javaArtifact(path.join(tmp.dir, "churn-java"));
  });
  after(async () => {
    await tmp?.cleanup();
  });

  for (const kind of ["onnx", "python", "java"] as const) {
    it(`${kind}: the Dockerfile and manifests match their snapshots`, async () => {
      const r = image(sources[kind], `snap-${kind}`);
      assert.equal(r.code, 0, r.stderr);
      const dir = path.join(tmp.dir, `snap-${kind}`);
      for (const file of SNAPSHOT_FILES) {
        const actual = normalised(await readFile(path.join(dir, file), "utf8"));
        const snapshot = path.join(SNAPSHOTS, kind, file);
        if (UPDATE) {
          await mkdir(path.dirname(snapshot), { recursive: true });
          await writeFile(snapshot, actual);
          continue;
        }
        const expected = await readFile(snapshot, "utf8").catch(() => "(no snapshot: run with OMAF_UPDATE_SNAPSHOTS=1)");
        assert.equal(actual, expected, `${kind}/${file} differs from its snapshot (OMAF_UPDATE_SNAPSHOTS=1 rewrites it)`);
      }
    });
  }

  it("the Dockerfile does what the image must: pinned base, baked and checked artifact, non-root user, ports, labels, health check", async () => {
    const r = image(sources.onnx, "onnx", ["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const dir = path.join(tmp.dir, "onnx");
    const dockerfile = await readFile(path.join(dir, "Dockerfile"), "utf8");
    const steps = readSteps(dockerfile);
    const final = steps.filter((s) => s.stage === steps.at(-1)?.stage);

    const froms = steps.filter((s) => s.keyword === "FROM").map((s) => s.text);
    assert.deepEqual(froms, ["node:22-bookworm-slim AS omaf", "omaf AS artifact", "omaf"]);
    assert.match(froms[0], /^node:\d+-bookworm-slim /, "a Node.js LTS slim base pinned by major");

    // omaf from its tarball in the context, installed at its own version.
    const copies = steps.filter((s) => s.keyword === "COPY" && !s.flags.from).map((s) => s.text.split(/\s+/)[0]);
    assert.deepEqual(copies, ["omaf/omaf.tgz", summary.artifact]);
    const listing = spawnSync("tar", ["-xOzf", path.join(dir, "omaf/omaf.tgz"), "package/package.json"], { encoding: "utf8" });
    assert.equal(listing.status, 0, listing.stderr);
    assert.deepEqual((({ name, version }) => ({ name, version }))(JSON.parse(listing.stdout)), { name: "omaf", version: omafVersion });

    // The artifact is unpacked and checked at build time, in its own stage; the final image gets the folder only.
    const unpack = steps.find((s) => s.keyword === "RUN" && s.exec?.[1] === "unpack");
    assert.deepEqual(unpack?.exec, [
      "omaf",
      "unpack",
      `/tmp/artifact/${path.basename(summary.artifact)}`,
      "--dir",
      "/mnt/models",
      "--expect-digest",
      summary.artifactDigest,
      "--no-progress",
    ]);
    assert.equal(unpack?.stage, "artifact");
    assert.deepEqual(
      final.filter((s) => s.keyword === "COPY").map((s) => [s.flags.from, s.text]),
      [["artifact", "/mnt/models /mnt/models"]],
    );

    // A numeric non-root user, so that Kubernetes' runAsNonRoot can check it.
    const user = final.find((s) => s.keyword === "USER")?.text ?? "";
    assert.match(user, /^[1-9]\d*:\d+$/);

    const env = propertiesOf(dockerfile, "ENV");
    assert.deepEqual(env, { OMAF_INTERFACES: "omi,oip-rest,oip-grpc,kserve-v1", OMAF_HEALTH_PORT: "8082", OMAF_CACHE_DIR: "/tmp/omaf" });
    const expose = final.find((s) => s.keyword === "EXPOSE")?.text;
    assert.equal(expose, "8080 8081 8082 45000");
    assert.deepEqual(summary.exposed, [8080, 8081, 8082, 45000]);

    const labels = propertiesOf(dockerfile, "LABEL");
    assert.equal(labels["ml.openmodel.interfaces"], '["kfserving", "modzy"]');
    assert.equal(labels["ml.openmodel.protocols"], '[["v1", "v2"], ["v2"]]');
    assert.equal(labels["ml.openmodel.port"], "8080");
    assert.equal(labels["ml.openml.model_name"], "iris-onnx");
    assert.deepEqual(JSON.parse(labels["ml.openmodel.protocols"]), [["v1", "v2"], ["v2"]]);
    assert.equal(labels["org.opencontainers.image.title"], "iris-onnx");
    assert.equal(labels["org.opencontainers.image.version"], "1.0.0-1");
    assert.equal(labels["omaf.artifact.digest"], summary.artifactDigest);
    assert.equal(labels["org.opencontainers.image.created"], undefined, "no creation time: the same input gives the same bytes");
    assert.deepEqual(labels, summary.labels);

    const health = final.find((s) => s.keyword === "HEALTHCHECK");
    assert.equal(health?.exec?.[0], "node", "slim images have no curl: node's fetch");
    assert.match(health?.exec?.[2] ?? "", /\/readyz/);
    assert.deepEqual(final.find((s) => s.keyword === "ENTRYPOINT")?.exec, ["omaf"]);
    assert.deepEqual(final.find((s) => s.keyword === "CMD")?.exec, ["serve", "/mnt/models"]);

    // .dockerignore sends exactly what the Dockerfile copies.
    const ignore = (await readFile(path.join(dir, ".dockerignore"), "utf8")).split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(ignore, ["*", ...copies.map((c) => `!${c}`).sort()]);

    // The summary lists every file with its digest and the image reference follows OMI's origin-tag rule.
    assert.equal(summary.image, "iris-onnx:1.0.0-1");
    assert.equal(summary.tagFrom, "version");
    const listed = summary.files.map((f: { path: string }) => f.path);
    const onDisk: string[] = [];
    const walk = async (rel: string) => {
      for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(child);
        else if (child !== "omaf-image.json") onDisk.push(child);
      }
    };
    await walk("");
    assert.deepEqual(listed, onDisk.sort());
  });

  it("the same artifact and options give the same bytes in every file, omaf's tarball and the summary included", async () => {
    const a = image(sources.java, "same-a", ["--json"]);
    const b = image(sources.java, "same-b", ["--json"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const [sa, sb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    assert.deepEqual(sa.files, sb.files);
    const summaries = await Promise.all(["same-a", "same-b"].map((d) => readFile(path.join(tmp.dir, d, "omaf-image.json"))));
    assert.ok(summaries[0].equals(summaries[1]));
  });

  it("python: Debian's python3 and a venv of the declared packages made at build time, which serve uses; java: a JRE", async () => {
    const py = await readFile(path.join(tmp.dir, "snap-python", "Dockerfile"), "utf8");
    const steps = readSteps(py);
    assert.match(steps.find((s) => s.keyword === "RUN" && /apt-get install/.test(s.text))?.text ?? "", /python3 python3-venv/);
    assert.deepEqual(steps.find((s) => s.exec?.[1] === "env")?.exec, [
      "omaf",
      "env",
      "create",
      "/mnt/models",
      "--cache-dir",
      "/opt/omaf/cache",
      "--link",
      "/opt/omaf/venv",
    ]);
    assert.equal(propertiesOf(py, "ENV").OMAF_ENV, "/opt/omaf/venv");
    const java = await readFile(path.join(tmp.dir, "snap-java", "Dockerfile"), "utf8");
    assert.match(readSteps(java).find((s) => /apt-get install/.test(s.text))?.text ?? "", /openjdk-17-jre-headless/);
    assert.equal(propertiesOf(java, "ENV").OMAF_ENV, undefined);
    // The java artifact's manifest carries output.run_id: OMI's origin tag.
    const summary = JSON.parse(await readFile(path.join(tmp.dir, "snap-java", "omaf-image.json"), "utf8"));
    assert.equal(summary.image, "churn-java:4f2a9c1e0b7d");
    assert.equal(summary.tagFrom, "run_id");
  });

  it("options: interfaces change the labels and ports; the repository, tag and OCI source labels are used as given", async () => {
    const r = image(sources.onnx, "omi-only", [
      "--interfaces",
      "modzy",
      "--repository",
      "ghcr.io/acme/iris",
      "--tag",
      "v7",
      "--source",
      "https://example.org/iris",
      "--revision",
      "abc123",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.image, "ghcr.io/acme/iris:v7");
    assert.equal(summary.labels["ml.openmodel.interfaces"], '["modzy"]');
    assert.equal(summary.labels["ml.openmodel.protocols"], '[["v2"]]');
    assert.equal(summary.labels["ml.openmodel.port"], "45000", "the ModzyModel gRPC port, where OMI's checker looks");
    assert.equal(summary.labels["org.opencontainers.image.source"], "https://example.org/iris");
    assert.equal(summary.labels["org.opencontainers.image.revision"], "abc123");
    assert.deepEqual(summary.exposed, [8082, 45000]);

    const v2only = JSON.parse(image(sources.onnx, "oip-only", ["--interfaces", "oip", "--json"]).stdout);
    assert.equal(v2only.labels["ml.openmodel.interfaces"], '["kfserving"]');
    assert.equal(v2only.labels["ml.openmodel.protocols"], '[["v2"]]');
  });

  it("refuses bad options, an invalid artifact and an existing folder without writing anything", async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [["--interfaces", "kserve-v1"], /OMAF_ERR_USAGE: the Open Model Interface needs an interface speaking v2/, 2],
      [["--interfaces", "grpc-web"], /OMAF_ERR_USAGE: --interfaces: unknown interface "grpc-web"/, 2],
      [["--repository", "Acme/Iris"], /OMAF_ERR_USAGE: --repository "Acme\/Iris" is not an image repository name/, 2],
      [["--tag", "a tag"], /OMAF_ERR_USAGE: --tag "a tag" is not an image tag/, 2],
      [["--min-replicas", "4", "--max-replicas", "2"], /OMAF_ERR_USAGE: --max-replicas 2 is below --min-replicas 4/, 2],
    ];
    for (const [args, message, code] of cases) {
      const r = image(sources.onnx, "refused", args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const bad = path.join(tmp.dir, "bad-model");
    await writeTree(bad, { "odahuflow.model.yaml": "binaries: {type: onnx}\nmodel: {name: bad}\n" });
    const invalid = image(bad, "refused");
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /OMAF_ERR_MANIFEST_INVALID/);
    assert.deepEqual(
      (await readdir(tmp.dir)).filter((n) => n.startsWith("refused")),
      [],
      "nothing written, no temp folder left",
    );

    assert.equal(image(sources.onnx, "exists", ["--omaf-from", "npm"]).code, 0);
    const again = image(sources.onnx, "exists", ["--omaf-from", "npm"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /OMAF_ERR_TARGET_EXISTS: .* exists and is not empty \(use --force to replace it\)/);
    assert.equal(image(sources.onnx, "exists", ["--omaf-from", "npm", "--force", "--tag", "forced"]).code, 0);
    assert.equal(JSON.parse(await readFile(path.join(tmp.dir, "exists", "omaf-image.json"), "utf8")).tag, "forced");
  });

  it("a context written inside the model folder is not packed into the next context's artifact", async () => {
    const folder = path.join(tmp.dir, "context-inside");
    await cp(path.join(ROOT, "examples/iris-onnx"), folder, { recursive: true });
    const digests: string[] = [];
    for (const args of [[], ["--force"]]) {
      const r = omaf(["image", folder, "-o", path.join(folder, "image"), "--omaf-from", "npm", ...args]);
      assert.equal(r.code, 0, r.stderr);
      digests.push(JSON.parse(await readFile(path.join(folder, "image", "omaf-image.json"), "utf8")).artifactDigest);
    }
    assert.equal(digests[1], digests[0], "the second run packs the same model, without the first run's context");
  });

  it("an Odahu gzip tar named .zip, without a provenance record: the digest is computed, and the build's unpack step agrees with it", async () => {
    const folder = path.join(tmp.dir, "odahu-model");
    await writeTree(folder, {
      "odahuflow.model.yaml": stringify({
        binaries: { type: "node", dependencies: "none" },
        model: { name: "odahu-tar", version: "1.0.0-1", workDir: "src", entrypoint: "model.mjs" },
        odahuflowVersion: "1.0",
        toolchain: { name: "odahu", version: "1.0.0" },
      }),
      "src/model.mjs": 'export function init() { return "matrix"; }\nexport function predict_on_matrix(rows) { return [rows, ["x"]]; }\n',
    });
    const tarball = path.join(tmp.dir, "odahu-tar.zip");
    const tar = spawnSync("tar", ["-czf", tarball, "-C", folder, "."]);
    assert.equal(tar.status, 0, String(tar.stderr));
    const r = image(tarball, "odahu-tar", ["--omaf-from", "npm", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const unpacked = omaf(["unpack", tarball, "-d", path.join(tmp.dir, "odahu-unpacked"), "--json"]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    assert.equal(summary.artifactDigest, JSON.parse(unpacked.stdout).artifactDigest);
    const root = path.join(tmp.dir, "odahu-root");
    const local = await runLocally(path.join(tmp.dir, "odahu-tar"), root, await readFile(path.join(tmp.dir, "odahu-tar", "Dockerfile"), "utf8"));
    assert.deepEqual(
      local.ran.map((s) => [s.args[0], s.result.code]),
      [["unpack", 0]],
      local.ran.map((s) => s.result.stderr).join("\n"),
    );
  });

  it("--omaf-from npm installs omaf at its own version from the registry and ships no tarball", async () => {
    const r = image(sources.onnx, "from-npm", ["--omaf-from", "npm", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const dockerfile = await readFile(path.join(tmp.dir, "from-npm", "Dockerfile"), "utf8");
    assert.match(dockerfile, new RegExp(`npm install --global --no-audit --no-fund omaf@${omafVersion.replace(/\./g, "\\.")} `));
    assert.ok(!JSON.parse(r.stdout).files.some((f: { path: string }) => f.path.startsWith("omaf/")));
    assert.ok(!(await readFile(path.join(tmp.dir, "from-npm", ".dockerignore"), "utf8")).includes("omaf/"));
  });
});

describe("omaf image: signed artifacts", { timeout: 300_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let unsigned: string;
  let signed: string;
  let release: WrittenKeyPair;
  let other: WrittenKeyPair;

  const image = (source: string, out: string, args: string[] = []) => omaf(["image", source, "-o", path.join(tmp.dir, out), ...args]);
  /** Nothing of a refused context is left, nor its temporary folder. */
  const nothingLeft = async (out: string) =>
    assert.deepEqual(
      (await readdir(tmp.dir)).filter((n) => n.startsWith(out)),
      [],
    );

  before(async () => {
    tmp = await tempDir("omaf-image-signed-");
    unsigned = path.join(tmp.dir, "iris-onnx.zip");
    const packed = omaf(["pack", path.join(ROOT, "examples/iris-onnx"), "-o", unsigned]);
    assert.equal(packed.code, 0, packed.stderr);
    // Keys from fixed seeds: Ed25519 signatures are deterministic, so the signed artifact and its context are too.
    release = await seededKeyPair(tmp.dir, "release", "omaf image snapshot: release key");
    other = await seededKeyPair(tmp.dir, "other", "omaf image snapshot: another key");
    signed = path.join(tmp.dir, "iris-onnx-signed.zip");
    await copyFile(unsigned, signed);
    await signArtifact(signed, { key: release.privateKeyFile });
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("--trusted-key --require-signature: verified now, the keys in the image, its ENV requiring them, the key id labelled (snapshot)", async () => {
    // The same key twice (the file and a copy of it) is one trusted key.
    const copy = path.join(tmp.dir, "release-copy.pub");
    await copyFile(release.publicKeyFile, copy);
    const r = image(signed, "required", ["--trusted-key", release.publicKeyFile, "--trusted-key", copy, "--require-signature", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const dir = path.join(tmp.dir, "required");
    for (const file of ["Dockerfile", ".dockerignore"]) {
      const actual = normalised(await readFile(path.join(dir, file), "utf8"));
      const snapshot = path.join(SNAPSHOTS, "onnx-signed", file);
      if (UPDATE) {
        await mkdir(path.dirname(snapshot), { recursive: true });
        await writeFile(snapshot, actual);
        continue;
      }
      const expected = await readFile(snapshot, "utf8").catch(() => "(no snapshot: run with OMAF_UPDATE_SNAPSHOTS=1)");
      assert.equal(actual, expected, `onnx-signed/${file} differs from its snapshot (OMAF_UPDATE_SNAPSHOTS=1 rewrites it)`);
    }

    const summary = JSON.parse(r.stdout);
    const keyFile = `keys/${release.keyId}.pub`;
    const inImage = `/opt/omaf/trusted-keys/${release.keyId}.pub`;
    assert.deepEqual(summary.signatures, {
      kept: true,
      required: true,
      trustedKeys: [{ keyId: release.keyId, file: keyFile, path: inImage }],
      signedBy: [release.keyId],
    });
    assert.equal((await readPublicKey(path.join(dir, keyFile))).keyId, release.keyId, "the context holds the public key itself");

    const dockerfile = await readFile(path.join(dir, "Dockerfile"), "utf8");
    const labels = propertiesOf(dockerfile, "LABEL");
    assert.equal(labels["omaf.artifact.signed-by"], release.keyId);
    assert.deepEqual(labels, summary.labels);
    const env = propertiesOf(dockerfile, "ENV");
    assert.equal(env.OMAF_REQUIRE_SIGNATURE, "1");
    assert.equal(env.OMAF_TRUSTED_KEYS, inImage);

    const steps = readSteps(dockerfile);
    const final = steps.filter((s) => s.stage === steps.at(-1)?.stage);
    assert.deepEqual(steps.find((s) => s.exec?.[1] === "unpack")?.exec?.slice(-2), ["--keep-signatures", "--no-progress"]);
    assert.deepEqual(
      final.filter((s) => s.keyword === "COPY").map((s) => [s.flags.from, s.text]),
      [
        ["artifact", "/mnt/models /mnt/models"],
        [undefined, `${keyFile} ${inImage}`],
      ],
    );
    assert.deepEqual(final.find((s) => s.exec?.[1] === "verify")?.exec, ["omaf", "verify", "/mnt/models", "--pub", inImage]);
    // .dockerignore sends exactly what the Dockerfile copies from the context.
    const copies = steps.filter((s) => s.keyword === "COPY" && !s.flags.from).map((s) => s.text.split(/\s+/)[0]);
    const ignore = (await readFile(path.join(dir, ".dockerignore"), "utf8")).split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(ignore, ["*", ...copies.map((c) => `!${c}`).sort()]);

    const text = image(signed, "required-text", ["--omaf-from", "npm", "--trusted-key", release.publicKeyFile, "--require-signature"]);
    assert.match(text.stdout, new RegExp(`^  signed   by ${release.keyId} \\(verified\\); the image serves nothing its keys did not sign$`, "m"));
  });

  it("a signed artifact without flags keeps its signatures in the image, unchecked until OMAF_TRUSTED_KEYS says so", async () => {
    const r = image(signed, "kept", ["--omaf-from", "npm", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual(summary.signatures, { kept: true, required: false, trustedKeys: [], signedBy: [] });
    const dockerfile = await readFile(path.join(tmp.dir, "kept", "Dockerfile"), "utf8");
    const steps = readSteps(dockerfile);
    assert.ok(steps.find((s) => s.exec?.[1] === "unpack")?.exec?.includes("--keep-signatures"));
    assert.equal(
      steps.find((s) => s.exec?.[1] === "verify"),
      undefined,
    );
    const env = propertiesOf(dockerfile, "ENV");
    assert.equal(env.OMAF_REQUIRE_SIGNATURE, undefined);
    assert.equal(env.OMAF_TRUSTED_KEYS, undefined);
    assert.equal(summary.labels["omaf.artifact.signed-by"], undefined);
    assert.ok(!summary.files.some((f: { path: string }) => f.path.startsWith("keys/")));
    assert.match(image(signed, "kept-text", ["--omaf-from", "npm"]).stdout, /^ {2}signed {3}not verified \(no --trusted-key\)/m);

    // An unsigned artifact's Dockerfile does not ask for signatures.
    const plain = image(unsigned, "plain", ["--omaf-from", "npm", "--json"]);
    assert.deepEqual(JSON.parse(plain.stdout).signatures, { kept: false, required: false, trustedKeys: [], signedBy: [] });
    const plainSteps = readSteps(await readFile(path.join(tmp.dir, "plain", "Dockerfile"), "utf8"));
    assert.ok(!plainSteps.find((s) => s.exec?.[1] === "unpack")?.exec?.includes("--keep-signatures"));
  });

  it("--trusted-key alone on an unsigned artifact: written, the image trusts the key but serves unsigned artifacts, as serve would", async () => {
    const r = image(unsigned, "trust-only", ["--omaf-from", "npm", "--trusted-key", release.publicKeyFile, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.signatures.kept, false);
    assert.equal(summary.signatures.required, false);
    assert.deepEqual(summary.signatures.signedBy, []);
    assert.equal(summary.labels["omaf.artifact.signed-by"], undefined);
    const dockerfile = await readFile(path.join(tmp.dir, "trust-only", "Dockerfile"), "utf8");
    const env = propertiesOf(dockerfile, "ENV");
    assert.equal(env.OMAF_TRUSTED_KEYS, `/opt/omaf/trusted-keys/${release.keyId}.pub`);
    assert.equal(env.OMAF_REQUIRE_SIGNATURE, undefined);
    assert.equal(
      readSteps(dockerfile).find((s) => s.exec?.[1] === "verify"),
      undefined,
      "nothing to verify at build time",
    );
  });

  it("refuses, with the signing codes and nothing written: unsigned but required, another key's, changed content, no key, a bad key", async () => {
    const changed = path.join(tmp.dir, "changed");
    await cp(path.join(ROOT, "examples/iris-onnx"), changed, { recursive: true });
    const manifest = path.join(changed, "odahuflow.model.yaml");
    await writeFile(manifest, (await readFile(manifest, "utf8")).replace(/\n?$/, "\n# changed after signing\n"));
    const repacked = path.join(tmp.dir, "changed.zip");
    assert.equal(omaf(["pack", changed, "-o", repacked]).code, 0);
    await putLastEntry(repacked, SIGNATURE_PATH, (await readEmbeddedSignatures(signed))!);

    const cases: Array<[string, string[], RegExp, number]> = [
      [unsigned, ["--trusted-key", release.publicKeyFile, "--require-signature"], /^error OMAF_ERR_SIGNATURE_MISSING: .*holds no signature/m, 1],
      [signed, ["--trusted-key", other.publicKeyFile], /^error OMAF_ERR_SIGNATURE_UNTRUSTED: /m, 1],
      [repacked, ["--trusted-key", release.publicKeyFile], /^error OMAF_ERR_SIGNATURE_INVALID: .*not this artifact's content/m, 1],
      [signed, ["--require-signature"], /^error OMAF_ERR_USAGE: --require-signature needs at least one --trusted-key/m, 2],
      [signed, ["--trusted-key", release.privateKeyFile], /^error OMAF_ERR_KEY_INVALID: .*is a private key/m, 2],
      [signed, ["--trusted-key", release.publicKeyFile, "--signature", path.join(tmp.dir, "nope.intoto.jsonl")], /^error OMAF_ERR_NOT_FOUND: /m, 2],
    ];
    for (const [source, args, message, code] of cases) {
      const r = image(source, "refused", ["--omaf-from", "npm", ...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      await nothingLeft("refused");
    }
  });

  it("--signature: a detached signature goes into the context and, through the unpack step, beside the image's files", async () => {
    const detached = path.join(tmp.dir, "detached.zip");
    await copyFile(unsigned, detached);
    await signArtifact(detached, { key: other.privateKeyFile, detached: true });
    const r = image(detached, "detached", ["--omaf-from", "npm", "--signature", `${detached}.intoto.jsonl`, "--trusted-key", other.publicKeyFile, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const context = path.join(tmp.dir, "detached");
    assert.equal(summary.signatures.detachedFile, `${summary.artifact}.intoto.jsonl`);
    assert.deepEqual(summary.signatures.signedBy, [other.keyId]);
    assert.deepEqual(await readFile(path.join(context, summary.signatures.detachedFile)), await readFile(`${detached}.intoto.jsonl`));
    const dockerfile = await readFile(path.join(context, "Dockerfile"), "utf8");
    const inBuild = `/tmp/artifact/${path.basename(summary.signatures.detachedFile)}`;
    assert.ok(readSteps(dockerfile).some((s) => s.keyword === "COPY" && s.text === `${summary.signatures.detachedFile} ${inBuild}`));
    assert.deepEqual(
      readSteps(dockerfile)
        .find((s) => s.exec?.[1] === "unpack")
        ?.exec?.slice(-3),
      ["--signature", inBuild, "--no-progress"],
    );
    assert.match(await readFile(path.join(context, ".dockerignore"), "utf8"), new RegExp(`^!${summary.signatures.detachedFile.replace(/\./g, "\\.")}$`, "m"));

    const root = path.join(tmp.dir, "detached-root");
    const local = await runLocally(context, root, dockerfile);
    assert.deepEqual(
      local.ran.map((s) => [s.args[0], s.result.code]),
      [
        ["unpack", 0],
        ["verify", 0],
      ],
      local.ran.map((s) => s.result.stderr).join("\n"),
    );
    assert.deepEqual(await readFile(path.join(root, "mnt/models", SIGNATURE_PATH)), await readFile(`${detached}.intoto.jsonl`));
  });

  it("a signed model folder (unpacked with its signatures) is packed with them: the context's artifact carries them", async () => {
    const folder = path.join(tmp.dir, "signed-folder");
    await unpackArchive(signed, folder, { keepSignatures: true });
    const r = image(folder, "from-folder", ["--omaf-from", "npm", "--trusted-key", release.publicKeyFile, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual(summary.signatures.signedBy, [release.keyId]);
    const artifact = path.join(tmp.dir, "from-folder", summary.artifact);
    assert.deepEqual(await readEmbeddedSignatures(artifact), await readEmbeddedSignatures(signed));
    assert.equal((await verifyArtifact(artifact, { keys: [release.publicKeyFile] })).artifactDigest, summary.artifactDigest);
  });
});
