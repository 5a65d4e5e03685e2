// The Dockerfile of an image plan. Three stages: `omaf` (the base image, the model environment's Debian packages and
// omaf itself), `artifact` (the artifact unpacked and checked against its digest by `omaf unpack`, its signatures
// kept, so the final image holds the unpacked files and not the ZIP as well) and the final image (the files at
// /mnt/models, the trusted keys and the signature checked with them, a python artifact's venv, a non-root user, the
// ports, the OMI and OCI labels and a health check). The omaf steps use the exec form: their arguments are exact, and
// test/deploy runs the same arguments outside a container.
import { IMAGE_CACHE_DIR, IMAGE_USER, type ImagePlan, MODEL_DIR, VENV_LINK } from "./image-plan.js";

/** Where the build puts the artifact in the `artifact` stage. */
const ARTIFACT_IN_BUILD = "/tmp/artifact";
/** Where the build's own cache goes (the venv under envs/); the server's cache at run time is IMAGE_CACHE_DIR. */
const BUILD_CACHE_DIR = "/opt/omaf/cache";

/**
 * The HEALTHCHECK's script: the health listener's /readyz, ready only once the model is loaded. Slim images have no
 * curl; node's fetch is there. The port comes from the environment, so a changed OMAF_HEALTH_PORT is followed.
 */
export const HEALTHCHECK_SCRIPT =
  'fetch("http://127.0.0.1:" + (process.env.OMAF_HEALTH_PORT || 8082) + "/readyz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))';

/** The Dockerfile's text. */
export function renderDockerfile(plan: ImagePlan): string {
  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);
  const artifactName = plan.artifactFile.slice(plan.artifactFile.lastIndexOf("/") + 1);

  add(
    `# ${plan.model.name} ${plan.model.version} (${plan.model.type}), artifact ${plan.artifactDigest}`,
    `# Written by omaf ${plan.omaf.version} (omaf image). Build: docker build -t ${plan.image.reference} .`,
    "",
    `FROM ${plan.baseImage} AS omaf`,
  );
  if (plan.aptPackages.length > 0) {
    const java = plan.model.type === "java";
    add(
      `# The model's environment from Debian${java ? ": the slim image has no man pages folder, which the JRE's install expects" : ""}.`,
      ...(java ? ["RUN mkdir -p /usr/share/man/man1 \\", " && apt-get update \\"] : ["RUN apt-get update \\"]),
      ` && apt-get install -y --no-install-recommends ${plan.aptPackages.join(" ")} \\`,
      " && rm -rf /var/lib/apt/lists/*",
    );
  }
  // onnxruntime-node's install script downloads CUDA libraries unless told to skip; its CPU binaries are in the package.
  const install = "ONNXRUNTIME_NODE_INSTALL=skip npm install --global --no-audit --no-fund";
  if (plan.omaf.from === "tarball") {
    add(
      `# omaf ${plan.omaf.version} exactly as it wrote this context: its npm package, packed (npm pack) into the context.`,
      `COPY ${plan.omaf.tarball} /tmp/omaf.tgz`,
      `RUN ${install} /tmp/omaf.tgz \\`,
      " && rm /tmp/omaf.tgz \\",
      " && npm cache clean --force",
    );
  } else {
    add(`# omaf ${plan.omaf.version} from the npm registry.`, `RUN ${install} omaf@${plan.omaf.version} \\`, " && npm cache clean --force");
  }

  const signatures = plan.signatures;
  const { detachedFile } = signatures;
  const detached = detachedFile ? `${ARTIFACT_IN_BUILD}/${detachedFile.slice(detachedFile.lastIndexOf("/") + 1)}` : undefined;
  // The signatures go where serve reads a folder's: kept whether or not this image checks them.
  const keep = detached ? ["--signature", detached] : signatures.kept ? ["--keep-signatures"] : [];
  add(
    "",
    "# The artifact, unpacked safely and checked: every file against its provenance record, all of them against the digest.",
    ...(signatures.kept ? ["# Its signatures are kept in the folder, as .omaf/signature.intoto.jsonl."] : []),
    "FROM omaf AS artifact",
    `COPY ${plan.artifactFile} ${ARTIFACT_IN_BUILD}/${artifactName}`,
    ...(detached ? [`COPY ${detachedFile} ${detached}`] : []),
    `RUN ${exec("omaf", "unpack", `${ARTIFACT_IN_BUILD}/${artifactName}`, "--dir", MODEL_DIR, "--expect-digest", plan.artifactDigest, ...keep, "--no-progress")}`,
    "",
    "FROM omaf",
    `COPY --from=artifact ${MODEL_DIR} ${MODEL_DIR}`,
  );
  if (signatures.trustedKeys.length > 0) {
    add(
      `# The public keys the server trusts${signatures.required ? " (it serves nothing they did not sign)" : ""}.`,
      ...signatures.trustedKeys.map((k) => `COPY ${k.file} ${k.path}`),
    );
  }
  if (signatures.signedBy.length > 0) {
    add(
      "# The build fails unless a trusted key signed these files, as the server checks at every start.",
      `RUN ${exec("omaf", "verify", MODEL_DIR, ...signatures.trustedKeys.flatMap((k) => ["--pub", k.path]))}`,
    );
  }
  if (plan.pythonEnv) {
    add(
      "# The Python packages the artifact declares, in a venv made at build time; serve --env uses it through the link.",
      `RUN ${exec("omaf", "env", "create", MODEL_DIR, "--cache-dir", BUILD_CACHE_DIR, "--link", VENV_LINK)}`,
    );
  }

  const env: Array<[string, string]> = [
    ["OMAF_INTERFACES", plan.interfaces.join(",")],
    ["OMAF_HEALTH_PORT", String(plan.ports.health)],
    ["OMAF_CACHE_DIR", IMAGE_CACHE_DIR],
  ];
  if (plan.pythonEnv) env.push(["OMAF_ENV", VENV_LINK]);
  if (signatures.required) env.push(["OMAF_REQUIRE_SIGNATURE", "1"]);
  if (signatures.trustedKeys.length > 0) env.push(["OMAF_TRUSTED_KEYS", signatures.trustedKeys.map((k) => k.path).join(",")]);
  if (plan.model.type === "python") env.push(["PYTHONDONTWRITEBYTECODE", "1"]);
  add(
    "",
    "# Run time: the interfaces are chosen here and can be changed with OMAF_INTERFACES (or Chassis' INTERFACE);",
    "# nothing is written outside the cache folder, so the root file system may be read-only with /tmp writable.",
    `USER ${IMAGE_USER}`,
    ...env.map(([k, v]) => `ENV ${k}=${quote(v)}`),
    `EXPOSE ${exposed(plan).join(" ")}`,
  );
  add(...Object.entries(plan.labels).map(([k, v]) => `LABEL ${k}=${quote(v)}`));
  add(
    `HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 CMD ${exec("node", "-e", HEALTHCHECK_SCRIPT)}`,
    `ENTRYPOINT ${exec("omaf")}`,
    `CMD ${exec("serve", MODEL_DIR)}`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * What the context sends to the engine: the Dockerfile, the artifact, its detached signatures, the trusted keys and
 * omaf's tarball; not k8s/ nor the summary.
 */
export function renderDockerignore(plan: ImagePlan): string {
  const { detachedFile, trustedKeys } = plan.signatures;
  const copied = [
    plan.artifactFile,
    ...(detachedFile ? [detachedFile] : []),
    ...trustedKeys.map((k) => k.file),
    ...(plan.omaf.tarball ? [plan.omaf.tarball] : []),
  ];
  return ["# Only what the Dockerfile copies goes to the engine.", "*", ...copied.sort().map((f) => `!${f}`), ""].join("\n");
}

/** The ports the image listens on, ascending. */
export function exposed(plan: ImagePlan): number[] {
  const { http, oipGrpc, omi, odahu, health } = plan.ports;
  return [...new Set([http, oipGrpc, omi, odahu, health].filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
}

/** A Dockerfile exec form: a JSON array of the arguments. */
function exec(...args: string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(", ")}]`;
}

/** A value as a double-quoted Dockerfile word: `\` and `"` escaped, and `$` so that nothing is substituted. */
function quote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}
