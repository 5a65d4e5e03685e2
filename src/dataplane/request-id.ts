// Request ids: random (version 4) UUIDs, as crypto.randomUUID() makes them, but made 64 at a time as one string of
// which each id is a slice. Every answer carries its id in a header, and Node checks each header value with a regular
// expression: randomUUID() answers a string built from ~20 concatenated pieces, which the check must first copy
// into one (about 0.5 µs per request); a slice of one string needs no copy.
import { randomFillSync } from "node:crypto";

const BATCH = 64;
const UUID_LENGTH = 36;
const random = Buffer.alloc(16 * BATCH);
/** The batch's text; the dashes stay where this template puts them, the hex digits are written over. */
const text = Buffer.from("00000000-0000-0000-0000-000000000000".repeat(BATCH), "latin1");
const HEX = Buffer.from("0123456789abcdef", "latin1");
/** Where each of a UUID's 16 bytes goes in its text (two hex digits each, around the dashes). */
const BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

let ids = "";
let next = BATCH;

function makeBatch(): void {
  randomFillSync(random);
  for (let k = 0; k < BATCH; k++) {
    const r = k * 16;
    const t = k * UUID_LENGTH;
    random[r + 6] = (random[r + 6] & 0x0f) | 0x40; // version 4
    random[r + 8] = (random[r + 8] & 0x3f) | 0x80; // variant 10xx (RFC 9562)
    for (let i = 0; i < 16; i++) {
      const b = random[r + i];
      text[t + BYTE_AT[i]] = HEX[b >> 4];
      text[t + BYTE_AT[i] + 1] = HEX[b & 15];
    }
  }
  ids = text.toString("latin1");
  next = 0;
}

/** A fresh random UUID (version 4, lowercase), for a request that brought no id of its own. */
export function newRequestId(): string {
  if (next === BATCH) makeBatch();
  const start = next++ * UUID_LENGTH;
  return ids.slice(start, start + UUID_LENGTH);
}
