// `omaf image <artifact>`: write a container build context (Dockerfile, the artifact, omaf, KServe and Kubernetes
// manifests) for the artifact (deploy/context.ts), and with --build build it with a container engine (deploy/engine.ts).
import { Option, type Command } from "commander";
import { action, integer, printJson, repeatable, type CommonOptions } from "../output.js";

interface ImageFlags extends CommonOptions {
  output?: string;
  force?: boolean;
  repository?: string;
  tag?: string;
  interfaces?: string;
  omafFrom: "tarball" | "npm";
  baseImage?: string;
  minReplicas?: number;
  maxReplicas?: number;
  maxBatchSize?: number;
  maxBatchTime?: number;
  batcher: "omaf" | "kserve";
  kserveMode: "raw" | "serverless";
  storageUri?: string;
  source?: string;
  revision?: string;
  trustedKey: string[];
  requireSignature?: boolean;
  signature?: string;
  build?: boolean;
  engine?: "docker" | "podman" | "buildah";
}

export function registerImage(program: Command): void {
  program
    .command("image")
    .summary("Write a container image build context (OMI labels) and KServe / Kubernetes manifests for an artifact")
    .description(
      "Write a complete container build context for an artifact: a Dockerfile (Node.js LTS slim base, omaf at its own version, " +
        "the artifact unpacked and checked at build time into /mnt/models, a python artifact's packages in a venv, a JRE for java, " +
        "a non-root user, the ports, a HEALTHCHECK on /readyz, the OMI and OCI labels), a .dockerignore, the artifact, " +
        "k8s/kserve/ (a ServingRuntime and two InferenceServices: the model in the image, or at a storageUri) and k8s/deployment.yaml " +
        "(Deployment, Service, HorizontalPodAutoscaler), and omaf-image.json (the plan and every file's SHA-256). The same input gives " +
        "the same bytes. The suggested tag is OMI's origin tag: the manifest's output.run_id, else the model version. " +
        "The artifact's signatures are kept in the image (/mnt/models/.omaf/signature.intoto.jsonl); with --trusted-key they " +
        "are verified now, the keys go into the image and its ENV makes the server check them at every start.",
    )
    .argument("<artifact>", "artifact .zip (or Odahu gzip tar) or model folder (packed first)")
    .option("-o, --output <dir>", "context folder (default: <model-name>-image)")
    .option("-f, --force", "replace an existing context folder")
    .option("--repository <name>", "image repository, e.g. ghcr.io/acme/iris (default: the model name)")
    .option("--tag <tag>", "image tag (default: the manifest's output.run_id, else the model version)")
    .option("--interfaces <list>", "protocols the image serves by default, as omaf serve --interfaces (default: omi,oip-rest,oip-grpc,kserve-v1)")
    .addOption(
      new Option(
        "--omaf-from <source>",
        "how omaf gets into the image: tarball = npm pack of this omaf, in the context; npm = omaf@<version> from the registry",
      )
        .choices(["tarball", "npm"])
        .default("tarball"),
    )
    .option("--base-image <ref>", "base image (default: node:22-bookworm-slim)")
    .option("--min-replicas <n>", "fewest replicas (default 1)", integer("--min-replicas", 0))
    .option("--max-replicas <n>", "most replicas (default 3)", integer("--max-replicas", 1))
    .option(
      "--max-batch-size <n>",
      "batch requests into model calls of at most n rows (omaf's adaptive batching, or KServe's batcher)",
      integer("--max-batch-size", 2),
    )
    .option("--max-batch-time <ms>", "longest a batch waits for more requests", integer("--max-batch-time", 0))
    .addOption(
      new Option("--batcher <which>", "who batches: omaf (OMAF_MAX_BATCH_SIZE) or kserve (the InferenceService's batcher)")
        .choices(["omaf", "kserve"])
        .default("omaf"),
    )
    .addOption(
      new Option("--kserve-mode <mode>", "KServe deployment mode: raw (HTTP and gRPC ports, HPA) or serverless (Knative: one port, HTTP)")
        .choices(["raw", "serverless"])
        .default("raw"),
    )
    .option("--storage-uri <uri>", "where the artifact is uploaded, for k8s/kserve/inferenceservice-storage.yaml (default: s3://models/<name>/<file>)")
    .option("--source <url>", "org.opencontainers.image.source label")
    .option("--revision <rev>", "org.opencontainers.image.revision label")
    .option(
      "--trusted-key <public.pem>",
      "public key the image trusts (repeatable): the artifact's signature must verify with one now, and the server checks it at every start (OMAF_TRUSTED_KEYS)",
      repeatable,
      [],
    )
    .option("--require-signature", "refuse an artifact no trusted key signed, now and in the container (OMAF_REQUIRE_SIGNATURE=1)")
    .option("--signature <file>", "a detached .intoto.jsonl to keep in the image instead of the artifact's own signatures")
    .option("--build", "build the image with docker, podman or buildah when one is usable")
    .addOption(new Option("--engine <engine>", "the container engine for --build (default: the first usable)").choices(["docker", "podman", "buildah"]))
    .option("--json", "print the summary (omaf-image.json) as JSON")
    .action(action(image));
}

async function image(source: string, opts: ImageFlags): Promise<number> {
  const { writeImageContext, summaryOf } = await import("../../deploy/context.js");
  const interfaces = opts.interfaces === undefined ? undefined : await parseInterfaces(opts.interfaces);
  const context = await writeImageContext(source, {
    output: opts.output,
    force: opts.force,
    repository: opts.repository,
    tag: opts.tag,
    interfaces,
    omafFrom: opts.omafFrom,
    baseImage: opts.baseImage,
    minReplicas: opts.minReplicas,
    maxReplicas: opts.maxReplicas,
    maxBatchSize: opts.maxBatchSize,
    maxBatchTimeMs: opts.maxBatchTime,
    batcher: opts.batcher,
    kserveMode: opts.kserveMode,
    storageUri: opts.storageUri,
    source: opts.source,
    revision: opts.revision,
    trustedKeys: opts.trustedKey,
    requireSignature: opts.requireSignature,
    signature: opts.signature,
  });
  const { plan, dir } = context;
  const summary = summaryOf(plan, context.files);
  if (!opts.json) {
    const tagFrom = { option: "--tag", run_id: "the manifest's output.run_id (OMI origin tag)", version: "the model version" }[plan.image.tagFrom];
    process.stdout.write(
      `${dir}\n` +
        `  image    ${plan.image.reference} (tag from ${tagFrom})\n` +
        `  model    ${plan.model.name} ${plan.model.version} (${plan.model.type}), ${plan.artifactDigest}\n` +
        `  omaf     ${plan.omaf.version} ${plan.omaf.from === "tarball" ? "from its packed tarball" : "from the npm registry"}\n` +
        `  serves   ${plan.interfaces.join(",")} (ports ${summary.exposed.join(", ")})\n` +
        `  signed   ${signatureLine(plan.signatures)}\n` +
        `  files    ${[...context.files.map((f) => f.path), "omaf-image.json"].join(", ")}\n`,
    );
  }
  if (!opts.build) {
    if (opts.json) printJson(summary);
    else process.stdout.write(`  build    docker build -t ${plan.image.reference} ${dir}\n`);
    return 0;
  }

  const { findEngine, noEngineError, buildImage } = await import("../../deploy/engine.js");
  const { toOmafError } = await import("../../errors.js");
  const found = await findEngine(opts.engine);
  try {
    if (!found.engine) throw noEngineError(found.checks, dir);
    process.stderr.write(`omaf: building ${plan.image.reference} with ${found.engine}\n`);
    // With --json, stdout carries only the summary: the engine's output goes to stderr.
    await buildImage(found.engine, dir, plan.image.reference, (chunk) => process.stderr.write(chunk));
    if (opts.json) printJson({ ...summary, build: { engine: found.engine, image: plan.image.reference } });
    else process.stdout.write(`  built    ${plan.image.reference} with ${found.engine}\n`);
    return 0;
  } catch (err) {
    // The context is written either way: the summary is printed with the reason the build did not happen.
    const e = toOmafError(err);
    if (opts.json) printJson({ ...summary, build: { engine: found.engine ?? null, checks: found.checks, error: e.toJSON() } });
    else process.stderr.write(`error ${e.code}: ${e.message}\n`);
    return e.exitCode;
  }
}

/** What the image does with the artifact's signatures, in a line. */
function signatureLine(s: import("../../deploy/image-plan.js").ImageSignatures): string {
  const keys = s.trustedKeys.length;
  if (s.signedBy.length > 0) {
    return `by ${s.signedBy.join(", ")} (verified); the image ${s.required ? "serves nothing its keys did not sign" : "checks the signature at every start"}`;
  }
  if (s.kept) return "not verified (no --trusted-key); the signatures are kept in the image, OMAF_TRUSTED_KEYS turns checking on";
  return keys > 0 ? "no: unsigned artifacts are served (--require-signature refuses them)" : "no";
}

/** The --interfaces list, read as `omaf serve` reads it (names and aliases). */
async function parseInterfaces(raw: string) {
  const { SETTINGS } = await import("../../settings.js");
  const { OmafError } = await import("../../errors.js");
  const def = SETTINGS.find((d) => d.key === "interfaces");
  try {
    return def?.kind.parse(raw) as import("../../settings.js").InterfaceName[];
  } catch (err) {
    throw new OmafError("OMAF_ERR_USAGE", `--interfaces: ${String(err)}`);
  }
}
