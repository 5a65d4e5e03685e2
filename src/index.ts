/**
 * omaf — pack, validate, inspect, unpack, sign, verify and serve OMAF (Odahu Model Artifact Format) model artifacts.
 *
 * ```ts
 * import { pack } from "omaf";
 * const { output, artifactDigest } = await pack("build/model", { output: "model.zip" });
 * ```
 * Every export below is part of the public API; test/index.test.ts pins the list, and spec/library.md documents each
 * with an example (test/library-docs.test.ts).
 */

// ── artifacts ────────────────────────────────────────────────────────────────
/** Validates a model folder and writes a deterministic OMAF ZIP with a provenance record. */
export { pack, type PackOptions, type PackResult } from "./artifact/pack.js";
/** Reads an artifact (ZIP, Odahu gzip tar or folder): manifest, files, provenance and every validation issue. */
export { openArtifact, type OpenedArtifact, type ArtifactFile } from "./artifact/open.js";
/** Validates an artifact or folder; resolves to `{ valid, issues }`. */
export { validate, readManifest } from "./artifact/validate.js";
/** Makes an artifact available as a validated folder (archives are unpacked safely into a digest-keyed cache). */
export { materializeArtifact, type MaterializedArtifact, type MaterializeOptions } from "./artifact/materialize.js";
/** Extracts an archive safely (no traversal, links, duplicates or zip bombs; digests verified). */
export { unpackArchive as unpack, DEFAULT_UNPACK_LIMITS, type UnpackLimits } from "./archive/unpack.js";
/** The provenance record stored in every artifact omaf packs, the content digest it defines, and where signatures go. */
export { PROVENANCE_PATH, SIGNATURE_PATH, contentDigest, type Provenance } from "./archive/provenance.js";

// ── signing ──────────────────────────────────────────────────────────────────
/** Ed25519 keys in PEM (SPKI public, PKCS#8 private) and omaf's key id, the SHA-256 of the public key's SPKI DER. */
export {
  generateSigningKey,
  writeSigningKey,
  readPublicKey,
  readPrivateKey,
  parsePublicKey,
  parsePrivateKey,
  keyIdOf,
  type GeneratedKeyPair,
  type WrittenKeyPair,
  type PublicSigningKey,
  type PrivateSigningKey,
} from "./signing/keys.js";
/** Signs an artifact (in-toto statement about its content digest, in a DSSE envelope), inside it or detached. */
export { signArtifact, detachedSignaturePath, type SignOptions, type SignResult } from "./signing/sign.js";
/** Verifies an artifact: a given key's signature over its content digest, and every file's bytes. */
export { verifyArtifact, type VerifyOptions, type VerifyResult, type SignatureFinding } from "./signing/verify.js";
/** The `predicateType` of omaf's provenance predicate in the signed statement. */
export { PREDICATE_TYPE } from "./signing/statement.js";
/** Types generated from schemas/dsse-envelope.schema.json and schemas/intoto-statement.schema.json. */
export type { DsseEnvelope, DsseSignature, InTotoStatement, InTotoSubject, OmafPredicate } from "./signing/signing.types.js";

// ── manifest ─────────────────────────────────────────────────────────────────
/** Validates a parsed manifest (and, given a file index, its cross-references); returns every issue. */
export { validateManifest, isValid } from "./manifest/validate.js";
/** Parses manifest text the way Odahu does: JSON first, then YAML. */
export { parseManifestText, MANIFEST_NAME, MANIFEST_NAMES } from "./manifest/parse.js";
/** Builds the file view that cross-checks use, from a list of artifact paths. */
export { fileIndex, type FileIndex } from "./manifest/file-index.js";
/** The manifest's JSON Schema (draft 2020-12) as an object. */
export { manifestSchema } from "./manifest/schema.js";
/** Types generated from schemas/odahuflow.model.schema.json. */
export type { OmafManifest, OmafBinaries, OmafModel, OmafToolchain, OmafOutput, OmafSample } from "./manifest/manifest.types.js";

// ── runtime and serving ──────────────────────────────────────────────────────
/** The Model for an unpacked artifact (node, onnx, python or java environment); call `load()` before predicting. */
export { createModel, type CreateModelOptions } from "./runtime/load.js";
/** The one interface every environment implements, and what it answers. */
export type { Model, ModelMetadata, MatrixInput, MatrixOutput, PredictMode, FieldSchema } from "./runtime/model.js";
/** Checks that a Python interpreter can import a python artifact's declared conda dependencies. */
export { checkPythonDependencies, type PythonDependencyReport } from "./runtime/python/dependencies.js";
/** Serving settings: defaults ← OMAF_* environment ← flags, validated once; the table documents each one. */
export { loadSettings, SETTINGS, type Settings } from "./settings.js";
/** Starts serving an artifact on the listeners the settings choose (`omaf serve <artifact>`). */
export { serveArtifact, type ServingArtifact } from "./server/serve.js";
/** Starts serving several artifacts and a model repository from one process (what `omaf serve` runs). */
export { serveModels, type ServingModels } from "./server/serve.js";
/** The served models by name and version, one dataplane each: lookups, readiness, load, unload and the index. */
export { ModelRegistry, type ModelEntry, type ModelState, type IndexEntry, type OpenModel, type OpenedModel } from "./registry/registry.js";
/** How model versions order (semver where both parse, else natural order): a request without one gets the highest. */
export { compareVersions } from "./registry/versions.js";
/** The dataplane every protocol calls: readiness, admission, timeouts, inference log, metrics and provenance. */
export { DataPlane, type Provenance as PredictionProvenance } from "./dataplane/dataplane.js";
/** An artifact loaded for offline work (what `omaf predict` and `omaf test` use): materialised, model and dataplane. */
export { openOffline, type OfflineSession, type OfflineOptions } from "./offline/session.js";
/** Opens a CSV, JSON lines, Odahu JSON or OIP v2 request file (or stdin) for `predictRows` / `predictOip`. */
export { openInput, type PredictInput } from "./offline/input.js";
/** Offline prediction of rows in chunks, answers written in order with the provenance (what `omaf predict` runs). */
export { predictRows, predictOip, type PredictOptions, type PredictSummary } from "./offline/predict.js";
/** The step-by-step self-check of an artifact's model on its sample input (what `omaf test` runs). */
export { testArtifact, type TestReport, type StepResult } from "./offline/selftest.js";
/** Tensors: one in-memory form (typed array + shape + datatype) shared by every wire format. */
export type { Tensor, TensorSpec, Datatype } from "./tensor/tensor.js";

// ── container images and Kubernetes ──────────────────────────────────────────
/** Writes a container build context for an artifact: Dockerfile, OMI/OCI labels, KServe and Kubernetes manifests (what `omaf image` runs). */
export { writeImageContext, type ImageContext, type ImageContextOptions } from "./deploy/context.js";
/** Resolves a folder that holds an artifact (KServe's /mnt/models: unpacked, in one sub-folder, or the file) to the artifact. */
export { resolveModelSource } from "./artifact/model-source.js";

// ── errors ───────────────────────────────────────────────────────────────────
/** The one error type (with a stable `code`), the code table, and the validation issue shape. */
export { OmafError, ERROR_CODES, isOmafError, type ErrorCode, type ValidationIssue } from "./errors.js";
