import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PROVENANCE_PATH, buildProvenance, contentDigest, parseProvenance, serializeProvenance } from "../../src/archive/provenance.js";
import { isOmafError } from "../../src/errors.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const files = [
  { path: "z.txt", size: 1, sha256: sha("z") },
  { path: "a/b.bin", size: 3, sha256: sha("abc") },
  { path: "é.txt", size: 0, sha256: sha("") },
  { path: "Z.txt", size: 2, sha256: sha("ZZ") },
];

test("contentDigest is SHA-256 of the documented canonical text, in byte order of paths", () => {
  const text = `${sha("ZZ")}  2  Z.txt\n` + `${sha("abc")}  3  a/b.bin\n` + `${sha("z")}  1  z.txt\n` + `${sha("")}  0  é.txt\n`;
  assert.equal(contentDigest(files), `sha256:${sha(text)}`);
  assert.equal(contentDigest([...files].reverse()), contentDigest(files), "input order does not matter");
  assert.notEqual(contentDigest(files.map((f) => (f.path === "z.txt" ? { ...f, size: 2 } : f))), contentDigest(files));
  assert.equal(contentDigest([]), `sha256:${sha("")}`);
});

test("a built record serialises deterministically and parses back", () => {
  const p = buildProvenance(files, { packerVersion: "1.2.3", model: { name: "m", version: "1.0.0-1" }, toolchain: { name: "t", version: "2" } });
  assert.equal(p.format, "omaf-provenance/1");
  assert.deepEqual(
    p.files.map((f) => f.path),
    ["Z.txt", "a/b.bin", "z.txt", "é.txt"],
  );
  const bytes = serializeProvenance(p);
  assert.ok(bytes.toString().endsWith("\n"));
  assert.deepEqual(serializeProvenance(buildProvenance([...files].reverse(), { packerVersion: "1.2.3", model: p.model, toolchain: p.toolchain })), bytes);
  assert.deepEqual(parseProvenance(bytes), p);
  const dated = buildProvenance(files, { packerVersion: "1", createdAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
  assert.equal(parseProvenance(serializeProvenance(dated)).createdAt, "2024-01-02T03:04:05.000Z");
});

test("parseProvenance rejects malformed records with OMAF_ERR_PROVENANCE_INVALID", () => {
  const good = buildProvenance(files, { packerVersion: "1" });
  const bad: [string, unknown][] = [
    ["not JSON", "{"],
    ["wrong format", { ...good, format: "omaf-provenance/2" }],
    ["missing files", { ...good, files: undefined }],
    ["bad digest syntax", { ...good, artifactDigest: "md5:abc" }],
    ["negative size", { ...good, files: good.files.map((f, i) => (i === 0 ? { ...f, size: -1 } : f)) }],
    ["upper-case hex", { ...good, files: good.files.map((f, i) => (i === 0 ? { ...f, sha256: f.sha256.toUpperCase() } : f)) }],
    ["unsorted", { ...good, files: [...good.files].reverse() }],
    ["duplicate", { ...good, files: [good.files[0], ...good.files] }],
    ["traversal", { ...good, files: [{ path: "../x", size: 0, sha256: sha("") }] }],
    ["absolute", { ...good, files: [{ path: "/x", size: 0, sha256: sha("") }] }],
    ["lists itself", { ...good, files: [{ path: PROVENANCE_PATH, size: 0, sha256: sha("") }] }],
    ["digest does not match files", { ...good, artifactDigest: `sha256:${sha("other")}` }],
  ];
  for (const [label, value] of bad) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    assert.throws(
      () => parseProvenance(Buffer.from(text)),
      (err) => isOmafError(err, "OMAF_ERR_PROVENANCE_INVALID"),
      label,
    );
  }
});

test("the worked example in spec/provenance.md matches contentDigest", async () => {
  const { readFile } = await import("node:fs/promises");
  const spec = await readFile(new URL("../../spec/provenance.md", import.meta.url), "utf8");
  const example = [
    { path: "odahuflow.model.yaml", size: 11, sha256: sha("name: demo\n") },
    { path: "model/weights.bin", size: 0, sha256: sha("") },
  ];
  const digest = contentDigest(example);
  assert.ok(spec.includes(`its digest \`${digest}\``), `spec/provenance.md should state ${digest}`);
  for (const f of example) assert.ok(spec.includes(`${f.sha256}  ${f.size}  ${f.path}`), f.path);
  // The example record in the spec is a valid record.
  const record = spec.match(/```json\n([\s\S]*?)```/)![1];
  assert.equal(parseProvenance(record).artifactDigest, digest);
});

test("paths sort by their UTF-8 bytes where JavaScript's string order differs (characters beyond U+FFFF)", () => {
  // U+FF21 is EF BC A1 in UTF-8 and U+1F600 is F0 9F 98 80, so U+FF21 comes first; as UTF-16 the surrogate 0xD83D
  // would come first.
  const wide = [
    { path: "\u{1F600}.txt", size: 1, sha256: sha("a") },
    { path: "\uFF21.txt", size: 1, sha256: sha("b") },
    { path: "a.txt", size: 1, sha256: sha("c") },
  ];
  const p = buildProvenance(wide, { packerVersion: "1" });
  assert.deepEqual(
    p.files.map((f) => f.path),
    ["a.txt", "\uFF21.txt", "\u{1F600}.txt"],
  );
  assert.deepEqual(parseProvenance(serializeProvenance(p)), p);
  const text = `${sha("c")}  1  a.txt\n${sha("b")}  1  \uFF21.txt\n${sha("a")}  1  \u{1F600}.txt\n`;
  assert.equal(p.artifactDigest, `sha256:${sha(text)}`);
  const swapped = { ...p, files: [p.files[0], p.files[2], p.files[1]] };
  assert.throws(
    () => parseProvenance(JSON.stringify(swapped)),
    (err) => isOmafError(err, "OMAF_ERR_PROVENANCE_INVALID") && /sorted/.test((err as Error).message),
  );
});

test("the digest of a long file list is the hash of all its lines", () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ path: `d/${String(i).padStart(5, "0")}.bin`, size: i, sha256: sha(String(i)) }));
  const text = many.map((f) => `${f.sha256}  ${f.size}  ${f.path}\n`).join("");
  assert.equal(contentDigest(many), `sha256:${sha(text)}`);
  assert.equal(parseProvenance(serializeProvenance(buildProvenance(many, { packerVersion: "1" }))).artifactDigest, `sha256:${sha(text)}`);
});
