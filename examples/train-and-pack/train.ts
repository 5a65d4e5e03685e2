// A training toolchain in TypeScript: train a classifier with an npm ML library, wrap it in a node GPPI entrypoint,
// and ship it as a signed OMAF artifact with the omaf library — validated, packed, signed, verified and checked
// in-process before anything serves it.
//
//   node --import tsx examples/train-and-pack/train.ts [outDir] [--key <private.pem>] [--seed <n>] [--data <csv>] [--json]
//
// outDir (default train-out) gets model/ (the folder that is packed), iris-logreg-1.0.0-1.zip and, without --key,
// a key pair signing.key / signing.pub (made once, then reused). Training is seeded and the artifact is packed
// deterministically, so the same run gives the same artifact digest.
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import LogisticRegression from "ml-logistic-regression";
import { Matrix } from "ml-matrix";
import { openOffline, pack, readPrivateKey, signArtifact, testArtifact, validate, verifyArtifact, writeSigningKey, type PublicSigningKey } from "omaf";
import { stringify } from "yaml";
import type { SavedModel } from "./model.ts";

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    key: { type: "string" },
    seed: { type: "string", default: "14" },
    // Fisher's iris data, as the java-iris example trains on it.
    data: { type: "string", default: fileURLToPath(new URL("../java-iris/data/iris.csv", import.meta.url)) },
    json: { type: "boolean", default: false },
  },
});
const outDir = path.resolve(positionals[0] ?? "train-out");
const seed = Number(flags.seed);
const say = (line: string) => {
  if (!flags.json) console.log(line);
};

// ── 1. train ─────────────────────────────────────────────────────────────────
const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const CLASSES = ["setosa", "versicolor", "virginica"];
const HELD_OUT = 30;
const library = JSON.parse(await readFile(new URL(import.meta.resolve("ml-logistic-regression/package.json")), "utf8")) as { name: string; version: string };

// One row per flower: the four measurements (cm) and the species.
const records: Record<string, string>[] = parseCsv(await readFile(flags.data), { columns: true });
const rows = shuffled(
  records.map((r) => ({ x: FEATURES.map((f) => Number(r[f])), y: CLASSES.indexOf(r.species) })),
  seed,
);
if (rows.some((r) => r.y < 0 || !r.x.every(Number.isFinite)))
  throw new Error(`${flags.data}: every row needs ${FEATURES.join(", ")} and a species of ${CLASSES.join(", ")}`);
const train = rows.slice(HELD_OUT);
const heldOut = rows.slice(0, HELD_OUT);

// Standardised features and a constant column for the intercept (the library fits none of its own).
const mean = FEATURES.map((_, j) => train.reduce((s, r) => s + r.x[j], 0) / train.length);
const std = FEATURES.map((_, j) => Math.sqrt(train.reduce((s, r) => s + (r.x[j] - mean[j]) ** 2, 0) / train.length));
const design = (x: number[][]) => new Matrix(x.map((row) => [1, ...row.map((v, j) => (v - mean[j]) / std[j])]));

const classifier = new LogisticRegression({ numSteps: 2000, learningRate: 5e-3 });
classifier.train(design(train.map((r) => r.x)), Matrix.columnVector(train.map((r) => r.y)));

/** The library's own answer for rows, in the entrypoint's columns: [class, p_setosa, p_versicolor, p_virginica]. */
function libraryAnswer(x: number[][]): number[][] {
  const features = design(x);
  const classes = classifier.predict(features);
  const scores = classifier.classifiers.map((c) => c.testScores(features));
  return classes.map((k, i) => [k, ...scores.map((s) => 1 - s[i])]);
}
const expected = libraryAnswer(heldOut.map((r) => r.x));
const right = expected.filter((p, i) => p[0] === heldOut[i].y).length;
say(`trained ${library.name} ${library.version} on ${train.length} iris rows (seed ${seed}): ${right}/${HELD_OUT} held-out rows right`);

// ── 2. the model folder ──────────────────────────────────────────────────────
const modelDir = path.join(outDir, "model");
await rm(modelDir, { recursive: true, force: true }); // nothing left over from an earlier run
await mkdir(path.join(modelDir, "src"), { recursive: true });
await mkdir(path.join(modelDir, "sample"));
const saved: SavedModel & { trainedWith: object } = {
  features: FEATURES,
  classes: CLASSES,
  mean,
  std,
  logisticRegression: JSON.parse(JSON.stringify(classifier)),
  trainedWith: { library: `${library.name}@${library.version}`, seed, rows: train.length, heldOut: HELD_OUT, heldOutRight: right },
};
await writeFile(path.join(modelDir, "src", "model.json"), `${JSON.stringify(saved, null, 2)}\n`);
await copyFile(new URL("./model.ts", import.meta.url), path.join(modelDir, "src", "model.ts"));
// The held-out rows and the library's answers to them: `omaf test` checks the entrypoint answers the same.
const columns = ["class", ...CLASSES.map((c) => `p_${c}`)];
await writeFile(path.join(modelDir, "sample", "input.csv"), [FEATURES.join(","), ...heldOut.map((r) => r.x.join(","))].join("\n") + "\n");
await writeFile(path.join(modelDir, "sample", "output.json"), `${JSON.stringify({ prediction: expected, columns })}\n`);
await writeFile(
  path.join(modelDir, "odahuflow.model.yaml"),
  stringify({
    binaries: { type: "node", dependencies: "none" },
    model: { name: "iris-logreg", version: "1.0.0-1", workDir: "src", entrypoint: "model" },
    odahuflowVersion: "1.0",
    toolchain: { name: "train-and-pack", version: "1.0.0" },
    sample: { input: "sample/input.csv", output: "sample/output.json" },
    serving: { batch_rows: true },
  }),
);

// ── 3. validate, pack, sign, verify, self-test and predict with omaf ─────────
const check = await validate(modelDir);
for (const issue of check.issues) say(`  ${issue.severity} ${issue.code} ${issue.path ?? ""}: ${issue.message}`);
if (!check.valid) throw new Error(`${modelDir} is not a valid model folder`);
say(`valid: ${modelDir}`);

const { output: artifact, artifactDigest } = await pack(modelDir, { output: path.join(outDir, "iris-logreg-1.0.0-1.zip"), force: true });
say(`packed ${artifact} ${artifactDigest}`);

const keyFile = flags.key ?? path.join(outDir, "signing.key");
if (!flags.key && !(await exists(keyFile))) await writeSigningKey(path.join(outDir, "signing"));
const signer = await readPrivateKey(keyFile);
const publicKey: PublicSigningKey = { key: signer.key, keyId: signer.keyId, source: keyFile };
await signArtifact(artifact, { key: signer });
const verified = await verifyArtifact(artifact, { keys: [publicKey] });
say(`signed and verified: key ${signer.keyId} (${keyFile})`);

// The same self-check as `omaf test`: load the entrypoint, run the sample, compare with the library's answers.
const report = await testArtifact(artifact, {
  onStep: (s) => say(`  test ${s.step}: ${s.status}${s.detail ? ` — ${s.detail}` : ""}${s.error ? ` ${s.error.code}: ${s.error.message}` : ""}`),
});
if (!report.passed) throw new Error(`${artifact} failed its self-test`);

// One prediction in-process, through the same dataplane `omaf serve` answers with.
const request = { columns: FEATURES, data: [[5.1, 3.5, 1.4, 0.2]] };
const session = await openOffline(artifact);
let answer: { prediction: unknown[]; columns?: string[] };
try {
  await session.dataplane.load();
  answer = await session.dataplane.predictMatrix(request, { requestId: "train-and-pack", protocol: "library" });
} finally {
  await session.close();
}
say(`${JSON.stringify(request.data[0])} → ${JSON.stringify(answer.prediction[0])} (${answer.columns?.join(", ")})`);

if (flags.json) {
  console.log(
    JSON.stringify({
      artifact,
      artifactDigest,
      keyId: signer.keyId,
      signedBy: verified.keyIds,
      heldOutRight: right,
      heldOut: HELD_OUT,
      selfTest: report.passed,
      request,
      answer,
      library: libraryAnswer(request.data)[0],
    }),
  );
}

/** A copy of `items` in an order fixed by `seed` (Fisher–Yates with the mulberry32 generator). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
