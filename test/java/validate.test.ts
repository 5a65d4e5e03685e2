// `omaf validate` and `omaf pack` on java (GJPI) artifacts: the JAR is opened as a ZIP and must hold its model class.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { manifestAttribute } from "../../src/artifact/jar.js";
import { omaf } from "../helpers/cli.js";
import { buildJavaIris, compileClasses, javaArtifact, tempDir } from "./fixtures.js";
import { SOURCES } from "./models.js";

const root = tempDir();
let classes: string;
let iris: string;
before(() => {
  classes = compileClasses(root.dir, { "test/Sum.java": SOURCES["test/Sum.java"]! });
  iris = buildJavaIris(join(root.dir, "iris"));
});
after(() => root.cleanup());

const issuesOf = (target: string) => {
  const r = omaf(["validate", "--json", target]);
  return { status: r.code, issues: (JSON.parse(r.stdout) as { issues: { code: string; message: string }[] }).issues };
};

describe("omaf validate on java artifacts", () => {
  test("the built java-iris example is valid as a folder and packed; the packed copy keeps only the manifest and model/", () => {
    assert.deepEqual(issuesOf(iris), { status: 0, issues: [] });
    const zip = join(root.dir, "iris.zip");
    const packed = omaf(["pack", iris, "-o", zip]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.deepEqual(issuesOf(zip), { status: 0, issues: [] });
    const listed = omaf(["inspect", "--json", zip]);
    const files = (JSON.parse(listed.stdout) as { files: { path: string }[] }).files.map((f) => f.path).sort();
    assert.deepEqual(files, ["model/iris-model.jar", "model/weights.txt", "odahuflow.model.yaml"]);
  });

  test("a JAR that is not a ZIP, without Omaf-Model-Class, or without the class → OMAF_ERR_JAR (pack refuses it too)", () => {
    const notZip = join(root.dir, "not-zip");
    javaArtifact(notZip, classes, "test.Sum");
    writeFileSync(join(notZip, "model", "model.jar"), "plain text");
    const a = issuesOf(notZip);
    assert.equal(a.status, 1);
    assert.deepEqual(
      a.issues.map((i) => i.code),
      ["OMAF_ERR_JAR"],
    );
    assert.match(a.issues[0]!.message, /model\/model\.jar is not a JAR/);

    const noAttr = join(root.dir, "no-attr");
    javaArtifact(noAttr, classes, undefined);
    assert.match(issuesOf(noAttr).issues[0]!.message, /has no Omaf-Model-Class attribute/);

    const missing = join(root.dir, "missing-class");
    javaArtifact(missing, classes, "test.Ghost");
    const m = issuesOf(missing);
    assert.deepEqual(
      m.issues.map((i) => i.code),
      ["OMAF_ERR_JAR"],
    );
    assert.match(m.issues[0]!.message, /does not contain the model class test\.Ghost \(test\/Ghost\.class\)/);
    const packed = omaf(["pack", missing, "-o", join(root.dir, "missing.zip")]);
    assert.equal(packed.code, 1);
    assert.match(packed.stderr, /OMAF_ERR_JAR/);
  });

  test("a missing JAR is OMAF_ERR_ENTRYPOINT, as for every environment", () => {
    const ghost = join(root.dir, "ghost");
    javaArtifact(ghost, classes, "test.Sum", "ghost.jar");
    assert.deepEqual(
      issuesOf(ghost).issues.map((i) => i.code),
      ["OMAF_ERR_ENTRYPOINT"],
    );
  });
});

test("JAR manifest attributes: continuation lines, CRLF, case of the name, the main section only", () => {
  const text = "Manifest-Version: 1.0\r\nOmaf-Model-Class: com.example.very.long.packa\r\n ge.Model\r\n\r\nName: x\r\nOmaf-Model-Class: no\r\n";
  assert.equal(manifestAttribute(text, "Omaf-Model-Class"), "com.example.very.long.package.Model");
  assert.equal(manifestAttribute("omaf-model-class: A\n", "Omaf-Model-Class"), "A");
  assert.equal(manifestAttribute("Manifest-Version: 1.0\n\nOmaf-Model-Class: B\n", "Omaf-Model-Class"), undefined);
});
