// writeImageContext: what `omaf image` writes — a complete container build context for one artifact. The same
// artifact and options always give the same bytes (no timestamps; the artifact and omaf's tarball are reproducible),
// and the folder appears whole or not at all: it is written beside its final place and renamed at the end.
import { randomBytes } from "node:crypto";
import { copyFile, lstat, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { hashFile } from "../archive/hash.js";
import { digestArchiveFiles } from "../archive/entry-digests.js";
import { contentDigest, SIGNATURE_PATH } from "../archive/provenance.js";
import { isOccupied, moveIntoPlace } from "../archive/unpack.js";
import { putLastEntry } from "../archive/zip-append.js";
import { invalidError, manifestOf, openArtifact } from "../artifact/open.js";
import { pack } from "../artifact/pack.js";
import { OmafError, toOmafError } from "../errors.js";
import { readEmbeddedSignatures } from "../signing/verify.js";
import { omafVersion } from "../version.js";
import { exposed, renderDockerfile, renderDockerignore } from "./dockerfile.js";
import { artifactFileOf, type ImagePlan, type ImagePlanOptions, kubernetesName, planImage } from "./image-plan.js";
import { type ImageSigningOptions, readTrustedKeys, writeSignatures } from "./image-signing.js";
import { kubernetesManifests } from "./kubernetes.js";
import { packOmaf } from "./omaf-package.js";

export interface ImageContextOptions extends ImagePlanOptions, ImageSigningOptions {
  /** Folder to write; default `<model-name>-image` in the current folder. */
  output?: string;
  /** Replace an existing output folder. */
  force?: boolean;
}

export interface ContextFile {
  /** Posix path in the context. */
  path: string;
  size: number;
  sha256: string;
}

export interface ImageContext {
  /** The context folder. */
  dir: string;
  plan: ImagePlan;
  /** Every file written except the summary, sorted by path. */
  files: ContextFile[];
}

/** The summary file in the context: the plan and the files, for scripts and for `--build`. */
export const SUMMARY_FILE = "omaf-image.json";

/** Stands in for the artifact's digest when the options are checked before it is known. */
const PENDING_DIGEST = `sha256:${"0".repeat(64)}`;

/**
 * Writes the build context of `source` (an artifact or a model folder, which is packed first, keeping the folder's
 * signatures): Dockerfile, .dockerignore, the artifact, its detached signatures and the trusted keys when given,
 * omaf's tarball (unless omaf comes from the npm registry), Kubernetes and KServe manifests under k8s/, and
 * omaf-image.json. With trusted keys the artifact's signature is verified first (the signing codes otherwise).
 */
export async function writeImageContext(source: string, opts: ImageContextOptions = {}): Promise<ImageContext> {
  const artifact = await openArtifact(source);
  if (!artifact.valid) throw invalidError(artifact);
  const manifest = manifestOf(artifact);
  const dir = path.resolve(opts.output ?? `${kubernetesName(manifest.model.name)}-image`);
  if (!opts.force && (await isOccupied(dir))) {
    throw new OmafError("OMAF_ERR_TARGET_EXISTS", `${dir} exists and is not empty (use --force to replace it)`, { path: dir });
  }
  const keys = await readTrustedKeys(opts);
  // Planning is cheap and refuses what the options get wrong: it runs once before the artifact is packed or copied
  // (which can take minutes), and again with the digest and the checked signatures.
  planImage(manifest, PENDING_DIGEST, omafVersion, opts);
  const staging = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    const artifactFile = artifactFileOf(manifest);
    const copied = path.join(staging, artifactFile);
    await mkdir(path.dirname(copied), { recursive: true });
    let digest: string;
    if (artifact.kind === "folder") {
      // A context written inside the model folder (e.g. `omaf image .` run there again) is not part of the model.
      digest = (await pack(source, { output: copied, exclude: [dir, staging] })).artifactDigest;
      // Packing leaves .omaf/ out; a signed folder's signatures still bind the same content, so they go into the zip.
      const signatures = opts.signature === undefined ? await readEmbeddedSignatures(source) : undefined;
      if (signatures) await putLastEntry(copied, SIGNATURE_PATH, signatures);
    } else {
      await copyFile(source, copied);
      // An archive without a provenance record (e.g. an Odahu artifact): its files are read, checked and hashed as
      // unpacking would, without writing them anywhere.
      digest = artifact.provenance?.artifactDigest ?? contentDigest(await digestArchiveFiles(copied));
    }
    const signatures = await writeSignatures(staging, artifactFile, keys, opts);
    const plan = planImage(manifest, digest, omafVersion, opts, signatures);
    if (plan.omaf.tarball) {
      await mkdir(path.join(staging, path.dirname(plan.omaf.tarball)), { recursive: true });
      await packOmaf(path.join(staging, plan.omaf.tarball));
    }
    const texts: Record<string, string> = {
      Dockerfile: renderDockerfile(plan),
      ".dockerignore": renderDockerignore(plan),
      ...kubernetesManifests(plan),
    };
    for (const [rel, text] of Object.entries(texts)) {
      await mkdir(path.join(staging, path.dirname(rel)), { recursive: true });
      await writeFile(path.join(staging, rel), text);
    }
    const files = await listFiles(staging);
    await writeFile(path.join(staging, SUMMARY_FILE), `${JSON.stringify(summaryOf(plan, files), null, 2)}\n`);

    await moveIntoPlace(staging, dir, opts.force ?? false, dir);
    return { dir, plan, files };
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw toOmafError(err, "OMAF_ERR_IO");
  }
}

/** The summary written as omaf-image.json. */
export function summaryOf(plan: ImagePlan, files: ContextFile[]) {
  return {
    image: plan.image.reference,
    repository: plan.image.repository,
    tag: plan.image.tag,
    tagFrom: plan.image.tagFrom,
    model: plan.model,
    artifactDigest: plan.artifactDigest,
    artifact: plan.artifactFile,
    omaf: plan.omaf,
    baseImage: plan.baseImage,
    interfaces: plan.interfaces,
    ports: plan.ports,
    exposed: exposed(plan),
    labels: plan.labels,
    replicas: plan.replicas,
    ...(plan.batching ? { batching: plan.batching } : {}),
    kserve: plan.kserve,
    signatures: plan.signatures,
    files,
  };
}

async function listFiles(root: string): Promise<ContextFile[]> {
  const out: ContextFile[] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else {
        const abs = path.join(root, child);
        out.push({ path: child, size: (await lstat(abs)).size, sha256: await hashFile(abs) });
      }
    }
  };
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
