// One error type with a stable code, and one table that maps each code to HTTP status, gRPC status and CLI exit code.
// spec/errors.md documents every code; test/errors.test.ts keeps the two in step.

/** gRPC status numbers (kept here so this module needs no gRPC import). */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

interface CodeInfo {
  /** HTTP status a server answers with. */
  http: number;
  /** gRPC status code a server answers with. */
  grpc: number;
  /** CLI exit code: 1 for an invalid artifact or rejected content, 2 for usage or I/O problems. */
  exit: 1 | 2;
  /** One line on what it means. */
  description: string;
}

const bad = (description: string): CodeInfo => ({ http: 400, grpc: GRPC.INVALID_ARGUMENT, exit: 1, description });
const unsafe = (description: string): CodeInfo => ({ http: 422, grpc: GRPC.FAILED_PRECONDITION, exit: 1, description });

/** Every error code omaf emits. Warnings (`OMAF_WARN_*`) never fail an operation. */
export const ERROR_CODES = {
  // usage, settings and I/O
  OMAF_ERR_USAGE: { http: 400, grpc: GRPC.INVALID_ARGUMENT, exit: 2, description: "Bad command-line usage or argument." },
  OMAF_ERR_SETTINGS: { http: 500, grpc: GRPC.INVALID_ARGUMENT, exit: 2, description: "A setting (flag, environment variable or config file) has a bad value." },
  OMAF_ERR_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, exit: 2, description: "The given file or folder does not exist." },
  OMAF_ERR_IO: { http: 500, grpc: GRPC.INTERNAL, exit: 2, description: "Reading or writing a file failed." },
  OMAF_ERR_TARGET_EXISTS: {
    http: 409,
    grpc: GRPC.ALREADY_EXISTS,
    exit: 2,
    description: "The output file or folder already exists (use --force to replace it).",
  },
  OMAF_ERR_NO_ARTIFACT: {
    http: 404,
    grpc: GRPC.NOT_FOUND,
    exit: 2,
    description: "The folder given to serve (e.g. KServe's /mnt/models) holds no manifest, no sub-folder with one, and not exactly one artifact file.",
  },

  // manifest
  OMAF_ERR_MANIFEST_MISSING: bad("No odahuflow.model.yaml (or .yml, or odahuflow.project.yaml) at the artifact root."),
  OMAF_ERR_MANIFEST_PARSE: bad("The manifest is neither valid JSON nor valid YAML."),
  OMAF_ERR_MANIFEST_SCHEMA: bad("The manifest breaks its JSON Schema where no more specific code applies (wrong type, missing section)."),
  OMAF_ERR_MANIFEST_INVALID: bad("The manifest has errors; the operation was refused (each issue is listed with its own code)."),
  OMAF_ERR_BINARIES_TYPE: bad("binaries.type is missing or not one of python, java, node, onnx."),
  OMAF_ERR_BINARIES_DEPENDENCIES: bad("binaries.dependencies is missing or malformed."),
  OMAF_ERR_CONDA_PATH: bad("binaries.conda_path does not name a file in the artifact, or escapes it."),
  OMAF_ERR_MODEL_NAME: bad("model.name is missing or not made of letters, digits and dashes."),
  OMAF_ERR_MODEL_VERSION: bad("model.version is missing or not <Apache version>-<suffix>."),
  OMAF_ERR_WORKDIR: bad("model.workDir is missing, does not exist in the artifact, or escapes it."),
  OMAF_ERR_ENTRYPOINT: bad("model.entrypoint is missing or does not resolve to a file for the model's environment."),
  OMAF_ERR_JAR: bad("The JAR of a java model does not open as a ZIP, or its manifest names no Omaf-Model-Class the JAR contains."),
  OMAF_ERR_ODAHUFLOW_VERSION: bad("odahuflowVersion is missing, not a string, or not a supported version."),
  OMAF_ERR_TOOLCHAIN_NAME: bad("toolchain.name is missing or malformed."),
  OMAF_ERR_TOOLCHAIN_VERSION: bad("toolchain.version is missing or malformed."),
  OMAF_ERR_CONTRACT: bad("model.inputs / model.outputs (the declared tensor contract) is malformed: a bad datatype or shape, or a name given twice."),
  OMAF_ERR_CONTRACT_MISMATCH: bad(
    "The declared tensor contract disagrees with the model file (an ONNX model's own inputs and outputs: names, datatypes, ranks, fixed dimensions).",
  ),
  OMAF_WARN_VERSION_NO_SUFFIX: bad("model.version is a plain version without the -<suffix> part (accepted)."),
  OMAF_WARN_CONTRACT_UNCHECKED: bad("The ONNX file is too large to compare with the declared contract at validation (requests are still checked against it)."),
  OMAF_ERR_PYTHON_DEPENDENCY: bad(
    "A package the artifact's conda environment declares cannot be imported by the chosen Python (validate --python, test, load).",
  ),
  OMAF_WARN_PYTHON_VERSION_MISMATCH: bad("A declared dependency is installed in another version than the one pinned (omaf validate --python)."),
  OMAF_WARN_MANIFEST_ALTERNATE: bad("Several manifest files were found; the first by precedence is used."),

  // archives
  OMAF_ERR_ARCHIVE_FORMAT: bad("The file is not a ZIP or gzip-compressed tar archive, or it is corrupt."),
  OMAF_ERR_UNSAFE_ABSOLUTE_PATH: unsafe("An archive entry has an absolute path (or a drive letter)."),
  OMAF_ERR_UNSAFE_TRAVERSAL: unsafe("An archive entry path contains '..' and would land outside the target folder (zip-slip)."),
  OMAF_ERR_UNSAFE_LINK: unsafe("An archive entry is a symbolic or hard link."),
  OMAF_ERR_DUPLICATE_ENTRY: unsafe("Two archive entries have the same (normalised) name."),
  OMAF_ERR_TOO_LARGE: unsafe("The archive's total uncompressed size exceeds the limit (zip bomb defence)."),
  OMAF_ERR_COMPRESSION_RATIO: unsafe("An entry's compression ratio exceeds the limit (zip bomb defence)."),
  OMAF_ERR_TOO_MANY_ENTRIES: unsafe("The archive has more entries than the limit."),
  OMAF_ERR_DIGEST_MISMATCH: unsafe("A file's SHA-256 or size differs from the one recorded in the provenance."),
  OMAF_ERR_PROVENANCE_INVALID: unsafe("The provenance record is malformed or does not match the archive's entries."),
  OMAF_ERR_OVERLAPPING_ENTRIES: unsafe(
    "ZIP entries overlap, or an entry does not start where the previous one ended (bytes shared by entries or hidden between them).",
  ),
  OMAF_ERR_ARCHIVE_RATIO: unsafe("The archive's declared uncompressed total exceeds its own size times the ratio limit (zip bomb defence)."),
  OMAF_ERR_ENTRY_NAME_MISMATCH: unsafe("A ZIP entry's local header names another file than its central-directory record (other tools would see other files)."),
  OMAF_WARN_CACHE_TAMPERED: bad("An unpacked copy in the cache no longer matched the artifact; it was unpacked again."),

  // signatures (spec/signing.md)
  OMAF_ERR_KEY_INVALID: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 2,
    description: "A key file is not an Ed25519 key in PEM (SPKI public key, PKCS#8 private key), or a private key was given where a public one belongs.",
  },
  OMAF_ERR_SIGNATURE_MISSING: unsafe("The artifact carries no signature (serve --require-signature, omaf verify)."),
  OMAF_ERR_SIGNATURE_INVALID: unsafe(
    "A signature or envelope is malformed, a signature by a given key does not verify, or the signed statement is about other content than the artifact's.",
  ),
  OMAF_ERR_SIGNATURE_UNTRUSTED: unsafe("The artifact is signed, but by none of the keys given (--pub, --trusted-key)."),

  // offline prediction and self-check (omaf predict, omaf test)
  OMAF_ERR_INPUT_FORMAT: bad("An omaf predict input is not in its format: a CSV record unlike its header, a JSON line that does not parse."),
  OMAF_ERR_SAMPLE_PATH: bad("sample.input or sample.output does not name a file in the artifact, or escapes it."),
  OMAF_ERR_SAMPLE: bad("The artifact's sample input or expected output (head_input.pkl, head_output.pkl, the manifest's sample files) cannot be read."),
  OMAF_ERR_SAMPLE_MISMATCH: bad("The model's prediction on its sample input differs from the sample's expected output (omaf test)."),

  // runtime and serving
  OMAF_ERR_ENV_UNSUPPORTED: { http: 501, grpc: GRPC.UNIMPLEMENTED, exit: 1, description: "The artifact's environment (binaries.type) cannot be served yet." },
  OMAF_ERR_ONNXRUNTIME_MISSING: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 2,
    description: "Serving an ONNX model needs the optional onnxruntime-node package.",
  },
  OMAF_ERR_PYTHON_NOT_FOUND: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 2,
    description: "The Python interpreter for a python (GPPI) model cannot be run (set OMAF_PYTHON).",
  },
  OMAF_ERR_ENV_CREATE: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 1,
    description:
      "omaf env create (or serve --env create) could not build the Python environment the artifact declares; the message names what pip or conda could not provide.",
  },
  OMAF_ERR_ENV_MISSING: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 1,
    description: "The Python environment asked for (omaf env path, serve --env <path>) does not exist; omaf env create makes it.",
  },
  OMAF_ERR_JAVA_NOT_FOUND: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 2,
    description: "The java launcher for a java (GJPI) model cannot be run, or cannot compile omaf's worker (set OMAF_JAVA to a JDK 17+).",
  },
  OMAF_ERR_WORKER_CRASHED: {
    http: 500,
    grpc: GRPC.INTERNAL,
    exit: 1,
    description: "The worker (a Python or Java process, or a Node thread) running the request exited or crashed; it is restarted and the model keeps serving.",
  },
  OMAF_ERR_ENTRYPOINT_LOAD: { http: 500, grpc: GRPC.INTERNAL, exit: 1, description: "The model's entrypoint could not be imported or loaded." },
  OMAF_ERR_ENTRYPOINT_FUNCTION: {
    http: 500,
    grpc: GRPC.INTERNAL,
    exit: 1,
    description: "A required GPPI function is missing or is not a function, or init() answered something other than 'matrix', 'objects' or 'tensors'.",
  },
  OMAF_ERR_MODEL_INIT: { http: 500, grpc: GRPC.INTERNAL, exit: 1, description: "The model failed to initialise." },
  OMAF_ERR_MODEL_NOT_READY: { http: 503, grpc: GRPC.UNAVAILABLE, exit: 1, description: "The model is not loaded yet (or failed to load)." },
  OMAF_ERR_MODEL_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, exit: 1, description: "The request names a model (or version) this server does not serve." },
  OMAF_ERR_MODEL_DUPLICATE: {
    http: 409,
    grpc: GRPC.ALREADY_EXISTS,
    exit: 2,
    description: "Two artifacts given to omaf serve (or in its model repository) hold the same model name and version.",
  },
  OMAF_ERR_BAD_INPUT: bad("The request body or an input item is malformed or does not fit the model's inputs."),
  OMAF_ERR_PREDICT: { http: 500, grpc: GRPC.INTERNAL, exit: 1, description: "The model raised an error while predicting." },
  OMAF_ERR_TIMEOUT: { http: 504, grpc: GRPC.DEADLINE_EXCEEDED, exit: 1, description: "The prediction took longer than the request timeout." },
  OMAF_ERR_UNAVAILABLE: { http: 503, grpc: GRPC.UNAVAILABLE, exit: 1, description: "The server is draining or at its concurrency limit; retry later." },
  OMAF_ERR_PAYLOAD_TOO_LARGE: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED, exit: 1, description: "The request body exceeds the configured maximum size." },
  OMAF_ERR_NOT_IMPLEMENTED: { http: 501, grpc: GRPC.UNIMPLEMENTED, exit: 1, description: "The model does not offer this operation (e.g. explain)." },

  // container images (omaf image)
  OMAF_ERR_NO_CONTAINER_ENGINE: {
    http: 500,
    grpc: GRPC.FAILED_PRECONDITION,
    exit: 2,
    description:
      "omaf image --build found no usable container engine (docker with a daemon that answers, podman or buildah); the build context is written all the same.",
  },
  OMAF_ERR_IMAGE_BUILD: {
    http: 500,
    grpc: GRPC.INTERNAL,
    exit: 1,
    description: "The container engine failed to build the image from the written build context.",
  },
  OMAF_ERR_INTERNAL: { http: 500, grpc: GRPC.INTERNAL, exit: 2, description: "An unexpected internal error." },
} satisfies Record<string, CodeInfo>;

/** A stable error or warning code, e.g. `OMAF_ERR_MODEL_NAME`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type omaf throws. `code` is stable; `details` carries machine-readable context. */
export class OmafError extends Error {
  override readonly name = "OmafError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
  get grpcStatus(): number {
    return ERROR_CODES[this.code].grpc;
  }
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** OMAF_ERR_BAD_INPUT: the one way every layer says a request does not fit (with machine-readable details). */
export function badInput(message: string, details?: Record<string, unknown>): OmafError {
  return new OmafError("OMAF_ERR_BAD_INPUT", message, details);
}

/** True when `err` is an OmafError (optionally with the given code). */
export function isOmafError(err: unknown, code?: ErrorCode): err is OmafError {
  return err instanceof OmafError && (code === undefined || err.code === code);
}

/** Wraps any thrown value as an OmafError, keeping OmafErrors as they are. */
export function toOmafError(err: unknown, fallback: ErrorCode = "OMAF_ERR_INTERNAL"): OmafError {
  if (err instanceof OmafError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e === "object" && typeof e.code === "string") {
    if (e.code === "ENOENT") return new OmafError("OMAF_ERR_NOT_FOUND", e.message, { path: e.path }, { cause: err });
    if (e.code === "EEXIST") return new OmafError("OMAF_ERR_TARGET_EXISTS", e.message, { path: e.path }, { cause: err });
    if (/^E[A-Z]+$/.test(e.code)) return new OmafError("OMAF_ERR_IO", e.message, { path: e.path, errno: e.code }, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OmafError(fallback, message, undefined, { cause: err });
}

/** One finding of validation. Validation returns all of them at once. */
export interface ValidationIssue {
  code: ErrorCode;
  severity: "error" | "warning";
  /** Where: a manifest field path such as `model.name`, or a file path inside the artifact. */
  path: string;
  message: string;
}
