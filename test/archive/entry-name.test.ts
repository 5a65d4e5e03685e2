import { test } from "node:test";
import assert from "node:assert/strict";
import { checkEntryName, normaliseEntryName } from "../../src/archive/entry-name.js";
import { isOmafError } from "../../src/errors.js";

test("normaliseEntryName: separators, one leading slash, ./ prefixes, trailing slash", () => {
  const cases: [string, string][] = [
    ["a/b.txt", "a/b.txt"],
    ["a\\b\\c.txt", "a/b/c.txt"],
    ["/odahuflow.project.yaml", "odahuflow.project.yaml"],
    ["./model/x.bin", "model/x.bin"],
    ["././x", "x"],
    ["./", ""],
    ["dir/", "dir"],
    ["a//b/./c", "a/b/c"],
    ["//etc/passwd", "/etc/passwd"],
    ["\\\\server\\share\\x", "/server/share/x"],
    ["a/../b", "a/../b"],
    ["C:\\x", "C:/x"],
  ];
  for (const [raw, want] of cases) assert.equal(normaliseEntryName(raw), want, raw);
});

test("checkEntryName: absolute names and drive letters", () => {
  for (const name of ["/etc/passwd", normaliseEntryName("//x"), "C:/x", "C:\\x", "c:x"]) {
    assert.throws(
      () => checkEntryName(name),
      (err) => isOmafError(err, "OMAF_ERR_UNSAFE_ABSOLUTE_PATH") && (err.details as { entry: string }).entry === name,
      name,
    );
  }
});

test("checkEntryName: any .. segment", () => {
  for (const name of ["..", "../x", "a/../../x", "a/..", "a\\..\\b"]) {
    assert.throws(
      () => checkEntryName(name),
      (err) => isOmafError(err, "OMAF_ERR_UNSAFE_TRAVERSAL") && (err.details as { entry: string }).entry === name,
      name,
    );
  }
});

test("checkEntryName: ordinary names pass, including dots that are not segments", () => {
  for (const name of ["a", "a/b/c.txt", "..foo", "foo..", "a/..b/c", "ünï/файл.txt", ".omaf/provenance.json"]) {
    assert.doesNotThrow(() => checkEntryName(name), name);
  }
});

test("normaliseEntryName and checkEntryName answer every name built from the tricky pieces as the full rules do", () => {
  // The full rules, written out plainly: both functions skip them for names their first test finds nothing in.
  const normal = (raw: string) => {
    let name = raw.replace(/\\/g, "/");
    if (name.startsWith("/")) name = name.slice(1);
    while (name.startsWith("./")) name = name.slice(2);
    if (name === ".") name = "";
    return (
      (name.startsWith("/") ? "/" : "") +
      name
        .split("/")
        .filter((s) => s !== "" && s !== ".")
        .join("/")
    );
  };
  const verdict = (name: string) => {
    const slashed = name.replace(/\\/g, "/");
    if (slashed.startsWith("/") || /^[A-Za-z]:/.test(slashed)) return "OMAF_ERR_UNSAFE_ABSOLUTE_PATH";
    if (slashed.split("/").includes("..")) return "OMAF_ERR_UNSAFE_TRAVERSAL";
    return slashed.includes("\0") ? "OMAF_ERR_ARCHIVE_FORMAT" : "ok";
  };
  const checked = (name: string) => {
    try {
      checkEntryName(name);
      return "ok";
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  const pieces = ["a", "b.txt", ".", "..", "/", "\\", "C:", "\0", "ü"];
  let names = [""];
  for (let length = 0; length < 4; length++) names = [...names, ...names.flatMap((n) => pieces.map((p) => n + p))];
  for (const raw of new Set(names)) {
    assert.equal(normaliseEntryName(raw), normal(raw), JSON.stringify(raw));
    assert.equal(checked(raw), verdict(raw), JSON.stringify(raw));
  }
});
