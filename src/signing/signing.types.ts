// Generated from schemas/dsse-envelope.schema.json and schemas/intoto-statement.schema.json by `npm run gen:types`. Do not edit.

/**
 * A DSSE envelope (Dead Simple Signing Envelope, v1): one line of .omaf/signature.intoto.jsonl or of a detached <artifact>.intoto.jsonl. See spec/signing.md.
 */
export interface DsseEnvelope {
  /**
   * How to read the payload; omaf signs and accepts application/vnd.in-toto+json.
   */
  payloadType: string;
  /**
   * The signed bytes (an in-toto Statement), base64 (standard or URL-safe alphabet).
   */
  payload: string;
  /**
   * @minItems 1
   */
  signatures: [DsseSignature, ...DsseSignature[]];
  [k: string]: unknown;
}
export interface DsseSignature {
  /**
   * Which key signed, as a hint only (not covered by the signature); omaf writes its key id (spec/signing.md).
   */
  keyid?: string;
  /**
   * The signature over the PAE of payloadType and payload, base64.
   */
  sig: string;
  [k: string]: unknown;
}

/**
 * The payload omaf signs: an in-toto Statement v1 whose subject is an artifact (its content digest) and whose predicate is omaf's provenance. See spec/signing.md.
 */
export interface InTotoStatement {
  _type: "https://in-toto.io/Statement/v1";
  /**
   * @minItems 1
   */
  subject: [InTotoSubject, ...InTotoSubject[]];
  predicateType: "https://omaf.dev/provenance/v1";
  predicate: OmafPredicate;
  [k: string]: unknown;
}
export interface InTotoSubject {
  /**
   * The model name (else the artifact's file name).
   */
  name: string;
  /**
   * sha256: the hex of the artifact's content digest (spec/provenance.md), not of the zip's bytes.
   */
  digest: {
    sha256: string;
    [k: string]: string;
  };
  [k: string]: unknown;
}
/**
 * What packed the artifact, copied from its provenance record: packer, toolchain, model and every file's digest.
 */
export interface OmafPredicate {
  packer: OmafPacker;
  toolchain?: OmafNameVersion;
  model?: OmafNameVersion;
  createdAt?: string;
  /**
   * Every file of the artifact, sorted by path (bytes of UTF-8); their content digest is the subject's digest.
   */
  files: OmafFileDigest[];
  [k: string]: unknown;
}
export interface OmafPacker {
  tool: "omaf";
  version: string;
  [k: string]: unknown;
}
export interface OmafNameVersion {
  name: string;
  version: string;
  [k: string]: unknown;
}
export interface OmafFileDigest {
  path: string;
  size: number;
  sha256: string;
}
