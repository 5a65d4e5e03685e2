// Kubernetes manifests for an image plan: a KServe ServingRuntime for the image and two InferenceServices that use it
// (the model baked into the image, or fetched from a storageUri by KServe's storage initializer), and, for clusters
// without KServe, a plain Deployment + Service + HorizontalPodAutoscaler. Replicas and autoscaling are the engine's:
// omaf keeps no state between requests, so any replica answers any request.
import { stringify } from "yaml";
import { IMAGE_CACHE_DIR, type ImagePlan, MODEL_DIR } from "./image-plan.js";

type Manifest = Record<string, unknown>;

/** Container resources; the worker counts below follow the CPU limit (a container sees the node's CPUs, not its quota). */
const RESOURCES = { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };
const WORKERS = "2";
/** A drain (SIGTERM) waits up to 30 s for in-flight requests (--drain-timeout-ms); the kubelet must wait longer. */
const TERMINATION_GRACE_SECONDS = 45;

/** Every manifest file, by its path in the build context. */
export function kubernetesManifests(plan: ImagePlan): Record<string, string> {
  return {
    "k8s/kserve/servingruntime.yaml": yamlDocuments([servingRuntime(plan)]),
    "k8s/kserve/inferenceservice.yaml": yamlDocuments([inferenceService(plan, false)]),
    "k8s/kserve/inferenceservice-storage.yaml": yamlDocuments([inferenceService(plan, true)]),
    "k8s/deployment.yaml": yamlDocuments(plainDeployment(plan)),
  };
}

function yamlDocuments(docs: Manifest[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

const labelsOf = (plan: ImagePlan) => ({
  "app.kubernetes.io/name": plan.kserve.name,
  "app.kubernetes.io/version": labelValue(plan.model.version),
  "app.kubernetes.io/component": "model-server",
});

/** A Kubernetes label value: at most 63 characters, alphanumeric at both ends. */
function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

const env = (pairs: Array<[string, string]>) => pairs.map(([name, value]) => ({ name, value }));

/** Environment both paths give the container: worker counts, cache and batching settings. */
function serverEnv(plan: ImagePlan): Array<[string, string]> {
  const pairs: Array<[string, string]> = [["OMAF_CACHE_DIR", IMAGE_CACHE_DIR]];
  const workers = { node: "OMAF_NODE_WORKERS", python: "OMAF_PYTHON_WORKERS", java: "OMAF_JAVA_WORKERS" }[plan.model.type];
  if (workers) pairs.push([workers, WORKERS]);
  return pairs;
}

function batchingEnv(plan: ImagePlan): Array<[string, string]> {
  const b = plan.batching;
  if (b?.via !== "omaf") return [];
  return [
    ["OMAF_MAX_BATCH_SIZE", String(b.maxBatchSize)],
    ...(b.maxBatchTimeMs !== undefined ? [["OMAF_MAX_BATCH_TIME", String(b.maxBatchTimeMs)] as [string, string]] : []),
  ];
}

/** The security settings of a container whose root file system is read-only: only /tmp (an emptyDir) is written. */
const SECURITY_CONTEXT = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};
const TMP_VOLUME = { name: "omaf-tmp", emptyDir: {} };
const TMP_MOUNT = { name: "omaf-tmp", mountPath: "/tmp" };

/**
 * The ServingRuntime: KServe's predictor container `kserve-container`, HTTP on 8080 (v1 and v2 REST) and, in
 * RawDeployment mode, gRPC v2 on the port named `h2c` (Knative's serverless mode allows one port: HTTP). It serves
 * /mnt/models — the storage initializer's download, or, without a storageUri, the artifact baked into the image at the
 * same place — under the InferenceService's name. Probes use the HTTP port, the one port Knative lets them use.
 */
function servingRuntime(plan: ImagePlan): Manifest {
  const http = 8080;
  const grpc = 8081;
  const ports: Manifest[] = [{ name: "http1", containerPort: http, protocol: "TCP" }];
  if (plan.kserve.mode === "raw") ports.push({ name: "h2c", containerPort: grpc, protocol: "TCP" });
  return {
    apiVersion: "serving.kserve.io/v1alpha1",
    kind: "ServingRuntime",
    metadata: { name: plan.kserve.runtime, labels: labelsOf(plan) },
    spec: {
      supportedModelFormats: [{ name: plan.kserve.format.name, version: plan.kserve.format.version, autoSelect: true, priority: 1 }],
      protocolVersions: ["v1", "v2", "grpc-v2"],
      multiModel: false,
      annotations: { "prometheus.kserve.io/port": String(http), "prometheus.kserve.io/path": "/metrics" },
      containers: [
        {
          name: "kserve-container",
          image: plan.image.reference,
          args: ["serve", MODEL_DIR, "--model-name={{.Name}}"],
          env: env([
            ["OMAF_INTERFACES", "oip-rest,kserve-v1,oip-grpc"],
            ["OMAF_HTTP_PORT", String(http)],
            ["OMAF_OIP_GRPC_PORT", String(grpc)],
            ...serverEnv(plan),
          ]),
          ports,
          readinessProbe: { httpGet: { path: "/readyz", port: http }, periodSeconds: 5, failureThreshold: 3 },
          livenessProbe: { httpGet: { path: "/healthz", port: http }, periodSeconds: 10, failureThreshold: 3 },
          resources: RESOURCES,
          securityContext: SECURITY_CONTEXT,
          volumeMounts: [TMP_MOUNT],
        },
      ],
      volumes: [TMP_VOLUME],
    },
  };
}

/**
 * An InferenceService on the runtime above: the model baked into the image (no storageUri: the image's /mnt/models
 * is served), or the artifact at a storageUri that KServe downloads and unpacks into /mnt/models. Scaling is KServe's:
 * an HPA on CPU in RawDeployment mode, Knative's autoscaler on concurrency in serverless mode.
 */
function inferenceService(plan: ImagePlan, storage: boolean): Manifest {
  const raw = plan.kserve.mode === "raw";
  const batching = batchingEnv(plan);
  const b = plan.batching;
  return {
    apiVersion: "serving.kserve.io/v1beta1",
    kind: "InferenceService",
    metadata: {
      name: plan.kserve.name,
      labels: labelsOf(plan),
      annotations: {
        "serving.kserve.io/deploymentMode": raw ? "RawDeployment" : "Serverless",
        ...(raw ? { "serving.kserve.io/autoscalerClass": "hpa" } : {}),
      },
    },
    spec: {
      predictor: {
        minReplicas: plan.replicas.min,
        maxReplicas: plan.replicas.max,
        scaleMetric: raw ? "cpu" : "concurrency",
        scaleTarget: raw ? 75 : 16,
        ...(b?.via === "kserve"
          ? { batcher: { maxBatchSize: b.maxBatchSize, ...(b.maxBatchTimeMs !== undefined ? { maxLatency: b.maxBatchTimeMs } : {}) } }
          : {}),
        model: {
          modelFormat: plan.kserve.format,
          runtime: plan.kserve.runtime,
          protocolVersion: "v2",
          ...(storage ? { storageUri: plan.kserve.storageUri } : {}),
          ...(batching.length > 0 ? { env: env(batching) } : {}),
        },
      },
    },
  };
}

/**
 * Deployment + Service + HorizontalPodAutoscaler: the image as it is (its interfaces, ports and artifact), probes on
 * the health port (answered from their own thread while a large request holds the main one), the HPA scaling on CPU.
 */
function plainDeployment(plan: ImagePlan): Manifest[] {
  const name = plan.kserve.name;
  const labels = labelsOf(plan);
  const selector = { "app.kubernetes.io/name": name };
  const { http, oipGrpc, omi, odahu, health } = plan.ports;
  const named: Array<[string, number | undefined, string]> = [
    ["http", http, "http"],
    ["grpc", oipGrpc, "kubernetes.io/h2c"],
    ["omi", omi, "kubernetes.io/h2c"],
    ["odahu", odahu, "http"],
  ];
  const served = named.filter((p): p is [string, number, string] => p[1] !== undefined);
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      replicas: plan.replicas.min,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: http ? { "prometheus.io/scrape": "true", "prometheus.io/port": String(http), "prometheus.io/path": "/metrics" } : {},
        },
        spec: {
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          containers: [
            {
              name: "omaf",
              image: plan.image.reference,
              args: ["serve", MODEL_DIR],
              env: env([["OMAF_INTERFACES", plan.interfaces.join(",")], ["OMAF_HEALTH_PORT", String(health)], ...serverEnv(plan), ...batchingEnv(plan)]),
              ports: [
                ...served.map(([n, port]) => ({ name: n, containerPort: port, protocol: "TCP" })),
                { name: "health", containerPort: health, protocol: "TCP" },
              ],
              readinessProbe: { httpGet: { path: "/readyz", port: "health" }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 10, failureThreshold: 3 },
              startupProbe: { httpGet: { path: "/readyz", port: "health" }, periodSeconds: 2, failureThreshold: 150 },
              resources: RESOURCES,
              securityContext: SECURITY_CONTEXT,
              volumeMounts: [TMP_MOUNT],
            },
          ],
          volumes: [TMP_VOLUME],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, labels },
    spec: {
      selector,
      ports: served.map(([n, port, appProtocol]) => ({ name: n, port, targetPort: n, protocol: "TCP", appProtocol })),
    },
  };
  const hpa = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: plan.replicas.min,
      maxReplicas: plan.replicas.max,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 75 } } }],
    },
  };
  return [deployment, service, hpa];
}
