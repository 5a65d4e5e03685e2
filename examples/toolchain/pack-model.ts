// How a training toolchain packs its output with the omaf library: write the model folder, then three lines.
//   node --import tsx examples/toolchain/pack-model.ts [outDir]
import { mkdtemp, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { pack, validate } from "omaf";

// 1. The toolchain's training step leaves a model folder (here: a tiny node GPPI model).
const dir = await mkdtemp(path.join(os.tmpdir(), "omaf-toolchain-"));
await mkdir(path.join(dir, "src"));
await writeFile(
  path.join(dir, "src", "model.mjs"),
  `export const init = () => "matrix";
export const predict_on_matrix = (rows) => [rows.map((r) => [r.reduce((a, b) => a + b, 0)]), ["sum"]];
`,
);
await writeFile(
  path.join(dir, "odahuflow.model.yaml"),
  stringify({
    binaries: { type: "node", dependencies: "none" },
    model: { name: "sum", version: "1.0.0-1", workDir: "src", entrypoint: "model.mjs" },
    odahuflowVersion: "1.0",
    toolchain: { name: "example-toolchain", version: "0.1.0" },
  }),
);

// 2. Pack it — validation runs first and refuses an invalid folder, listing every issue.
const out = path.join(process.argv[2] ?? os.tmpdir(), "sum-1.0.0-1.zip");
const { output, artifactDigest } = await pack(dir, { output: out, force: true });
console.log(output, artifactDigest, (await validate(output)).valid ? "valid" : "invalid");
