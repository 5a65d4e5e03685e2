// The Kubernetes and KServe manifests `omaf image` writes: the KServe ones validate against KServe's own CRD schemas
// (test/deploy/kserve-crds, verbatim upstream; unknown fields refused, as kubeconform --strict does, since the API
// server would silently prune a misspelt one), the plain ones against the Kubernetes OpenAPI schemas that
// kubernetes-models ships; and they agree with each other and with the image: names, selectors, ports, probes, labels.
// The ServingRuntime's container arguments and environment are then run as they are by a real `omaf serve` against a
// model folder like /mnt/models: its probe paths answer on its HTTP port, and it serves the InferenceService's name.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Service } from "kubernetes-models/v1/Service";
import { parse, parseAllDocuments } from "yaml";
import { unpackArchive } from "../../src/archive/unpack.js";
import { pack } from "../../src/artifact/pack.js";
import { omaf } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, writeSumModel } from "../helpers/serve.js";
import { propertiesOf, readSteps } from "./dockerfile-steps.js";
import { skipOnRepeat } from "../helpers/repeat.js";

const CRDS = fileURLToPath(new URL("./kserve-crds/", import.meta.url));
const IRIS = fileURLToPath(new URL("../../examples/iris-onnx", import.meta.url));

type Obj = Record<string, unknown>;
// Manifests are read as plain YAML and walked by path.
type Any = any;

/** Adds `additionalProperties: false` wherever an object schema lists its properties and keeps no unknown fields. */
function strict(schema: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties" && v && typeof v === "object") out[k] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, strict(s as Obj)]));
    else if ((k === "items" || k === "additionalProperties") && v && typeof v === "object") out[k] = strict(v as Obj);
    else if ((k === "anyOf" || k === "allOf" || k === "oneOf") && Array.isArray(v)) out[k] = v.map((s) => strict(s as Obj));
    else out[k] = v;
  }
  if (schema.properties && schema.additionalProperties === undefined && !schema["x-kubernetes-preserve-unknown-fields"]) out.additionalProperties = false;
  return out;
}

/** A validator per CRD version, e.g. `InferenceService/v1beta1`. */
async function crdValidators(): Promise<Map<string, ValidateFunction>> {
  // strict: false lets the x-kubernetes-* keywords through; int32/int64 are OpenAPI formats ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat("date-time", true);
  const out = new Map<string, ValidateFunction>();
  for (const file of ["serving.kserve.io_inferenceservices.yaml", "serving.kserve.io_servingruntimes.yaml"]) {
    const crd = parse(await readFile(path.join(CRDS, file), "utf8")) as Any;
    for (const v of crd.spec.versions) out.set(`${crd.spec.names.kind}/${v.name}`, ajv.compile(strict(v.schema.openAPIV3Schema)));
  }
  return out;
}

function validateKserve(validators: Map<string, ValidateFunction>, doc: Any, file: string): void {
  const key = `${doc.kind}/${String(doc.apiVersion).split("/")[1]}`;
  const validate = validators.get(key);
  assert.ok(validate, `${file}: no CRD schema for ${key}`);
  assert.equal(String(doc.apiVersion).split("/")[0], "serving.kserve.io", file);
  assert.ok(validate(doc), `${file} breaks the ${key} schema: ${JSON.stringify(validate.errors, null, 2)}`);
}

const docsOf = async (file: string): Promise<Any[]> => parseAllDocuments(await readFile(file, "utf8")).map((d) => d.toJS());

describe("the Kubernetes and KServe manifests of omaf image", { timeout: 240_000, skip: skipOnRepeat }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let validators: Map<string, ValidateFunction>;

  /** Writes a context for IRIS with `args`; answers its folder. */
  const context = (name: string, args: string[] = []) => {
    const dir = path.join(tmp.dir, name);
    const r = omaf(["image", IRIS, "-o", dir, "--omaf-from", "npm", ...args]);
    assert.equal(r.code, 0, r.stderr);
    return dir;
  };

  before(async () => {
    tmp = await tempDir("omaf-k8s-");
    validators = await crdValidators();
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it("the schema check can fail: a misspelt field, a wrong type and an unknown scale metric are refused", async () => {
    const [isvc] = await docsOf(path.join(context("control"), "k8s/kserve/inferenceservice.yaml"));
    const broken = [
      (d: Any) => (d.spec.predictor.minReplica = 1),
      (d: Any) => (d.spec.predictor.maxReplicas = "3"),
      (d: Any) => (d.spec.predictor.scaleMetric = "gpu"),
      (d: Any) => (d.spec.predictor.model.modelFormat = { version: "1" }),
    ];
    for (const change of broken) {
      const doc = structuredClone(isvc);
      change(doc);
      assert.throws(() => validateKserve(validators, doc, "broken"), /breaks the InferenceService\/v1beta1 schema/);
    }
  });

  for (const [name, args] of [
    ["raw", []],
    ["serverless", ["--kserve-mode", "serverless"]],
    ["kserve-batcher", ["--max-batch-size", "16", "--max-batch-time", "10", "--batcher", "kserve", "--min-replicas", "2", "--max-replicas", "5"]],
    ["omaf-batching", ["--max-batch-size", "32", "--storage-uri", "gs://bucket/iris.zip"]],
  ] as Array<[string, string[]]>) {
    it(`${name}: the KServe manifests validate against the CRD schemas and agree with each other`, async () => {
      const dir = context(name, args);
      const [runtime] = await docsOf(path.join(dir, "k8s/kserve/servingruntime.yaml"));
      const [baked] = await docsOf(path.join(dir, "k8s/kserve/inferenceservice.yaml"));
      const [stored] = await docsOf(path.join(dir, "k8s/kserve/inferenceservice-storage.yaml"));
      validateKserve(validators, runtime, "servingruntime.yaml");
      validateKserve(validators, baked, "inferenceservice.yaml");
      validateKserve(validators, stored, "inferenceservice-storage.yaml");
      const summary = JSON.parse(await readFile(path.join(dir, "omaf-image.json"), "utf8")) as Any;

      // The runtime: KServe's container name, the image, HTTP 8080 and gRPC h2c 8081 (serverless: HTTP only).
      assert.deepEqual(runtime.spec.protocolVersions, ["v1", "v2", "grpc-v2"]);
      assert.deepEqual(runtime.spec.supportedModelFormats, [{ name: "omaf", version: "1", autoSelect: true, priority: 1 }]);
      const [c] = runtime.spec.containers;
      assert.equal(runtime.spec.containers.length, 1);
      assert.equal(c.name, "kserve-container");
      assert.equal(c.image, summary.image);
      assert.deepEqual(c.args, ["serve", "/mnt/models", "--model-name={{.Name}}"]);
      const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
      const expectedPorts = [{ name: "http1", containerPort: 8080, protocol: "TCP" }];
      if (name !== "serverless") expectedPorts.push({ name: "h2c", containerPort: 8081, protocol: "TCP" });
      assert.deepEqual(c.ports, expectedPorts);
      assert.equal(env.OMAF_HTTP_PORT, "8080");
      assert.equal(env.OMAF_OIP_GRPC_PORT, "8081");
      assert.deepEqual(env.OMAF_INTERFACES.split(",").sort(), ["kserve-v1", "oip-grpc", "oip-rest"]);
      assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: 8080 });
      assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: 8080 });
      assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(c.volumeMounts, [{ name: "omaf-tmp", mountPath: "/tmp" }]);
      assert.equal(env.OMAF_CACHE_DIR.startsWith("/tmp/"), true, "the cache is on the writable mount");
      assert.deepEqual(runtime.spec.volumes, [{ name: "omaf-tmp", emptyDir: {} }]);

      // Both InferenceServices use it; one names the artifact's storageUri, the other serves the image's own copy.
      for (const isvc of [baked, stored]) {
        assert.equal(isvc.metadata.name, "iris-onnx");
        assert.equal(isvc.spec.predictor.model.runtime, runtime.metadata.name);
        assert.equal(isvc.spec.predictor.model.modelFormat.name, runtime.spec.supportedModelFormats[0].name);
        assert.equal(isvc.spec.predictor.model.protocolVersion, "v2");
        assert.equal(isvc.metadata.annotations["serving.kserve.io/deploymentMode"], name === "serverless" ? "Serverless" : "RawDeployment");
        assert.equal(isvc.spec.predictor.scaleMetric, name === "serverless" ? "concurrency" : "cpu");
        assert.equal(isvc.spec.predictor.minReplicas, name === "kserve-batcher" ? 2 : 1);
        assert.equal(isvc.spec.predictor.maxReplicas, name === "kserve-batcher" ? 5 : 3);
        if (name === "kserve-batcher") assert.deepEqual(isvc.spec.predictor.batcher, { maxBatchSize: 16, maxLatency: 10 });
        else assert.equal(isvc.spec.predictor.batcher, undefined);
        const modelEnv = Object.fromEntries((isvc.spec.predictor.model.env ?? []).map((e: Any) => [e.name, e.value]));
        assert.deepEqual(modelEnv, name === "omaf-batching" ? { OMAF_MAX_BATCH_SIZE: "32" } : {});
      }
      assert.equal(baked.spec.predictor.model.storageUri, undefined);
      assert.equal(stored.spec.predictor.model.storageUri, name === "omaf-batching" ? "gs://bucket/iris.zip" : "s3://models/iris-onnx/iris-onnx-1.0.0-1.zip");
    });
  }

  it("the Deployment, Service and HPA validate against the Kubernetes schemas and match each other and the image", async () => {
    const dir = context("plain", ["--max-batch-size", "8"]);
    const docs = await docsOf(path.join(dir, "k8s/deployment.yaml"));
    assert.deepEqual(
      docs.map((d) => d.kind),
      ["Deployment", "Service", "HorizontalPodAutoscaler"],
    );
    const [deployment, service, hpa] = docs;
    new Deployment(deployment).validate();
    new Service(service).validate();
    new HorizontalPodAutoscaler(hpa).validate();

    const dockerfile = await readFile(path.join(dir, "Dockerfile"), "utf8");
    const exposed = readSteps(dockerfile)
      .filter((s) => s.keyword === "EXPOSE")
      .flatMap((s) => s.text.split(/\s+/).map(Number));
    const imageEnv = propertiesOf(dockerfile, "ENV");
    const labels = propertiesOf(dockerfile, "LABEL");

    const pod = deployment.spec.template;
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v, `the selector ${k} matches the pods`);
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels, "the Service selects the Deployment's pods");
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
    assert.equal(hpa.spec.minReplicas, deployment.spec.replicas);

    const [c] = pod.spec.containers;
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    const portByName = new Map<string, number>(c.ports.map((p: Any) => [p.name, p.containerPort]));
    assert.deepEqual(
      [...portByName.values()].sort((a, b) => a - b),
      exposed,
      "the container declares exactly the ports the image exposes",
    );
    assert.equal(String(portByName.get("health")), env.OMAF_HEALTH_PORT);
    assert.equal(env.OMAF_HEALTH_PORT, imageEnv.OMAF_HEALTH_PORT);
    assert.equal(env.OMAF_INTERFACES, imageEnv.OMAF_INTERFACES);
    assert.equal(env.OMAF_MAX_BATCH_SIZE, "8");
    assert.equal(String(portByName.get("http")), labels["ml.openmodel.port"], "the OMI port label is the HTTP port");
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) assert.ok(portByName.has(probe.httpGet.port), `probe port ${probe.httpGet.port}`);
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    for (const p of service.spec.ports) assert.equal(portByName.get(p.targetPort), p.port, `Service port ${p.name} reaches the container's`);
    assert.deepEqual(
      service.spec.ports.map((p: Any) => p.name),
      ["http", "grpc", "omi"],
    );
    assert.deepEqual(c.args, ["serve", "/mnt/models"]);
    assert.equal(c.image, JSON.parse(await readFile(path.join(dir, "omaf-image.json"), "utf8")).image);
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  });

  it("the ServingRuntime's arguments and environment, run as they are by omaf serve on a /mnt/models folder, answer its probes and serve the InferenceService's name", async () => {
    const dir = context("run-runtime");
    const [runtime] = await docsOf(path.join(dir, "k8s/kserve/servingruntime.yaml"));
    const [isvc] = await docsOf(path.join(dir, "k8s/kserve/inferenceservice-storage.yaml"));
    const [c] = runtime.spec.containers;
    // What KServe's storage initializer leaves: the artifact unpacked into the model folder.
    const zip = path.join(tmp.dir, "sum.zip");
    await pack(await writeSumModel(path.join(tmp.dir, "sum")), { output: zip });
    const models = path.join(tmp.dir, "mnt", "models");
    await unpackArchive(zip, models);
    // KServe fills in {{.Name}}; the ports move to free ones (flags win over the environment).
    const args = c.args.slice(1).map((a: string) => (a === "/mnt/models" ? models : a.replace("{{.Name}}", isvc.metadata.name)));
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value === "/tmp/omaf" ? path.join(tmp.dir, "cache") : e.value]));
    assert.equal(c.args[0], "serve");
    const server = await startServe(args[0], { args: args.slice(1), env });
    try {
      const http = server.url("OIP v2 REST");
      assert.ok(
        server.listeners.some((l) => l.label === "OIP v2 gRPC"),
        "the h2c port's protocol is served",
      );
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const res = await fetch(`${http}${probe.httpGet.path}`);
        assert.equal(res.status, 200, `${probe.httpGet.path}: ${await res.text()}`);
      }
      const v1 = await fetch(`${http}/v1/models/${isvc.metadata.name}:predict`, { method: "POST", body: JSON.stringify({ instances: [[2, 2]] }) });
      assert.equal(v1.status, 200, await v1.clone().text());
      assert.deepEqual(((await v1.json()) as { predictions: unknown }).predictions, [[4]]);
    } finally {
      await server.kill();
    }
  });
});
