import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { binaryOutputsOf, encodeInferResponse, parseInferBody, parseInferResponseBody, tensorFromRaw, tensorToRaw } from "../../src/tensor/binary.js";
import { bytesPerElement } from "../../src/tensor/datatype.js";
import { DATATYPES, type Tensor } from "../../src/tensor/tensor.js";
import { assertOmafError, assertSameTensor, sample } from "./samples.js";

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** `bytes` placed at `offset` inside a fresh ArrayBuffer, so the view's byteOffset is exactly `offset`. */
function at(offset: number, bytes: Uint8Array): Uint8Array {
  const ab = new ArrayBuffer(offset + bytes.length + 8);
  const view = new Uint8Array(ab, offset, bytes.length);
  view.set(bytes);
  return view;
}

describe("raw tensor bytes", () => {
  for (const datatype of DATATYPES) {
    it(`round-trips ${datatype}`, () => {
      const t = sample(datatype);
      assertSameTensor(tensorFromRaw(t.name, t.datatype, t.shape, tensorToRaw(t)), t);
    });
  }

  it("writes little-endian bytes, BYTES as 4-byte length + bytes, BOOL one byte each", () => {
    assert.equal(hex(tensorToRaw({ name: "i", datatype: "INT32", shape: [2], data: Int32Array.of(1, -2) })), "01000000feffffff");
    assert.equal(hex(tensorToRaw({ name: "h", datatype: "FP16", shape: [2], data: Uint16Array.of(0x3c00, 0xc000) })), "003c00c0");
    assert.equal(hex(tensorToRaw({ name: "f", datatype: "FP32", shape: [1], data: Float32Array.of(1) })), "0000803f");
    assert.equal(hex(tensorToRaw({ name: "l", datatype: "INT64", shape: [1], data: BigInt64Array.of(-2n) })), "feffffffffffffff");
    assert.equal(hex(tensorToRaw({ name: "b", datatype: "BOOL", shape: [3], data: Uint8Array.of(1, 0, 1) })), "010001");
    const strings = { name: "s", datatype: "BYTES" as const, shape: [3], data: [new Uint8Array(0), Buffer.from("ab"), Buffer.from("é")] };
    assert.equal(hex(tensorToRaw(strings)), "00000000" + "020000006162" + "02000000c3a9");
  });

  it("keeps the sign of zero and every NaN/Inf bit pattern", () => {
    const h: Tensor = { name: "h", datatype: "FP16", shape: [4], data: Uint16Array.of(0x8000, 0x7c00, 0xfc00, 0x7e01) };
    assertSameTensor(tensorFromRaw("h", "FP16", [4], tensorToRaw(h)), h);
    const f: Tensor = { name: "f", datatype: "FP32", shape: [2], data: Float32Array.of(-0, -Infinity) };
    assertSameTensor(tensorFromRaw("f", "FP32", [2], tensorToRaw(f)), f);
  });

  it("is zero-copy both ways when the offset is aligned", () => {
    const t = sample("FP64");
    const raw = tensorToRaw(t);
    assert.equal(raw.buffer, (t.data as Float64Array).buffer);
    const bytes = at(16, raw);
    const back = tensorFromRaw("v", "FP64", [2, 3], bytes);
    assert.equal((back.data as Float64Array).buffer, bytes.buffer);
    assert.equal((back.data as Float64Array).byteOffset, 16);
    const strings = tensorFromRaw("s", "BYTES", [2], at(3, Buffer.from("0100000061020000006263", "hex")));
    assert.equal((strings.data as Uint8Array[])[1].byteOffset, 3 + 4 + 1 + 4);
  });

  it("copies when the offset is unaligned, with the same values, for every offset", () => {
    for (const datatype of DATATYPES) {
      const t = sample(datatype);
      const raw = tensorToRaw(t);
      for (let offset = 1; offset < 8; offset++) {
        const back = tensorFromRaw(t.name, datatype, t.shape, at(offset, raw));
        assertSameTensor(back, t, `${datatype} at offset ${offset}`);
        const size = bytesPerElement(datatype);
        if (size !== undefined && size > 1 && offset % size !== 0) assert.equal((back.data as Uint8Array).byteOffset % size, 0);
      }
    }
  });

  it("refuses sizes that do not match the shape", () => {
    assertOmafError(
      () => tensorFromRaw("x", "FP32", [2, 2], new Uint8Array(15)),
      "OMAF_ERR_BAD_INPUT",
      /tensor 'x': shape \[2,2\] of FP32 needs 16 bytes, got 15/,
    );
    assertOmafError(() => tensorFromRaw("x", "INT64", [1], new Uint8Array(16)), "OMAF_ERR_BAD_INPUT", /needs 8 bytes, got 16/);
    assertOmafError(() => tensorFromRaw("b", "BOOL", [3], Uint8Array.of(1, 2, 0)), "OMAF_ERR_BAD_INPUT", /element 1: byte 2 is neither 0 nor 1/);
    const two = Buffer.from("0100000061" + "0100000062", "hex");
    assertOmafError(() => tensorFromRaw("s", "BYTES", [3], two), "OMAF_ERR_BAD_INPUT", /3 elements need at least 12 bytes, got 10/);
    assertOmafError(
      () => tensorFromRaw("s", "BYTES", [2], Buffer.from("0100000061" + "ffff0000", "hex")),
      "OMAF_ERR_BAD_INPUT",
      /element 1: length 65535 runs past/,
    );
    assertOmafError(() => tensorFromRaw("s", "BYTES", [1], two), "OMAF_ERR_BAD_INPUT", /5 bytes left after 1 elements/);
    assertOmafError(() => tensorFromRaw("s", "BYTES", [2], two.subarray(0, 9)), "OMAF_ERR_BAD_INPUT", /element 1: length 1 runs past the end/);
    assertOmafError(() => tensorFromRaw("s", "BYTES", [1], Buffer.from("ffffffff00", "hex")), "OMAF_ERR_BAD_INPUT", /length 4294967295 runs past/);
    assertOmafError(() => tensorFromRaw("x", "FP32", [-1], new Uint8Array(4)), "OMAF_ERR_BAD_INPUT", /shape\[0\]/);
  });

  it("refuses shapes that claim more elements than any request holds, before allocating for them", () => {
    // Each of these used to reach an allocation JavaScript cannot make ("Invalid array length", a 500).
    assertOmafError(
      () => tensorFromRaw("s", "BYTES", [5e9], Buffer.from("0400000061626364", "hex")),
      "OMAF_ERR_BAD_INPUT",
      /holds 5000000000 elements; a tensor holds at most/,
    );
    assertOmafError(
      () => tensorFromRaw("s", "BYTES", [1e9], Buffer.from("0400000061626364", "hex")),
      "OMAF_ERR_BAD_INPUT",
      /1000000000 elements need at least/,
    );
    assertOmafError(() => tensorFromRaw("x", "FP32", [2e9, 4], new Uint8Array(16)), "OMAF_ERR_BAD_INPUT", /a tensor holds at most/);
    const header = JSON.stringify({ inputs: [{ name: "x", shape: [2e9, 4], datatype: "FP32", data: [[1, 2, 3, 4]] }] });
    assertOmafError(() => parseInferBody(Buffer.from(header)), "OMAF_ERR_BAD_INPUT", /a tensor holds at most/);
  });

  it("refuses JSON nested deeper than the limit as bad input, not a stack overflow", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    for (const body of [deep, `{"inputs":${deep}}`, `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"p":${deep}}}`]) {
      assertOmafError(() => parseInferBody(Buffer.from(body)), "OMAF_ERR_BAD_INPUT", /nests arrays and objects more than 100 levels deep/);
    }
    const nested = (n: number) => "[".repeat(n) + "1" + "]".repeat(n);
    assert.doesNotThrow(() =>
      parseInferBody(Buffer.from(`{"inputs":[{"name":"x","shape":[${Array(97).fill(1).join(",")}],"datatype":"FP32","data":${nested(97)}}]}`)),
    );
  });
});

/** The JSON text Python's json.dumps writes (", " and ": " separators), as tritonclient.http sends it. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}

describe("OIP REST binary request bodies", () => {
  it("parses the body tritonclient.http builds for the Triton 'simple' model", () => {
    // InferInput.set_data_from_numpy(binary_data=True) + InferRequestedOutput(binary_data=True), request id "7".
    const header = pythonJson({
      id: "7",
      inputs: [
        { name: "INPUT0", shape: [1, 16], datatype: "INT32", parameters: { binary_data_size: 64 } },
        { name: "INPUT1", shape: [1, 16], datatype: "INT32", parameters: { binary_data_size: 64 } },
      ],
      outputs: [
        { name: "OUTPUT0", parameters: { binary_data: true } },
        { name: "OUTPUT1", parameters: { binary_data: true } },
      ],
    });
    const raw: number[] = [];
    for (let i = 0; i < 16; i++) raw.push(i, 0, 0, 0); // INPUT0 = 0..15, little-endian int32 byte by byte
    for (let i = 0; i < 16; i++) raw.push(0xff, 0xff, 0xff, 0xff); // INPUT1 = -1 x 16
    const body = Buffer.concat([Buffer.from(header, "utf8"), Buffer.from(raw)]);
    const headerLength = String(Buffer.byteLength(header)); // the Inference-Header-Content-Length header text

    const { header: h, inputs } = parseInferBody(body, headerLength);
    assert.equal(h.id, "7");
    assert.deepEqual(
      h.outputs?.map((o) => o.name),
      ["OUTPUT0", "OUTPUT1"],
    );
    assert.deepEqual(binaryOutputsOf(h), new Set(["OUTPUT0", "OUTPUT1"]));
    assert.equal(inputs.length, 2);
    assert.deepEqual(inputs[0], { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: Int32Array.from({ length: 16 }, (_, i) => i) });
    assert.deepEqual(Array.from(inputs[1].data as Int32Array), new Array(16).fill(-1));
    assert.equal(inputs[0].parameters, undefined, "binary_data_size is not kept");
  });

  it("parses mixed binary and JSON inputs with BYTES, BOOL and FP16, at unaligned offsets", () => {
    const header = pythonJson({
      inputs: [
        { name: "TEXT", shape: [3], datatype: "BYTES", parameters: { binary_data_size: 4 + 0 + 4 + 3 + 4 + 4 } },
        {
          name: "DENSE",
          shape: [2, 2],
          datatype: "FP32",
          data: [
            [1.5, 2],
            [3, 4],
          ],
        },
        { name: "MASK", shape: [3], datatype: "BOOL", parameters: { binary_data_size: 3, content_type: "np" } },
        { name: "HALF", shape: [2], datatype: "FP16", parameters: { binary_data_size: 4 } },
        { name: "WIDE", shape: [1], datatype: "FP64", parameters: { binary_data_size: 8 } },
      ],
    });
    const bytes = [
      ...[0, 0, 0, 0], // ""
      ...[3, 0, 0, 0, 0x61, 0xc3, 0xa9], // "aé"
      ...[4, 0, 0, 0, 0xf0, 0x9f, 0x8e, 0x89], // "🎉"
      ...[1, 0, 1], // MASK
      ...[0x00, 0x3c, 0xff, 0x7b], // HALF = 1.0, 65504
      ...[0, 0, 0, 0, 0, 0, 0xf0, 0x3f], // WIDE = 1.0
    ];
    const body = Buffer.concat([Buffer.from(header), Buffer.from(bytes)]);
    const { inputs } = parseInferBody(body, Buffer.byteLength(header));
    assert.deepEqual(
      inputs.map((t) => t.name),
      ["TEXT", "DENSE", "MASK", "HALF", "WIDE"],
    );
    assert.deepEqual(
      (inputs[0].data as Uint8Array[]).map((b) => Buffer.from(b).toString()),
      ["", "aé", "🎉"],
    );
    assert.deepEqual(Array.from(inputs[1].data as Float32Array), [1.5, 2, 3, 4]);
    assert.deepEqual(Array.from(inputs[2].data as Uint8Array), [1, 0, 1]);
    assert.deepEqual(inputs[2].parameters, { content_type: "np" });
    assert.deepEqual(Array.from(inputs[3].data as Uint16Array), [0x3c00, 0x7bff]);
    assert.deepEqual(Array.from(inputs[4].data as Float64Array), [1]);
  });

  it("reads a plain JSON body without the header length", () => {
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: "x", shape: [2], datatype: "UINT8", data: [1, 2] }] }));
    const { header, inputs } = parseInferBody(body);
    assert.deepEqual(Array.from(inputs[0].data as Uint8Array), [1, 2]);
    assert.deepEqual(binaryOutputsOf(header), new Set());
  });

  it("refuses sizes that do not add up, and malformed headers", () => {
    const make = (inputs: unknown[], tail: number[], extra: Record<string, unknown> = {}) => {
      const header = JSON.stringify({ ...extra, inputs });
      return { body: Buffer.concat([Buffer.from(header), Buffer.from(tail)]), len: Buffer.byteLength(header) };
    };
    const one = [{ name: "x", shape: [2], datatype: "INT16", parameters: { binary_data_size: 4 } }];
    let r = make(one, [1, 0, 2, 0, 9]);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /1 bytes after the JSON header that no binary_data_size accounts for/);
    r = make(one, [1, 0, 2]);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /input 'x': binary_data_size 4 runs past the end of the body \(3 bytes left\)/);
    r = make([{ name: "x", shape: [3], datatype: "INT16", parameters: { binary_data_size: 4 } }], [1, 0, 2, 0]);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /needs 6 bytes, got 4/);
    r = make([{ name: "x", shape: [2], datatype: "INT16", data: [1, 2], parameters: { binary_data_size: 4 } }], [1, 0, 2, 0]);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /both binary_data_size and data/);
    r = make([{ name: "x", shape: [2], datatype: "INT16", parameters: { binary_data_size: -4 } }], []);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /binary_data_size must be a non-negative integer/);
    r = make(one, [1, 0, 2, 0]);
    assertOmafError(() => parseInferBody(r.body), "OMAF_ERR_BAD_INPUT", /header is not valid JSON/);
    assertOmafError(() => parseInferBody(r.body, r.body.length + 1), "OMAF_ERR_BAD_INPUT", /Inference-Header-Content-Length must be an integer/);
    assertOmafError(() => parseInferBody(r.body, "12abc"), "OMAF_ERR_BAD_INPUT", /Inference-Header-Content-Length/);
    assertOmafError(() => parseInferBody(Buffer.from("[1]")), "OMAF_ERR_BAD_INPUT", /header must be a JSON object/);
    assertOmafError(() => parseInferBody(Buffer.from("{}")), "OMAF_ERR_BAD_INPUT", /"inputs" must be a list of tensors, not missing/);
    r = make([], [], { id: 5 });
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /"id" must be a string/);
    r = make([], [], { outputs: [{ parameters: {} }] });
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /outputs\[0\] must be an object with a non-empty "name"/);
    r = make([{ name: "x", shape: [1], datatype: "INT16", data: ["a"] }], []);
    assertOmafError(() => parseInferBody(r.body, r.len), "OMAF_ERR_BAD_INPUT", /input 'x' \(INT16\) element 0/);
  });

  it("works out which outputs go binary", () => {
    assert.equal(binaryOutputsOf({ parameters: { binary_data_output: true } }), "all");
    assert.deepEqual(binaryOutputsOf({ parameters: { binary_data_output: false } }), new Set());
    assert.deepEqual(binaryOutputsOf({}), new Set());
    assert.deepEqual(
      binaryOutputsOf({
        parameters: { binary_data_output: true },
        outputs: [{ name: "a" }, { name: "b", parameters: { binary_data: false } }, { name: "c", parameters: { binary_data: true } }],
      }),
      new Set(["a", "c"]),
    );
    assert.deepEqual(binaryOutputsOf({ outputs: [{ name: "a" }, { name: "c", parameters: { binary_data: true } }] }), new Set(["c"]));
  });
});

describe("OIP REST binary responses", () => {
  const outputs = (): Tensor[] => [
    sample("FP32", "scores"),
    sample("INT64", "ids"),
    { ...sample("BYTES", "labels"), parameters: { content_type: "str" } },
    sample("BOOL", "flags"),
    sample("FP16", "half"),
  ];

  it("puts chosen outputs after the JSON header and the rest in JSON; it parses back", () => {
    const { body, headerLength } = encodeInferResponse(
      { model_name: "m", model_version: "1", id: "r1", parameters: { sha256: "abc" }, outputs: outputs() },
      new Set(["scores", "labels", "half"]),
    );
    assert.ok(headerLength !== undefined);
    const header = JSON.parse(body.subarray(0, headerLength).toString());
    assert.deepEqual(Object.keys(header), ["model_name", "model_version", "id", "parameters", "outputs"]);
    const [scores, ids, labels, flags, half] = header.outputs;
    assert.deepEqual(scores, { name: "scores", datatype: "FP32", shape: [2, 3], parameters: { binary_data_size: 24 } });
    assert.equal(ids.data[0], "-9223372036854775808");
    assert.deepEqual(labels.parameters, { content_type: "str", binary_data_size: 4 * 6 + 0 + 6 + 9 + 4 + 3 + 5 });
    assert.deepEqual(flags.data, [true, false, false, true, true, false]);
    assert.equal(half.parameters.binary_data_size, 12);
    // The raw part is exactly the binary outputs' bytes, in output order.
    const o = outputs();
    assert.equal(hex(body.subarray(headerLength)), hex(Buffer.concat([tensorToRaw(o[0]), tensorToRaw(o[2]), tensorToRaw(o[4])])));

    const parsed = parseInferResponseBody(body, headerLength);
    assert.equal(parsed.header.model_name, "m");
    assert.equal(parsed.outputs.length, 5);
    parsed.outputs.forEach((t, i) => assertSameTensor(t, o[i]));
    assert.deepEqual(parsed.outputs[2].parameters, { content_type: "str" });
  });

  it("sends everything binary for 'all' and plain JSON (no header length) when nothing is binary", () => {
    const all = encodeInferResponse({ model_name: "m", outputs: outputs() }, "all");
    const parsedAll = parseInferResponseBody(all.body, all.headerLength);
    outputs().forEach((t, i) => assertSameTensor(parsedAll.outputs[i], t));
    assert.ok((JSON.parse(all.body.subarray(0, all.headerLength).toString()).outputs as { data?: unknown }[]).every((x) => x.data === undefined));

    const none = encodeInferResponse({ model_name: "m", outputs: outputs() }, new Set());
    assert.equal(none.headerLength, undefined);
    const json = JSON.parse(none.body.toString());
    assert.deepEqual(Object.keys(json), ["model_name", "outputs"]);
    parseInferResponseBody(none.body).outputs.forEach((t, i) => assertSameTensor(t, outputs()[i]));
  });

  it("refuses to encode a malformed output", () => {
    const bad: Tensor = { name: "o", datatype: "INT32", shape: [2], data: new Int32Array(3) };
    assertOmafError(() => encodeInferResponse({ model_name: "m", outputs: [bad] }, "all"), "OMAF_ERR_INTERNAL", /tensor 'o'/);
  });
});
