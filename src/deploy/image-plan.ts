// The plan of one container image: names, ports, labels and what goes into it, decided once from the artifact's
// manifest and the options, so that the Dockerfile, the Kubernetes manifests and the summary all say the same thing.
// Pure: no file is read or written here.
import { OmafError } from "../errors.js";
import type { OmafManifest } from "../manifest/manifest.types.js";
import { INTERFACES, type InterfaceName, SETTINGS, type SettingKey } from "../settings.js";

/** The interfaces an image serves unless told otherwise: every one OMI's labels can name. */
export const DEFAULT_IMAGE_INTERFACES: readonly InterfaceName[] = ["omi", "oip-rest", "oip-grpc", "kserve-v1"];
/** Node.js LTS on Debian bookworm: Debian's python3 and openjdk-17 packages install on it. Pinned by major. */
export const DEFAULT_BASE_IMAGE = "node:22-bookworm-slim";
/** The health listener's port in images (--health-port): probes answered from their own thread, whatever the interfaces. */
export const IMAGE_HEALTH_PORT = 8082;
/** Where the image holds the unpacked artifact: KServe's model folder, which a storageUri mounts over. */
export const MODEL_DIR = "/mnt/models";
/** The venv of a python artifact, a link made by `omaf env create --link` at build time. */
export const VENV_LINK = "/opt/omaf/venv";
/** The non-root user the server runs as: the base image's `node` user, numeric so `runAsNonRoot` can check it. */
export const IMAGE_USER = "1000:1000";
/** The cache folder at run time: under /tmp, the one writable mount a read-only root file system needs. */
export const IMAGE_CACHE_DIR = "/tmp/omaf";
/** Where the image keeps the public keys it trusts, one `<key id>.pub` each (OMAF_TRUSTED_KEYS). */
export const IMAGE_KEYS_DIR = "/opt/omaf/trusted-keys";
/** The label naming the trusted keys that verified the artifact's signature when the context was written. */
export const SIGNED_BY_LABEL = "omaf.artifact.signed-by";

export type OmafSource = "tarball" | "npm";
export type KserveMode = "raw" | "serverless";

export interface ImagePlanOptions {
  /** Image repository, e.g. `ghcr.io/acme/iris`; default the model name in lower case. */
  repository?: string;
  /** Image tag; default the OMI origin tag (the manifest's `output.run_id`, else the model version). */
  tag?: string;
  interfaces?: readonly InterfaceName[];
  /** How omaf gets into the image: its packed tarball in the build context (default) or the npm registry. */
  omafFrom?: OmafSource;
  baseImage?: string;
  minReplicas?: number;
  maxReplicas?: number;
  /** omaf's adaptive batching (OMAF_MAX_BATCH_SIZE), or KServe's batcher with --batcher kserve. */
  maxBatchSize?: number;
  maxBatchTimeMs?: number;
  batcher?: "omaf" | "kserve";
  kserveMode?: KserveMode;
  /** Where the artifact is uploaded, for the storageUri InferenceService. */
  storageUri?: string;
  /** OCI `org.opencontainers.image.source` / `.revision`. */
  source?: string;
  revision?: string;
}

/** What the image does with the artifact's signatures (omaf-image.json's `signatures`). */
export interface ImageSignatures {
  /** The artifact carries signatures (its own or a detached file's): the unpack step keeps them beside its files. */
  kept: boolean;
  /** The detached signatures file in the context, when one was given. */
  detachedFile?: string;
  /** The container refuses to serve what no trusted key signed (OMAF_REQUIRE_SIGNATURE). */
  required: boolean;
  /** The keys the container trusts: key id, file in the context, path in the image (OMAF_TRUSTED_KEYS). */
  trustedKeys: Array<{ keyId: string; file: string; path: string }>;
  /** Key ids of the trusted keys that verified a signature over the artifact's content when the context was written. */
  signedBy: string[];
}

/** An unsigned artifact, no keys given. */
export const UNSIGNED: ImageSignatures = { kept: false, required: false, trustedKeys: [], signedBy: [] };

export interface ImagePlan {
  model: { name: string; version: string; type: string };
  artifactDigest: string;
  /** The artifact's path in the build context. */
  artifactFile: string;
  image: { repository: string; tag: string; reference: string; tagFrom: "option" | "run_id" | "version" };
  interfaces: InterfaceName[];
  /** Ports of the listeners the interfaces open, and the health port. */
  ports: { http?: number; oipGrpc?: number; omi?: number; odahu?: number; health: number };
  omaf: { version: string; from: OmafSource; tarball?: string };
  baseImage: string;
  /** Debian packages the model's environment needs. */
  aptPackages: string[];
  /** A python artifact that declares its packages: `omaf env create` builds them into a venv at build time. */
  pythonEnv: boolean;
  labels: Record<string, string>;
  replicas: { min: number; max: number };
  batching?: { maxBatchSize: number; maxBatchTimeMs?: number; via: "omaf" | "kserve" };
  kserve: { mode: KserveMode; storageUri: string; name: string; runtime: string; format: { name: string; version: string } };
  signatures: ImageSignatures;
}

const defaultOf = (key: SettingKey): number => SETTINGS.find((d) => d.key === key)?.default as number;

/** The port settings' defaults, from the settings table (what `omaf serve` listens on unless told otherwise). */
export const DEFAULT_PORTS = {
  http: defaultOf("httpPort"),
  oipGrpc: defaultOf("oipGrpcPort"),
  omi: defaultOf("omiPort"),
  odahu: defaultOf("odahuPort"),
};

/** The artifact's path in the build context. */
export function artifactFileOf(manifest: OmafManifest): string {
  return `artifact/${kubernetesName(manifest.model.name)}-${tagSafe(manifest.model.version)}.zip`;
}

/**
 * Decides the image of the artifact with `manifest` and content digest `artifactDigest`, whose signatures were
 * checked as `signatures` says.
 */
export function planImage(
  manifest: OmafManifest,
  artifactDigest: string,
  omafVersion: string,
  opts: ImagePlanOptions = {},
  signatures: ImageSignatures = UNSIGNED,
): ImagePlan {
  const { name, version } = manifest.model;
  const type = manifest.binaries.type;
  const interfaces = INTERFACES.filter((i) => (opts.interfaces ?? DEFAULT_IMAGE_INTERFACES).includes(i));
  const has = (...names: InterfaceName[]) => names.some((n) => interfaces.includes(n));

  const ports: ImagePlan["ports"] = { health: IMAGE_HEALTH_PORT };
  if (has("oip-rest", "kserve-v1")) ports.http = DEFAULT_PORTS.http;
  if (has("oip-grpc")) ports.oipGrpc = DEFAULT_PORTS.oipGrpc;
  if (has("omi")) ports.omi = DEFAULT_PORTS.omi;
  if (has("odahu")) ports.odahu = DEFAULT_PORTS.odahu;

  const image = imageName(manifest, opts);
  const omi = omiLabels(interfaces, ports);
  const safeVersion = tagSafe(version);
  const labels: Record<string, string> = {
    ...omi,
    "ml.openml.model_name": name,
    "org.opencontainers.image.title": name,
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.description": `${name} ${version} (${type} model artifact ${artifactDigest}) served by omaf`,
    "org.opencontainers.image.base.name": opts.baseImage ?? DEFAULT_BASE_IMAGE,
    ...(opts.source ? { "org.opencontainers.image.source": opts.source } : {}),
    ...(opts.revision ? { "org.opencontainers.image.revision": opts.revision } : {}),
    "omaf.artifact.digest": artifactDigest,
    ...(signatures.signedBy.length > 0 ? { [SIGNED_BY_LABEL]: signatures.signedBy.join(",") } : {}),
    "omaf.model.type": type,
    "omaf.version": omafVersion,
  };

  const min = opts.minReplicas ?? 1;
  const max = opts.maxReplicas ?? Math.max(3, min);
  if (max < min) throw new OmafError("OMAF_ERR_USAGE", `--max-replicas ${max} is below --min-replicas ${min}`);
  const k8sName = kubernetesName(name);
  const from = opts.omafFrom ?? "tarball";
  const conda = manifest.binaries.conda_path;
  return {
    model: { name, version, type },
    artifactDigest,
    artifactFile: artifactFileOf(manifest),
    image,
    interfaces,
    ports,
    omaf: { version: omafVersion, from, ...(from === "tarball" ? { tarball: "omaf/omaf.tgz" } : {}) },
    baseImage: opts.baseImage ?? DEFAULT_BASE_IMAGE,
    aptPackages: type === "python" ? ["python3", "python3-venv"] : type === "java" ? ["openjdk-17-jre-headless"] : [],
    pythonEnv: type === "python" && (Boolean(conda) || manifest.binaries.dependencies === "pip"),
    labels,
    replicas: { min, max },
    ...(opts.maxBatchSize !== undefined && opts.maxBatchSize > 1
      ? {
          batching: {
            maxBatchSize: opts.maxBatchSize,
            ...(opts.maxBatchTimeMs !== undefined ? { maxBatchTimeMs: opts.maxBatchTimeMs } : {}),
            via: opts.batcher ?? "omaf",
          },
        }
      : {}),
    kserve: {
      mode: opts.kserveMode ?? "raw",
      storageUri: opts.storageUri ?? `s3://models/${k8sName}/${k8sName}-${safeVersion}.zip`,
      name: k8sName,
      runtime: kubernetesName(`omaf-${k8sName}`),
      format: { name: "omaf", version: "1" },
    },
    signatures,
  };
}

/**
 * OMI's labels: each interface with the protocols it speaks there (`kfserving`: KServe v1 REST and Open Inference v2;
 * `modzy`: its v2, the ModzyModel gRPC service), and the port. OMI requires a v2 somewhere.
 */
function omiLabels(interfaces: InterfaceName[], ports: ImagePlan["ports"]): Record<string, string> {
  const named: Array<[string, string[]]> = [];
  const kfserving = [interfaces.includes("kserve-v1") ? "v1" : "", interfaces.includes("oip-rest") || interfaces.includes("oip-grpc") ? "v2" : ""].filter(
    Boolean,
  );
  if (kfserving.length > 0) named.push(["kfserving", kfserving]);
  if (interfaces.includes("omi")) named.push(["modzy", ["v2"]]);
  if (!named.some(([, protocols]) => protocols.includes("v2"))) {
    throw new OmafError(
      "OMAF_ERR_USAGE",
      `the Open Model Interface needs an interface speaking v2 (oip-rest, oip-grpc or omi); got ${interfaces.join(",") || "none"}`,
      {
        interfaces,
      },
    );
  }
  const list = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(", ")}]`;
  // The port a client of the first interface connects to: the HTTP port when it is served, else the gRPC one.
  const port = ports.http ?? (named[0][0] === "modzy" ? ports.omi : ports.oipGrpc) ?? ports.omi;
  return {
    "ml.openmodel.interfaces": list(named.map(([n]) => n)),
    "ml.openmodel.protocols": `[${named.map(([, p]) => list(p)).join(", ")}]`,
    "ml.openmodel.port": String(port),
  };
}

const REPOSITORY = /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The image reference: OMI's origin tag is the upstream run id when the manifest carries one, else the version. */
function imageName(manifest: OmafManifest, opts: ImagePlanOptions): ImagePlan["image"] {
  const repository = opts.repository ?? manifest.model.name.toLowerCase();
  if (!REPOSITORY.test(repository)) {
    throw new OmafError("OMAF_ERR_USAGE", `--repository ${JSON.stringify(repository)} is not an image repository name (lower case, e.g. ghcr.io/acme/iris)`);
  }
  if (opts.tag !== undefined && !TAG.test(opts.tag)) {
    throw new OmafError("OMAF_ERR_USAGE", `--tag ${JSON.stringify(opts.tag)} is not an image tag (letters, digits, _ . -; at most 128)`);
  }
  const runId = typeof manifest.output?.run_id === "string" && manifest.output.run_id.trim() !== "" ? manifest.output.run_id : undefined;
  const tagFrom = opts.tag !== undefined ? "option" : runId ? "run_id" : "version";
  const tag = opts.tag ?? tagSafe(runId ?? manifest.model.version);
  return { repository, tag, reference: `${repository}:${tag}`, tagFrom };
}

/** Text as an image tag: characters a tag cannot hold become `-`, at most 128 characters. */
export function tagSafe(text: string): string {
  const t = text
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
  return t === "" ? "latest" : t;
}

/** A Kubernetes object name (RFC 1035 label, as KServe requires of InferenceService names) made from `text`. */
export function kubernetesName(text: string): string {
  const t = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  const named = /^[a-z]/.test(t) ? t : `m-${t}`;
  return named.slice(0, 63).replace(/-+$/, "");
}
