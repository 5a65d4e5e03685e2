// The docs page's example requests from a model's metadata and its artifact's sample file (src/server/docs/examples.ts):
// a sample of many rows gives its first few, a sample file too large (or missing) gives way to what the model declares,
// and each kind of model gets the OIP and KServe forms its routes read. The served answers to these examples are
// checked end to end in test/http/docs.test.ts.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ModelMetadata } from "../../src/runtime/model.js";
import { EXAMPLE_ROWS, examplesOf, MAX_SAMPLE_FILE_BYTES } from "../../src/server/docs/examples.js";
import { tempDir } from "../helpers/fixtures.js";

const matrix: ModelMetadata = {
  name: "m",
  version: "1",
  environment: "node",
  mode: "matrix",
  inputs: [],
  outputs: [],
  inputSchema: [
    { name: "a", type: "number", example: 1 },
    { name: "b", type: "number", example: 2 },
  ],
};

describe("example requests", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir("omaf-docs-examples-");
    await writeFile(join(tmp.dir, "many.csv"), `a,b\n${Array.from({ length: 20 }, (_, i) => `${i},${i * 10}`).join("\n")}\n`);
    await writeFile(join(tmp.dir, "large.csv"), `a,b\n${"1,2\n".repeat(MAX_SAMPLE_FILE_BYTES / 4 + 1)}`);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("a sample of many rows gives its first few, as one named-columns tensor and as KServe objects", async () => {
    const examples = await examplesOf({ meta: matrix, takesTensors: false, dir: tmp.dir, sampleInput: "many.csv" });
    assert.equal(examples?.label, "sample.input many.csv");
    assert.deepEqual(examples?.oip, {
      inputs: [
        {
          name: "input",
          shape: [EXAMPLE_ROWS, 2],
          datatype: "FP64",
          data: Array.from({ length: EXAMPLE_ROWS }, (_, i) => [i, i * 10]).flat(),
          parameters: { columns: ["a", "b"] },
        },
      ],
    });
    assert.deepEqual(
      examples?.kserve?.instances,
      Array.from({ length: EXAMPLE_ROWS }, (_, i) => ({ a: i, b: i * 10 })),
    );
  });

  it("a sample file too large, missing, or outside the artifact gives way to the info() examples", async () => {
    for (const sampleInput of ["large.csv", "missing.csv", "../outside.csv"]) {
      const examples = await examplesOf({ meta: matrix, takesTensors: false, dir: tmp.dir, sampleInput });
      assert.equal(examples?.label, "info() examples", sampleInput);
      assert.deepEqual(examples?.kserve, { instances: [{ a: 1, b: 2 }] });
    }
  });

  it("a tensor model's inputs filled with sample values; KServe instances name each input", async () => {
    const meta: ModelMetadata = {
      ...matrix,
      mode: "tensors",
      inputSchema: undefined,
      inputs: [
        { name: "X", datatype: "INT32", shape: [-1, 3] },
        { name: "FLAG", datatype: "BOOL", shape: [-1] },
      ],
    };
    const examples = await examplesOf({ meta, takesTensors: true });
    assert.deepEqual(examples?.oip?.inputs, [
      { name: "X", shape: [1, 3], datatype: "INT32", data: [1, 1, 1] },
      { name: "FLAG", shape: [1], datatype: "BOOL", data: [true] },
    ]);
    assert.deepEqual(examples?.kserve, { instances: [{ X: [1, 1, 1], FLAG: true }] });
  });

  it("a model without a sample or example values has none", async () => {
    assert.equal(await examplesOf({ meta: { ...matrix, mode: "objects", inputSchema: [{ name: "text", type: "string" }] }, takesTensors: false }), undefined);
  });
});
