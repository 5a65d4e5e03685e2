// How omaf predict recognises its input formats: the flag, the file name, else the content.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { openInput, type InputItem, type RowInput } from "../../src/offline/input.js";
import { tempDir } from "../helpers/fixtures.js";

async function items(input: RowInput): Promise<InputItem[]> {
  const out: InputItem[] = [];
  for await (const group of input.items) out.push(...group);
  return out;
}

test("the format comes from the flag, else the file name, else the content", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const cases: [string, string, string][] = [
    ["rows.txt", "a,b\n1,2\n", "csv"],
    ["rows.txt", '[1,2]\n{"a":1}\n', "jsonl"],
    ["doc.txt", '{\n  "data": [[1, 2]]\n}\n', "json"],
    ["doc.txt", '{"data": [[1, 2]]}', "json"],
    ["req.txt", '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}', "oip"],
    ["rows.csv", "[1,2]\n[3,4]\n", "csv"],
    ["rows.ndjson", "[1,2]\n", "jsonl"],
    ["\uFEFFbom.txt", "\uFEFFa,b\n1,2\n", "csv"],
  ];
  for (const [name, content, format] of cases) {
    const file = path.join(dir, name);
    await writeFile(file, content);
    assert.equal((await openInput(file)).input.format, format, `${name}: ${JSON.stringify(content)}`);
  }
  await writeFile(path.join(dir, "x.csv"), "[1,2]\n");
  assert.equal((await openInput(path.join(dir, "x.csv"), "jsonl")).input.format, "jsonl");
});

test("CSV rows carry their header's columns, typed values and the line each starts on; a BOM is dropped", async () => {
  const { input } = await openInput("-", undefined, Readable.from([Buffer.from('\uFEFFx,name\r\n1,"a\nb"\r\n'), Buffer.from("2.5,\r\n")]));
  assert.equal(input.format, "csv");
  const rows = input as RowInput;
  const all = await items(rows);
  assert.deepEqual(rows.columns, ["x", "name"]);
  assert.deepEqual(all, [
    { where: "line 2", value: [1, "a\nb"] },
    { where: "line 4", value: [2.5, null] },
  ]);
});

test("JSON lines: a bad line is an item with its error, blank lines count for the numbering", async () => {
  const { input } = await openInput("-", "jsonl", Readable.from(['{"a": 1}\n\nnot json\n[1', ",2]\n"]));
  const all = await items(input as RowInput);
  assert.deepEqual(all[0], { where: "line 1", value: { a: 1 } });
  assert.equal(all[1].where, "line 3");
  assert.match(all[1].error!, /not valid JSON/);
  assert.deepEqual(all[2], { where: "line 4", value: [1, 2] });
});

test("a UTF-8 character split across chunks is read whole", async () => {
  const text = Buffer.from("word\nnaïve\n");
  const split = text.indexOf(0xc3) + 1;
  const { input } = await openInput("-", "csv", Readable.from([text.subarray(0, split), text.subarray(split)]));
  assert.deepEqual(await items(input as RowInput), [{ where: "line 2", value: ["naïve"] }]);
});
