// Entrypoint resolution is a pure function over a file listing, so it works for folders and ZIP listings alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveEntrypoint } from "../../src/manifest/entrypoint.js";
import { fileIndex, resolveInside } from "../../src/manifest/file-index.js";

const node = (files: string[], workDir: string, entrypoint: string) => resolveEntrypoint(fileIndex(files), "node", workDir, entrypoint);
const onnx = (files: string[], workDir: string, entrypoint: string) => resolveEntrypoint(fileIndex(files), "onnx", workDir, entrypoint);

test("resolveInside normalises and refuses paths that leave the root", () => {
  assert.equal(resolveInside("model.ts", "src"), "src/model.ts");
  assert.equal(resolveInside("./lib/../model.ts", "src"), "src/model.ts");
  assert.equal(resolveInside("a\\b.js"), "a/b.js");
  assert.equal(resolveInside("."), "");
  assert.equal(resolveInside("../model.ts", "src"), "model.ts");
  assert.equal(resolveInside("../../model.ts", "src"), undefined);
  assert.equal(resolveInside("/abs"), undefined);
  assert.equal(resolveInside("/etc/passwd", "src"), undefined);
  assert.equal(resolveInside("C:\\x.js", "src"), undefined);
});

test("node entrypoints: exact name first, then .js .mjs .cjs .ts .mts in that order", () => {
  assert.equal(node(["src/model.ts"], "src", "model"), "src/model.ts");
  assert.equal(node(["src/model.ts", "src/model.js"], "src", "model"), "src/model.js");
  assert.equal(node(["src/model.mts", "src/model.ts"], "src", "model"), "src/model.ts");
  assert.equal(node(["src/model.mjs", "src/model.cjs"], "src", "model"), "src/model.mjs");
  assert.equal(node(["src/model.ts", "src/model.ts.js"], "src", "model.ts"), "src/model.ts");
  assert.equal(node(["model.mts"], "", "model"), "model.mts");
  assert.equal(node(["src/lib/m.js"], "src", "lib/m"), "src/lib/m.js");
  assert.equal(node(["src/other.ts"], "src", "model"), undefined);
  assert.equal(node(["model.js"], "src", "../../model"), undefined);
  assert.equal(node([".js"], "", "."), undefined);
});

test("onnx entrypoints name the file exactly", () => {
  assert.equal(onnx(["model/iris.onnx"], "model", "iris.onnx"), "model/iris.onnx");
  assert.equal(onnx(["model/iris.onnx"], "model", "iris"), undefined);
  assert.equal(onnx(["iris.onnx"], "model", "../../iris.onnx"), undefined);
});
