// spec/omi.proto must match the Chassis ModzyModel service field for field, and the TypeScript message shapes in
// src/protocols/omi/messages.ts must match the proto (a full value survives an encode/decode round trip).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadOmiPackage, OMI_PROTO_PATH } from "../../src/protocols/omi/proto.js";
import type { RunRequest, RunResponse, ShutdownResponse, StatusResponse } from "../../src/protocols/omi/messages.js";

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

/** The Chassis table (protocols.md §4): message → "number:type name" per field. */
const EXPECTED: Record<string, string[]> = {
  StatusRequest: [],
  ShutdownRequest: [],
  ModelInfo: ["1:string model_name", "2:string model_version", "3:string model_author", "4:string model_type", "5:string source"],
  ModelDescription: ["1:string summary", "2:string details", "3:string technical", "4:string performance"],
  ModelInput: ["1:string filename", "2:repeated string accepted_media_types", "3:string max_size", "4:string description"],
  ModelOutput: ["1:string filename", "2:string media_type", "3:string max_size", "4:string description"],
  ModelResources: ["1:string required_ram", "2:float num_cpus", "3:int32 num_gpus"],
  ModelTimeout: ["1:string status", "2:string run"],
  ModelFeatures: [
    "1:bool adversarial_defense",
    "2:int32 batch_size",
    "3:bool retrainable",
    "4:string results_format",
    "5:string drift_format",
    "6:string explanation_format",
  ],
  StatusResponse: [
    "1:int32 status_code",
    "2:string status",
    "3:string message",
    "4:ModelInfo model_info",
    "5:ModelDescription description",
    "6:repeated ModelInput inputs",
    "7:repeated ModelOutput outputs",
    "8:ModelResources resources",
    "9:ModelTimeout timeout",
    "10:ModelFeatures features",
  ],
  InputItem: ["1:map<string,bytes> input"],
  RunRequest: ["1:repeated InputItem inputs", "2:bool detect_drift", "3:bool explain"],
  OutputItem: ["1:map<string,bytes> output", "2:bool success"],
  RunResponse: ["1:int32 status_code", "2:string status", "3:string message", "4:repeated OutputItem outputs"],
  ShutdownResponse: ["1:int32 status_code", "2:string status", "3:string message"],
};

const TYPES: Record<string, string> = {
  TYPE_STRING: "string",
  TYPE_BOOL: "bool",
  TYPE_INT32: "int32",
  TYPE_FLOAT: "float",
  TYPE_BYTES: "bytes",
};

function describeField(f: FieldDescriptor, owner: MessageDescriptor): string {
  const repeated = f.label === "LABEL_REPEATED" ? "repeated " : "";
  if (f.type !== "TYPE_MESSAGE") return `${f.number}:${repeated}${TYPES[f.type] ?? f.type} ${f.name}`;
  const typeName = f.typeName.replace(/^\./, "");
  // A map field is a repeated nested message marked mapEntry, with key = 1 and value = 2.
  const entry = owner.nestedType?.find((n) => n.name === typeName && n.options?.mapEntry);
  if (entry) {
    const [k, v] = entry.field;
    return `${f.number}:map<${TYPES[k.type]},${TYPES[v.type]}> ${f.name}`;
  }
  return `${f.number}:${repeated}${typeName.split(".").pop()} ${f.name}`;
}

describe("spec/omi.proto", () => {
  const pkg = loadOmiPackage();

  it("has no package, so methods are /ModzyModel/<name>", async () => {
    const text = await readFile(OMI_PROTO_PATH, "utf8");
    assert.doesNotMatch(text, /^\s*package\s/m);
    assert.match(text, /^syntax = "proto3";/m);
    const service = pkg.ModzyModel as unknown as ServiceDefinition;
    assert.deepEqual(
      Object.values(service).map((m) => [m.path, m.requestStream, m.responseStream]),
      [
        ["/ModzyModel/Status", false, false],
        ["/ModzyModel/Run", false, false],
        ["/ModzyModel/Shutdown", false, false],
      ],
    );
  });

  it("declares every Chassis message with the same field names, numbers and types", () => {
    const messages = new Map<string, MessageDescriptor>();
    for (const [name, def] of Object.entries(pkg)) {
      if ("format" in def && def.format === "Protocol Buffer 3 DescriptorProto") messages.set(name, def.type as MessageDescriptor);
      else if (!("format" in def)) assert.equal(name, "ModzyModel", `unexpected definition ${name}`);
    }
    assert.deepEqual([...messages.keys()].sort(), Object.keys(EXPECTED).sort());
    for (const [name, fields] of Object.entries(EXPECTED)) {
      const m = messages.get(name)!;
      assert.deepEqual(
        m.field.map((f) => describeField(f, m)),
        fields,
        name,
      );
    }
  });

  it("ships with the package (package.json files includes spec)", async () => {
    const pkgJson = JSON.parse(await readFile(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { files: string[] };
    assert.ok(pkgJson.files.includes("spec"));
  });

  it("matches the TypeScript message shapes (full values round-trip)", () => {
    const service = pkg.ModzyModel as unknown as ServiceDefinition;
    const roundTrip = <T>(method: string, side: "request" | "response", value: T): unknown => {
      const m = service[method];
      const bytes = side === "request" ? m.requestSerialize(value) : m.responseSerialize(value);
      return side === "request" ? m.requestDeserialize(bytes) : m.responseDeserialize(bytes);
    };
    const status: StatusResponse = {
      status_code: 200,
      status: "OK",
      message: "Model Initialized Successfully.",
      model_info: { model_name: "m", model_version: "1.0.0-1", model_author: "a", model_type: "onnx", source: "omaf" },
      description: { summary: "s", details: "d", technical: "t", performance: "p" },
      inputs: [{ filename: "input", accepted_media_types: ["application/json"], max_size: "64M", description: "x" }],
      outputs: [{ filename: "results.json", media_type: "application/json", max_size: "64M", description: "y" }],
      resources: { required_ram: "1G", num_cpus: 2, num_gpus: 1 },
      timeout: { status: "30s", run: "30s" },
      features: { adversarial_defense: true, batch_size: 4, retrainable: true, results_format: "r", drift_format: "d", explanation_format: "e" },
    };
    assert.deepEqual(roundTrip("Status", "response", status), status);
    const run: RunRequest = { inputs: [{ input: { "input.json": Buffer.from("[1]") } }], detect_drift: true, explain: true };
    assert.deepEqual(roundTrip("Run", "request", run), run);
    const runRes: RunResponse = { status_code: 200, status: "OK", message: "m", outputs: [{ output: { "results.json": Buffer.from("{}") }, success: true }] };
    assert.deepEqual(roundTrip("Run", "response", runRes), runRes);
    const shutdown: ShutdownResponse = { status_code: 200, status: "OK", message: "Model Shutdown Successfully." };
    assert.deepEqual(roundTrip("Shutdown", "response", shutdown), shutdown);
  });
});
