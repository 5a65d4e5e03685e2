// The declared tensor contract: schema rules, names given once, and `omaf validate`'s comparison with an ONNX
// model's own inputs and outputs (the iris example's file, read from a folder and from a packed ZIP).
import assert from "node:assert/strict";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { pack } from "../../src/artifact/pack.js";
import { validate } from "../../src/artifact/validate.js";
import { readOnnxSignature } from "../../src/artifact/onnx-signature.js";
import { contractFileIssues } from "../../src/artifact/contract-check.js";
import { declaredContract } from "../../src/manifest/contract.js";
import type { OmafManifest } from "../../src/manifest/manifest.types.js";
import { validateManifest } from "../../src/manifest/validate.js";
import { omaf } from "../helpers/cli.js";
import { seedManifest, tempDir } from "../helpers/fixtures.js";

const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

const withContract = (model: Record<string, unknown>) => {
  const m = seedManifest() as ReturnType<typeof seedManifest> & { model: Record<string, unknown> };
  Object.assign(m.model, model);
  return m;
};

const IRIS_CONTRACT = {
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
    { name: "label", datatype: "INT64", shape: [-1, 1] },
  ],
};

describe("declared contract: manifest rules", () => {
  it("accepts inputs and outputs with OIP datatypes, -1 axes and parameters", () => {
    const m = withContract({
      inputs: [{ name: "INPUT0", datatype: "INT32", shape: [-1, 16], parameters: { content_type: "np" } }],
      outputs: [{ name: "OUTPUT0", datatype: "INT32", shape: [-1, 16] }],
    });
    assert.deepEqual(
      validateManifest(m).filter((i) => i.severity === "error"),
      [],
    );
    assert.deepEqual(declaredContract(m as unknown as OmafManifest)?.inputs, [
      { name: "INPUT0", datatype: "INT32", shape: [-1, 16], parameters: { content_type: "np" } },
    ]);
  });

  it("refuses a bad datatype, a bad dimension, a missing shape and an unknown field, each with OMAF_ERR_CONTRACT", () => {
    const issues = validateManifest(
      withContract({
        inputs: [
          { name: "a", datatype: "FLOAT", shape: [1] },
          { name: "b", datatype: "FP32", shape: [-2] },
          { name: "c", datatype: "FP32" },
          { name: "d", datatype: "FP32", shape: [1], dims: [1] },
        ],
      }),
    );
    const byPath = new Map(issues.map((i) => [i.path, i]));
    for (const path of ["model.inputs.0.datatype", "model.inputs.1.shape.0", "model.inputs.2.shape", "model.inputs.3"]) {
      assert.equal(byPath.get(path)?.code, "OMAF_ERR_CONTRACT", `${path}: ${JSON.stringify(issues)}`);
    }
    assert.match(byPath.get("model.inputs.0.datatype")!.message, /FLOAT.*one of BOOL, .*FP32/);
  });

  it("refuses a name given twice", () => {
    const issues = validateManifest(
      withContract({
        outputs: [
          { name: "y", datatype: "FP32", shape: [1] },
          { name: "y", datatype: "FP64", shape: [1] },
        ],
      }),
    );
    assert.deepEqual(
      issues.map((i) => [i.code, i.path]),
      [["OMAF_ERR_CONTRACT", "model.outputs.1.name"]],
    );
  });
});

describe("declared contract: checked against an ONNX file", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  const setContract = async (contract: unknown) => {
    const manifest = parse(await readFile(join(IRIS, "odahuflow.model.yaml"), "utf8"));
    Object.assign(manifest.model, contract);
    await writeFile(join(dir, "odahuflow.model.yaml"), stringify(manifest));
  };
  before(async () => {
    tmp = await tempDir("omaf-contract-");
    dir = join(tmp.dir, "iris");
    await cp(IRIS, dir, { recursive: true });
  });
  after(() => tmp?.cleanup());

  it("reads the file's own signature (weights are initializers, not inputs)", async () => {
    const sig = readOnnxSignature(await readFile(join(IRIS, "model", "iris.onnx")), "iris.onnx");
    assert.deepEqual(sig.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
    assert.deepEqual(
      sig.outputs.map((o) => o.name),
      ["probabilities", "label"],
    );
  });

  it("a contract that matches (or narrows a variable axis) is valid, in a folder and a ZIP", async () => {
    await setContract({ ...IRIS_CONTRACT, inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }] });
    assert.deepEqual((await validate(dir)).issues, []);
    const zip = join(tmp.dir, "iris.zip");
    await pack(dir, { output: zip, force: true });
    assert.equal((await validate(zip)).valid, true);
  });

  it("names every disagreement with OMAF_ERR_CONTRACT_MISMATCH: datatype, rank, fixed dimension, unknown and undeclared names", async () => {
    await setContract({
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "probabilities", datatype: "FP64", shape: [-1, 3] },
        { name: "label", datatype: "INT64", shape: [-1] },
      ],
    });
    const { valid, issues } = await validate(dir);
    assert.equal(valid, false);
    const got = issues.map((i) => [i.code, i.path]);
    assert.deepEqual(got, [
      ["OMAF_ERR_CONTRACT_MISMATCH", "model.inputs.0.name"],
      ["OMAF_ERR_CONTRACT_MISMATCH", "model.inputs"],
      ["OMAF_ERR_CONTRACT_MISMATCH", "model.outputs.0.datatype"],
      ["OMAF_ERR_CONTRACT_MISMATCH", "model.outputs.1.shape"],
    ]);
    assert.match(issues[1].message, /needs input 'input' \(FP32 \[-1,4\]\)/);
    assert.match(issues[3].message, /rank 1 \[-1\]; model\/iris\.onnx has rank 2/);

    await setContract({ ...IRIS_CONTRACT, inputs: [{ name: "input", datatype: "FP32", shape: [-1, 5] }] });
    const fixed = (await validate(dir)).issues;
    assert.deepEqual(
      fixed.map((i) => i.code),
      ["OMAF_ERR_CONTRACT_MISMATCH"],
    );
    assert.match(fixed[0].message, /dimension 1 as 5; model\/iris\.onnx fixes it to 4/);
  });

  it("a file too large to read here is left unchecked with OMAF_WARN_CONTRACT_UNCHECKED; one that is not ONNX is OMAF_ERR_ENTRYPOINT", async () => {
    const manifest = parse(await readFile(join(IRIS, "odahuflow.model.yaml"), "utf8")) as OmafManifest;
    Object.assign(manifest.model, IRIS_CONTRACT);
    const files = [{ path: "model/iris.onnx", size: 1000 }];
    const never = async (): Promise<Uint8Array> => assert.fail("a file over the limit must not be read");
    const unchecked = await contractFileIssues(manifest, files, never, 999);
    assert.deepEqual(
      unchecked.map((i) => [i.code, i.severity]),
      [["OMAF_WARN_CONTRACT_UNCHECKED", "warning"]],
    );
    const garbage = await contractFileIssues(manifest, files, async () => Buffer.from("not a protobuf at all, just text"));
    assert.deepEqual(
      garbage.map((i) => i.code),
      ["OMAF_ERR_ENTRYPOINT"],
    );
  });

  it("omaf validate --json reports the code and exits 1", async () => {
    await setContract({ ...IRIS_CONTRACT, inputs: [{ name: "input", datatype: "INT32", shape: [-1, 4] }] });
    const res = omaf(["validate", "--json", dir]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /OMAF_ERR_CONTRACT_MISMATCH/);
  });
});
