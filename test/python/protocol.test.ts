// The framed pipe protocol on the Node side: frames split anywhere, binary matrices, binary results.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBinaryResult, FrameReader, FrameType, jsonFrame, matrixFrame, setFrameId } from "../../src/runtime/python/protocol.js";

test("FrameReader reassembles frames however the bytes are split", () => {
  const a = jsonFrame(FrameType.ResultJson, { x: 1 });
  setFrameId(a, 7);
  const b = jsonFrame(FrameType.Error, { code: "OMAF_ERR_PREDICT", message: "ü".repeat(1000) });
  setFrameId(b, 0xfffffffe);
  const stream = Buffer.concat([a, b]);
  for (const size of [1, 2, 3, 9, 10, 64, stream.length]) {
    const reader = new FrameReader();
    const frames = [];
    for (let i = 0; i < stream.length; i += size) frames.push(...reader.push(stream.subarray(i, i + size)));
    assert.equal(frames.length, 2, `chunk size ${size}`);
    assert.deepEqual([frames[0]!.type, frames[0]!.id, JSON.parse(frames[0]!.body.toString())], [FrameType.ResultJson, 7, { x: 1 }]);
    assert.equal(frames[1]!.id, 0xfffffffe);
    assert.equal(JSON.parse(frames[1]!.body.toString()).message, "ü".repeat(1000));
  }
});

test("FrameReader refuses a frame length too short to hold the request id", () => {
  const bad = Buffer.from([2, 0, 0, 0, FrameType.ResultJson, 0, 0]);
  assert.throws(() => new FrameReader().push(bad), /bad frame length/);
});

/** The body of a binary matrix frame as the worker reads it. */
function readBinaryMatrix(frame: Buffer) {
  const body = frame.subarray(9);
  const headerLength = body.readUInt32LE(0);
  const header = JSON.parse(body.toString("utf8", 4, 4 + headerLength));
  const at = (4 + headerLength + 7) & ~7;
  const values: number[] = [];
  for (let i = at; i < body.length; i += 8) values.push(body.readDoubleLE(i));
  return { header, values, at };
}

test("numeric matrices travel as float64 with an 8-aligned value block; others as JSON", () => {
  const f = matrixFrame(
    [
      [1, 2.5],
      [-3, 1e-300],
    ],
    ["a", "b"],
    true,
  );
  assert.equal(f[4], FrameType.MatrixBinary);
  assert.equal(f.readUInt32LE(0), f.length - 5);
  const { header, values, at } = readBinaryMatrix(f);
  assert.deepEqual(header, { shape: [2, 2], columns: ["a", "b"], int: false });
  assert.equal(at % 8, 0);
  assert.deepEqual(values, [1, 2.5, -3, 1e-300]);

  assert.equal(readBinaryMatrix(matrixFrame([[1, 2]], undefined, true)).header.int, true);
  assert.equal(readBinaryMatrix(matrixFrame([[2 ** 60, 2]], undefined, true)).header.int, false);

  for (const data of [[[1, "x"]], [[1, null]], [[true, 1]]]) {
    const j = matrixFrame(data as unknown[][], undefined, true);
    assert.equal(j[4], FrameType.MatrixJson);
    assert.deepEqual(JSON.parse(j.subarray(9).toString()), { data });
  }
  // Without numpy in the model's environment everything goes as JSON.
  assert.equal(matrixFrame([[1, 2]], ["a", "b"], false)[4], FrameType.MatrixJson);
});

test("binary results decode to nested arrays, also from an unaligned buffer", () => {
  const header = Buffer.from(JSON.stringify({ shape: [2, 3], kind: "f", columns: ["x"], t: 12.5 }));
  const at = (4 + header.length + 7) & ~7;
  const body = Buffer.alloc(at + 6 * 8);
  body.writeUInt32LE(header.length, 0);
  header.copy(body, 4);
  [1, NaN, Infinity, -0.5, 2, 3].forEach((v, i) => body.writeDoubleLE(v, at + i * 8));
  const unaligned = Buffer.alloc(body.length + 3).subarray(3);
  body.copy(unaligned);
  for (const b of [body, unaligned]) {
    assert.deepEqual(decodeBinaryResult(b), {
      prediction: [
        [1, null, null],
        [-0.5, 2, 3],
      ],
      columns: ["x"],
      t: 12.5,
    });
  }
  const boolHeader = Buffer.from(JSON.stringify({ shape: [2], kind: "b", columns: null, t: 0 }));
  const bat = (4 + boolHeader.length + 7) & ~7;
  const bools = Buffer.alloc(bat + 16);
  bools.writeUInt32LE(boolHeader.length, 0);
  boolHeader.copy(bools, 4);
  bools.writeDoubleLE(1, bat);
  assert.deepEqual(decodeBinaryResult(bools).prediction, [true, false]);
  assert.throws(() => decodeBinaryResult(bools.subarray(0, bat + 8)), /shorter than its shape/);
});
