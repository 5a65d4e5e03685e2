import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  inputsFromGrpcRequest,
  loadOipPackage,
  OIP_PROTO_PATH,
  OIP_SERVICE_NAME,
  oipServiceDefinition,
  outputsToGrpc,
  parametersFromGrpc,
  parametersToGrpc,
  tensorFromGrpc,
  tensorToGrpc,
  type GrpcInferInputTensor,
  type GrpcModelInferRequest,
  type GrpcModelInferResponse,
} from "../../src/tensor/grpc-contents.js";
import { tensorToRaw } from "../../src/tensor/binary.js";
import { DATATYPES, type Tensor } from "../../src/tensor/tensor.js";
import { assertOmafError, assertSameTensor, sample } from "./samples.js";

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
  oneofDecl?: { name: string }[];
  options?: { mapEntry?: boolean } | null;
}

/** protocols.md §6 (and the published grpc_predict_v2.proto): message → "number:type name" per field. */
const EXPECTED: Record<string, string[]> = {
  ServerLiveRequest: [],
  ServerLiveResponse: ["1:bool live"],
  ServerReadyRequest: [],
  ServerReadyResponse: ["1:bool ready"],
  ModelReadyRequest: ["1:string name", "2:string version"],
  ModelReadyResponse: ["1:bool ready"],
  ServerMetadataRequest: [],
  ServerMetadataResponse: ["1:string name", "2:string version", "3:repeated string extensions"],
  ModelMetadataRequest: ["1:string name", "2:string version"],
  ModelMetadataResponse: [
    "1:string name",
    "2:repeated string versions",
    "3:string platform",
    "4:repeated TensorMetadata inputs",
    "5:repeated TensorMetadata outputs",
    // Not in the original KServe proto; MLServer's revision adds it, and clients that do not know it skip it.
    "6:map<string,InferParameter> parameters",
  ],
  "ModelMetadataResponse.TensorMetadata": ["1:string name", "2:string datatype", "3:repeated int64 shape"],
  ModelInferRequest: [
    "1:string model_name",
    "2:string model_version",
    "3:string id",
    "4:map<string,InferParameter> parameters",
    "5:repeated InferInputTensor inputs",
    "6:repeated InferRequestedOutputTensor outputs",
    "7:repeated bytes raw_input_contents",
  ],
  "ModelInferRequest.InferInputTensor": [
    "1:string name",
    "2:string datatype",
    "3:repeated int64 shape",
    "4:map<string,InferParameter> parameters",
    "5:InferTensorContents contents",
  ],
  "ModelInferRequest.InferRequestedOutputTensor": ["1:string name", "2:map<string,InferParameter> parameters"],
  ModelInferResponse: [
    "1:string model_name",
    "2:string model_version",
    "3:string id",
    "4:map<string,InferParameter> parameters",
    "5:repeated InferOutputTensor outputs",
    "6:repeated bytes raw_output_contents",
  ],
  "ModelInferResponse.InferOutputTensor": [
    "1:string name",
    "2:string datatype",
    "3:repeated int64 shape",
    "4:map<string,InferParameter> parameters",
    "5:InferTensorContents contents",
  ],
  InferParameter: ["1:bool bool_param", "2:int64 int64_param", "3:string string_param", "4:double double_param", "5:uint64 uint64_param"],
  InferTensorContents: [
    "1:repeated bool bool_contents",
    "2:repeated int32 int_contents",
    "3:repeated int64 int64_contents",
    "4:repeated uint32 uint_contents",
    "5:repeated uint64 uint64_contents",
    "6:repeated float fp32_contents",
    "7:repeated double fp64_contents",
    "8:repeated bytes bytes_contents",
  ],
  // Triton's statistics and model repository extensions (triton-inference-server/common protobuf/grpc_service.proto).
  ModelStatisticsRequest: ["1:string name", "2:string version"],
  StatisticDuration: ["1:uint64 count", "2:uint64 ns"],
  InferStatistics: [
    "1:StatisticDuration success",
    "2:StatisticDuration fail",
    "3:StatisticDuration queue",
    "4:StatisticDuration compute_input",
    "5:StatisticDuration compute_infer",
    "6:StatisticDuration compute_output",
    "7:StatisticDuration cache_hit",
    "8:StatisticDuration cache_miss",
  ],
  InferResponseStatistics: [
    "1:StatisticDuration compute_infer",
    "2:StatisticDuration compute_output",
    "3:StatisticDuration success",
    "4:StatisticDuration fail",
    "5:StatisticDuration empty_response",
    "6:StatisticDuration cancel",
  ],
  InferBatchStatistics: ["1:uint64 batch_size", "2:StatisticDuration compute_input", "3:StatisticDuration compute_infer", "4:StatisticDuration compute_output"],
  MemoryUsage: ["1:string type", "2:int64 id", "3:uint64 byte_size"],
  ModelStatistics: [
    "1:string name",
    "2:string version",
    "3:uint64 last_inference",
    "4:uint64 inference_count",
    "5:uint64 execution_count",
    "6:InferStatistics inference_stats",
    "7:repeated InferBatchStatistics batch_stats",
    "8:repeated MemoryUsage memory_usage",
    "9:map<string,InferResponseStatistics> response_stats",
  ],
  ModelStatisticsResponse: ["1:repeated ModelStatistics model_stats"],
  ModelRepositoryParameter: ["1:bool bool_param", "2:int64 int64_param", "3:string string_param", "4:bytes bytes_param"],
  RepositoryIndexRequest: ["1:string repository_name", "2:bool ready"],
  RepositoryIndexResponse: ["1:repeated ModelIndex models"],
  "RepositoryIndexResponse.ModelIndex": ["1:string name", "2:string version", "3:string state", "4:string reason"],
  RepositoryModelLoadRequest: ["1:string repository_name", "2:string model_name", "3:map<string,ModelRepositoryParameter> parameters"],
  RepositoryModelLoadResponse: [],
  RepositoryModelUnloadRequest: ["1:string repository_name", "2:string model_name", "3:map<string,ModelRepositoryParameter> parameters"],
  RepositoryModelUnloadResponse: [],
};

const TYPES: Record<string, string> = {
  TYPE_STRING: "string",
  TYPE_BOOL: "bool",
  TYPE_INT32: "int32",
  TYPE_INT64: "int64",
  TYPE_UINT32: "uint32",
  TYPE_UINT64: "uint64",
  TYPE_FLOAT: "float",
  TYPE_DOUBLE: "double",
  TYPE_BYTES: "bytes",
};

function describeField(f: FieldDescriptor, owner: MessageDescriptor): string {
  const repeated = f.label === "LABEL_REPEATED" ? "repeated " : "";
  if (f.type !== "TYPE_MESSAGE") return `${f.number}:${repeated}${TYPES[f.type] ?? f.type} ${f.name}`;
  const typeName = f.typeName.split(".").pop()!;
  const entry = owner.nestedType?.find((n) => n.name === typeName && n.options?.mapEntry);
  if (entry) {
    const [k, v] = entry.field;
    return `${f.number}:map<${TYPES[k.type]},${v.typeName.split(".").pop()}> ${f.name}`;
  }
  return `${f.number}:${repeated}${typeName} ${f.name}`;
}

const service = () => oipServiceDefinition();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A response through the real serializer and back, as grpc-js would send and a client decode it. */
function wireResponse(res: GrpcModelInferResponse): GrpcModelInferResponse {
  const m = service().ModelInfer;
  return m.responseDeserialize(m.responseSerialize(res)) as GrpcModelInferResponse;
}
function wireRequest(req: GrpcModelInferRequest): GrpcModelInferRequest {
  const m = service().ModelInfer;
  return m.requestDeserialize(m.requestSerialize(req)) as GrpcModelInferRequest;
}

describe("spec/grpc_predict_v2.proto", () => {
  const pkg = loadOipPackage();

  it("is proto3 in package inference with the OIP RPCs and Triton's statistics and repository RPCs, all unary", async () => {
    const text = await readFile(OIP_PROTO_PATH, "utf8");
    assert.match(text, /^syntax = "proto3";/m);
    assert.match(text, /^package inference;/m);
    assert.deepEqual(
      Object.values(service()).map((m) => [m.path, m.requestStream, m.responseStream]),
      [
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
        "ModelStatistics",
        "RepositoryIndex",
        "RepositoryModelLoad",
        "RepositoryModelUnload",
      ].map((n) => [`/${OIP_SERVICE_NAME}/${n}`, false, false]),
    );
  });

  it("declares every message with the published field names, numbers and types", () => {
    const messages = new Map<string, MessageDescriptor>();
    const add = (prefix: string, m: MessageDescriptor) => {
      messages.set(prefix + m.name, m);
      for (const n of m.nestedType ?? []) if (!n.options?.mapEntry) add(`${prefix}${m.name}.`, n);
    };
    for (const [name, def] of Object.entries(pkg)) {
      if ("format" in def && def.format === "Protocol Buffer 3 DescriptorProto") add("", def.type as MessageDescriptor);
      else assert.equal(name, OIP_SERVICE_NAME, `unexpected definition ${name}`);
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
    assert.deepEqual(
      messages.get("InferParameter")!.oneofDecl?.map((o) => o.name),
      ["parameter_choice"],
    );
  });

  it("encodes to the expected tag bytes (raw_input_contents is field 7, raw_output_contents field 6)", () => {
    const m = service().ModelInfer;
    assert.equal(hex(m.requestSerialize({ model_name: "m", raw_input_contents: [Buffer.from([1, 2, 3])] })), "0a016d" + "3a03010203");
    const input = "0a0178" + "1205494e543332" + "1a0101" + "2a03120105"; // name, datatype, packed shape [1], contents.int_contents [5]
    assert.equal(
      hex(m.requestSerialize({ inputs: [{ name: "x", datatype: "INT32", shape: [1], contents: { int_contents: [5] } }] })),
      "2a" + (input.length / 2).toString(16).padStart(2, "0") + input,
    );
    assert.equal(hex(m.responseSerialize({ id: "i", raw_output_contents: [Buffer.from([9])] })), "1a0169" + "320109");
    // map<string, InferParameter> entry: key 1, value 2; double_param = field 4 (fixed64), uint64_param = field 5 (varint).
    assert.equal(hex(m.requestSerialize({ parameters: { d: { double_param: 1 } } })), "220e" + "0a0164" + "1209" + "21000000000000f03f");
    assert.equal(hex(m.requestSerialize({ parameters: { u: { uint64_param: "300" } } })), "2208" + "0a0175" + "1203" + "28ac02");
  });

  it("carries raw_input_contents as zero-copy views of the received message", () => {
    const m = service().ModelInfer;
    const bytes = m.requestSerialize({ inputs: [{ name: "x", datatype: "UINT8", shape: [3] }], raw_input_contents: [Buffer.from([7, 8, 9])] });
    const req = m.requestDeserialize(bytes) as GrpcModelInferRequest;
    assert.equal(req.raw_input_contents![0].buffer, bytes.buffer);
    assert.deepEqual(Array.from(inputsFromGrpcRequest(req)[0].data as Uint8Array), [7, 8, 9]);
  });
});

describe("gRPC tensors", () => {
  for (const datatype of DATATYPES) {
    if (datatype !== "FP16") {
      it(`round-trips ${datatype} through typed contents on the wire`, () => {
        const t = sample(datatype);
        const { output, raw } = tensorToGrpc(t, { raw: false });
        assert.equal(raw, undefined);
        const res = wireResponse({ model_name: "m", outputs: [output] });
        assertSameTensor(tensorFromGrpc(res.outputs[0]), t);
      });
    }
    it(`round-trips ${datatype} through raw contents on the wire`, () => {
      const t = sample(datatype);
      const res = wireResponse({ model_name: "m", ...outputsToGrpc([t], { raw: true }) });
      assert.equal(res.outputs[0].contents, null);
      assertSameTensor(tensorFromGrpc(res.outputs[0], res.raw_output_contents![0]), t);
    });
  }

  it("reads a request's inputs from typed contents and from raw_input_contents", () => {
    const tensors = DATATYPES.filter((d) => d !== "FP16").map((d) => sample(d));
    const typed = wireRequest({ model_name: "m", inputs: tensors.map((t) => tensorToGrpc(t, { raw: false }).output) });
    inputsFromGrpcRequest(typed).forEach((t, i) => assertSameTensor(t, tensors[i]));

    const all = DATATYPES.map((d) => sample(d));
    const raw = wireRequest({
      model_name: "m",
      inputs: all.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      raw_input_contents: all.map((t) => tensorToRaw(t)),
    });
    assert.deepEqual(raw.inputs[0].shape, ["2", "3"], "int64 shapes arrive as strings with OIP_PROTO_LOADER_OPTIONS");
    inputsFromGrpcRequest(raw).forEach((t, i) => assertSameTensor(t, all[i]));
  });

  it("keeps INT64/UINT64 beyond 2^53 exact in typed contents", () => {
    const { output } = tensorToGrpc(sample("UINT64"), { raw: false });
    assert.deepEqual(output.contents?.uint64_contents?.slice(0, 3), ["0", "18446744073709551615", "9007199254740993"]);
    const back = wireResponse({ model_name: "m", outputs: [output] });
    assert.equal(back.outputs[0].contents?.uint64_contents?.[2], "9007199254740993");
    const fromNumbers = tensorFromGrpc({ name: "n", datatype: "INT64", shape: [2], contents: { int64_contents: [-3, "9007199254740993"] } });
    assert.deepEqual(Array.from(fromNumbers.data as BigInt64Array), [-3n, 9007199254740993n]);
  });

  it("sends FP16 only raw", () => {
    assertOmafError(() => tensorToGrpc(sample("FP16"), { raw: false }), "OMAF_ERR_INTERNAL", /FP16 can only be sent in raw_output_contents/);
    const mixed = outputsToGrpc([sample("FP32"), sample("FP16")], { raw: false });
    assert.equal(mixed.raw_output_contents.length, 2, "one FP16 output switches the whole response to raw");
    assert.ok(mixed.outputs.every((o) => o.contents === undefined));
    const typed = outputsToGrpc([sample("FP32"), sample("INT8")], { raw: false });
    assert.equal(typed.raw_output_contents.length, 0);
    assertOmafError(
      () => tensorFromGrpc({ name: "h", datatype: "FP16", shape: [1], contents: { int_contents: [15360] } }),
      "OMAF_ERR_BAD_INPUT",
      /input 'h': FP16 values travel only in raw_input_contents/,
    );
  });

  it("refuses inputs that do not fit", () => {
    const input = (datatype: string, contents: GrpcInferInputTensor["contents"], shape = ["2"]): GrpcInferInputTensor => ({
      name: "x",
      datatype,
      shape,
      contents,
    });
    const bad: [GrpcInferInputTensor, RegExp, Uint8Array?][] = [
      [input("INT32", { fp32_contents: [1, 2] }), /INT32 values belong in contents\.int_contents, not contents\.fp32_contents/],
      [input("INT32", { int_contents: [1, 2, 3] }), /shape \[2\] holds 2 elements but contents\.int_contents has 3/],
      [input("INT32", { int_contents: [1, 2], fp64_contents: [1] }), /not contents\.fp64_contents/],
      [input("INT8", { int_contents: [1, 200] }), /input 'x' \(INT8\) element 1: 200 does not fit INT8/],
      [input("INT16", { int_contents: [-32769, 0] }), /element 0/],
      [input("UINT8", { uint_contents: [256, 0] }), /element 0/],
      [input("UINT16", { uint_contents: [0, 65536] }), /element 1/],
      [input("UINT64", { uint64_contents: ["1", "x"] }), /element 1/],
      [input("INT64", { int64_contents: ["9223372036854775808", "1"] }), /element 0/],
      [input("BYTES", { bytes_contents: ["abc" as never, Buffer.from("x")] }), /element 0/],
      [input("FP32", { fp32_contents: [1, 2] }), /values given both in raw_input_contents and in contents\.fp32_contents/, new Uint8Array(8)],
      [input("FP32", null), /needs 8 bytes, got 7/, new Uint8Array(7)],
      [input("FP32", null, ["-1"]), /shape\[0\] must be a non-negative integer, not "-1"/],
      [input("FLOAT", null), /datatype must be one of/],
      [{ ...input("FP32", null), name: "" }, /name must be a non-empty string/],
    ];
    for (const [i, pattern, raw] of bad) assertOmafError(() => tensorFromGrpc(i, raw), "OMAF_ERR_BAD_INPUT", pattern);
    assertOmafError(
      () => inputsFromGrpcRequest({ inputs: [input("UINT8", null), input("UINT8", null)], raw_input_contents: [new Uint8Array(2)] }),
      "OMAF_ERR_BAD_INPUT",
      /raw_input_contents has 1 entries for 2 inputs/,
    );
  });

  it("converts parameters both ways through the wire", () => {
    const params = { flag: true, n: 5, x: 1.5, s: "str", big: 2n ** 64n - 1n, neg: -(2n ** 62n), obj: { a: 1 }, gone: null };
    const res = wireResponse({ model_name: "m", parameters: parametersToGrpc(params), outputs: [] });
    assert.deepEqual(parametersFromGrpc(res.parameters!), {
      flag: true,
      n: 5,
      x: 1.5,
      s: "str",
      big: "18446744073709551615",
      neg: "-4611686018427387904",
      obj: '{"a":1}',
    });
    const t: Tensor = { ...sample("BOOL"), parameters: { content_type: "np" } };
    const back = wireResponse({ model_name: "m", outputs: [tensorToGrpc(t, { raw: false }).output] });
    assert.deepEqual(tensorFromGrpc(back.outputs[0]).parameters, { content_type: "np" });
  });

  it("serves ModelInfer over a real loopback connection with the same definition", async () => {
    const server = new grpc.Server();
    server.addService(service(), {
      ModelInfer: (call: grpc.ServerUnaryCall<GrpcModelInferRequest, GrpcModelInferResponse>, cb: grpc.sendUnaryData<GrpcModelInferResponse>) => {
        try {
          const inputs = inputsFromGrpcRequest(call.request);
          const doubled: Tensor = { name: "out", datatype: "FP32", shape: inputs[0].shape, data: (inputs[0].data as Float32Array).map((v) => v * 2) };
          cb(null, { model_name: call.request.model_name, id: call.request.id, ...outputsToGrpc([doubled, inputs[1]], { raw: true }) });
        } catch (err) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        }
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const Client = grpc.makeGenericClientConstructor(service(), "GRPCInferenceService");
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
      ModelInfer(req: GrpcModelInferRequest, cb: (err: grpc.ServiceError | null, res: GrpcModelInferResponse) => void): void;
      close(): void;
    };
    const call = (req: GrpcModelInferRequest) =>
      new Promise<GrpcModelInferResponse>((resolve, reject) => client.ModelInfer(req, (err, res) => (err ? reject(err) : resolve(res))));
    try {
      const x: Tensor = { name: "x", datatype: "FP32", shape: [1, 3], data: Float32Array.of(1, 2.5, -4) };
      const s = sample("BYTES", "s");
      const res = await call({
        model_name: "m",
        id: "42",
        inputs: [x, s].map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        raw_input_contents: [x, s].map(tensorToRaw),
      });
      assert.equal(res.id, "42");
      assert.deepEqual(Array.from(tensorFromGrpc(res.outputs[0], res.raw_output_contents![0]).data as Float32Array), [2, 5, -8]);
      assertSameTensor(tensorFromGrpc(res.outputs[1], res.raw_output_contents![1]), s);
      await assert.rejects(
        call({ model_name: "m", inputs: [{ name: "x", datatype: "FP32", shape: [2] }], raw_input_contents: [new Uint8Array(3)] }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
          assert.match(err.details, /needs 8 bytes, got 3/);
          return true;
        },
      );
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });
});
