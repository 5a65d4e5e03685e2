// DSSE (Dead Simple Signing Envelope, v1): the pre-authentication encoding a signature covers, envelopes signed with
// Ed25519, and the JSON-lines files (`*.intoto.jsonl`) that hold one envelope per line.
import { sign, verify } from "node:crypto";
import { validateEnvelope } from "../schemas/validators.js";
import type { PrivateSigningKey, PublicSigningKey } from "./keys.js";
import type { DsseEnvelope, DsseSignature } from "./signing.types.js";

/** The payload type of an in-toto Statement. */
export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal bytes: what a DSSE
 * signature signs, so that neither the type nor the body can be changed without breaking it.
 */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** An envelope around `payload` with one Ed25519 signature by `key` (its key id as the `keyid` hint). */
export function signEnvelope(payload: Buffer, key: PrivateSigningKey, payloadType = INTOTO_PAYLOAD_TYPE): DsseEnvelope {
  const sig = sign(null, pae(payloadType, payload), key.privateKey);
  return { payloadType, payload: payload.toString("base64"), signatures: [{ keyid: key.keyId, sig: sig.toString("base64") }] };
}

/** The envelope's payload bytes. */
export function payloadOf(envelope: DsseEnvelope): Buffer {
  return Buffer.from(envelope.payload, "base64");
}

/** True when `signature` is `key`'s Ed25519 signature over the envelope's PAE. The `keyid` hint is not consulted. */
export function signatureVerifies(envelope: DsseEnvelope, signature: DsseSignature, key: PublicSigningKey): boolean {
  const sig = Buffer.from(signature.sig, "base64");
  if (sig.length !== 64) return false; // every Ed25519 signature is 64 bytes
  try {
    return verify(null, pae(envelope.payloadType, payloadOf(envelope)), key.key, sig);
  } catch {
    return false;
  }
}

/** One non-empty line of a `.intoto.jsonl` file: its envelope, or why it is not one. */
export type EnvelopeLine =
  | { line: number; text: string; envelope: DsseEnvelope; error?: undefined }
  | { line: number; text: string; envelope?: undefined; error: string };

/** Splits JSON-lines text into envelopes, each checked against schemas/dsse-envelope.schema.json. Blank lines are skipped. */
export function parseEnvelopeLines(text: string | Buffer): EnvelopeLine[] {
  const out: EnvelopeLine[] = [];
  text
    .toString()
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, "");
      if (line.trim() === "") return;
      let data: unknown;
      try {
        data = JSON.parse(line);
      } catch (err) {
        out.push({ line: i + 1, text: line, error: `not JSON (${(err as Error).message})` });
        return;
      }
      if (!validateEnvelope(data)) {
        const issues = (validateEnvelope.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
        out.push({ line: i + 1, text: line, error: `not a DSSE envelope: ${issues.join("; ")}` });
        return;
      }
      out.push({ line: i + 1, text: line, envelope: data as DsseEnvelope });
    });
  return out;
}

/** JSON-lines text of envelopes: one compact JSON document per line, each ending in a line feed. */
export function envelopeText(lines: ReadonlyArray<string | DsseEnvelope>): Buffer {
  return Buffer.from(lines.map((l) => `${typeof l === "string" ? l : JSON.stringify(l)}\n`).join(""), "utf8");
}
