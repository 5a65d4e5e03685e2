// Every OIP datatype through a real onnxruntime session (an ONNX model with one Identity per datatype), over REST
// JSON, REST binary, gRPC raw and gRPC typed contents. FP16 travels as raw half bits, built here by hand.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { INFERENCE_HEADER_CONTENT_LENGTH, parseInferResponseBody, tensorToRaw } from "../../src/tensor/binary.js";
import type { Datatype } from "../../src/tensor/tensor.js";
import { valuesFromData, type JsonElement } from "../../src/tensor/values.js";
import { tempDir } from "../helpers/fixtures.js";
import { oipGrpcClient, postBytes } from "../helpers/oip-client.js";
import type { ConformanceServer } from "../conformance/harness.js";
import { toTensor } from "../conformance/adapters/oip-rest.js";
import { ECHO_DATATYPES, grpcAddress, restBase, startOip, writeEchoOnnxModel } from "./fixtures.js";

/** Four values per datatype (a [2, 2] tensor), edges included; 64-bit values beyond 2^53 as exact decimal strings. */
const SAMPLES: Record<Datatype, JsonElement[]> = {
  BOOL: [true, false, false, true],
  UINT8: [0, 1, 254, 255],
  INT8: [-128, -1, 0, 127],
  UINT16: [0, 1, 65534, 65535],
  INT16: [-32768, -1, 0, 32767],
  UINT32: [0, 1, 4294967294, 4294967295],
  INT32: [-2147483648, -1, 0, 2147483647],
  INT64: ["-9223372036854775808", -9007199254740991, 0, "9223372036854775807"],
  UINT64: [0, 9007199254740991, "9007199254740993", "18446744073709551615"],
  FP16: [0.5, -2, 65504, 0.0999755859375],
  FP32: [1.5, -0.25, 1024.125, 3.4028234663852886e38],
  FP64: [0.1, -1e300, 5e-324, Math.PI],
  BYTES: ["a", "héllo", "", "x y"],
};

/** FP16 half bits of SAMPLES.FP16, written out: 0.5, -2, 65504, 0.0999755859375. */
const FP16_BITS = [0x3800, 0xc000, 0x7bff, 0x2e66];

const input = (dt: Datatype) => ({ name: `x_${dt}`, datatype: dt, shape: [2, 2], data: SAMPLES[dt] });

describe("OIP v2: every datatype", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let all: ConformanceServer;
  let typed: ConformanceServer;
  const typedDatatypes = ECHO_DATATYPES.filter((dt) => dt !== "FP16");

  before(async () => {
    tmp = await tempDir("omaf-oip-types-");
    [all, typed] = await Promise.all([
      startOip(await writeEchoOnnxModel(join(tmp.dir, "all"))),
      startOip(await writeEchoOnnxModel(join(tmp.dir, "typed"), typedDatatypes, "echo-typed")),
    ]);
  });
  after(async () => {
    await Promise.all([all?.stop(), typed?.stop()]);
    await tmp?.cleanup();
  });

  it("REST JSON: every datatype comes back as sent (nested data accepted)", async () => {
    const inputs = ECHO_DATATYPES.map((dt) =>
      dt === "FP64" || dt === "BYTES" ? { ...input(dt), data: [SAMPLES[dt].slice(0, 2), SAMPLES[dt].slice(2)] } : input(dt),
    );
    const res = await postBytes(`${restBase(all)}/v2/models/echo-all/infer`, Buffer.from(JSON.stringify({ inputs })));
    assert.equal(res.status, 200, res.body.toString());
    const body = JSON.parse(res.body.toString("utf8")) as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] };
    assert.deepEqual(
      body.outputs.map((o) => o.name),
      ECHO_DATATYPES.map((dt) => `y_${dt}`),
    );
    for (const o of body.outputs) {
      const dt = o.name.slice(2) as Datatype;
      assert.equal(o.datatype, dt);
      assert.deepEqual(o.shape, [2, 2]);
      assert.deepEqual(o.data, SAMPLES[dt], dt);
    }
  });

  it("REST binary: every datatype as raw bytes both ways; FP16 half bits unchanged", async () => {
    const raws = ECHO_DATATYPES.map((dt) => {
      if (dt !== "FP16") return tensorToRaw(toTensor(input(dt)));
      const b = Buffer.alloc(8);
      FP16_BITS.forEach((bits, i) => b.writeUInt16LE(bits, i * 2));
      return b;
    });
    const header = Buffer.from(
      JSON.stringify({
        inputs: ECHO_DATATYPES.map((dt, i) => ({ name: `x_${dt}`, datatype: dt, shape: [2, 2], parameters: { binary_data_size: raws[i].length } })),
        outputs: ECHO_DATATYPES.map((dt) => ({ name: `y_${dt}`, parameters: { binary_data: true } })),
      }),
    );
    const res = await postBytes(`${restBase(all)}/v2/models/echo-all/infer`, Buffer.concat([header, ...raws]), {
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.length),
    });
    assert.equal(res.status, 200, res.body.toString());
    const headerLength = Number(res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
    assert.deepEqual(res.body.subarray(headerLength), Buffer.concat(raws), "the raw output bytes are the raw input bytes");
    const parsed = parseInferResponseBody(res.body, headerLength);
    for (const t of parsed.outputs) assert.deepEqual(valuesFromData(t.datatype, t.data), SAMPLES[t.datatype], t.datatype);
  });

  it("gRPC raw: every datatype in raw_input_contents comes back byte for byte in raw_output_contents", async () => {
    const client = oipGrpcClient(grpcAddress(all));
    try {
      const raws = ECHO_DATATYPES.map((dt) => tensorToRaw(toTensor(input(dt))));
      const res = await client.ModelInfer({
        model_name: "echo-all",
        inputs: ECHO_DATATYPES.map((dt) => ({ name: `x_${dt}`, datatype: dt, shape: [2, 2] })),
        raw_input_contents: raws,
      });
      assert.deepEqual(
        res.outputs.map((o) => [o.name, o.datatype]),
        ECHO_DATATYPES.map((dt) => [`y_${dt}`, dt]),
      );
      assert.equal(res.raw_output_contents!.length, ECHO_DATATYPES.length);
      res.raw_output_contents!.forEach((b, i) => assert.deepEqual(Buffer.from(b), raws[i], ECHO_DATATYPES[i]));
      const fp16 = Buffer.from(res.raw_output_contents![ECHO_DATATYPES.indexOf("FP16")]);
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => fp16.readUInt16LE(i * 2)),
        FP16_BITS,
      );
    } finally {
      client.close();
    }
  });

  it("gRPC typed contents: every datatype but FP16 in its contents list, both ways", async () => {
    const client = oipGrpcClient(grpcAddress(typed));
    try {
      const contents: Record<Exclude<Datatype, "FP16">, Record<string, unknown[]>> = {
        BOOL: { bool_contents: SAMPLES.BOOL },
        UINT8: { uint_contents: SAMPLES.UINT8 },
        UINT16: { uint_contents: SAMPLES.UINT16 },
        UINT32: { uint_contents: SAMPLES.UINT32 },
        INT8: { int_contents: SAMPLES.INT8 },
        INT16: { int_contents: SAMPLES.INT16 },
        INT32: { int_contents: SAMPLES.INT32 },
        INT64: { int64_contents: SAMPLES.INT64.map(String) },
        UINT64: { uint64_contents: SAMPLES.UINT64.map(String) },
        FP32: { fp32_contents: SAMPLES.FP32 },
        FP64: { fp64_contents: SAMPLES.FP64 },
        BYTES: { bytes_contents: (SAMPLES.BYTES as string[]).map((s) => Buffer.from(s)) },
      };
      const res = await client.ModelInfer({
        model_name: "echo-typed",
        inputs: typedDatatypes.map((dt) => ({ name: `x_${dt}`, datatype: dt, shape: [2, 2], contents: contents[dt as Exclude<Datatype, "FP16">] })),
      });
      assert.deepEqual(res.raw_output_contents, []);
      for (const o of res.outputs) {
        const dt = o.datatype as Exclude<Datatype, "FP16">;
        const [field, expected] = Object.entries(contents[dt])[0];
        const got = (o.contents as Record<string, unknown[]>)[field];
        if (dt === "BYTES")
          assert.deepEqual(
            got.map((b) => Buffer.from(b as Uint8Array).toString()),
            SAMPLES.BYTES,
          );
        else assert.deepEqual(got, expected, dt);
      }
    } finally {
      client.close();
    }
  });

  it("gRPC: FP16 in typed contents is INVALID_ARGUMENT (it travels raw only)", async () => {
    const client = oipGrpcClient(grpcAddress(all));
    try {
      await assert.rejects(
        client.ModelInfer({
          model_name: "echo-all",
          inputs: [{ name: "x_FP16", datatype: "FP16", shape: [1, 1], contents: { fp32_contents: [1] } }],
        }),
        (err: ServiceError) => err.code === Status.INVALID_ARGUMENT && /raw/.test(err.details),
      );
    } finally {
      client.close();
    }
  });
});
