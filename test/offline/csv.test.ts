// The CSV reader and writer of omaf predict: RFC 4180 quoting, line numbers, and the same records whatever the chunks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CsvParser, CsvSyntaxError, csvLine, csvValue } from "../../src/offline/csv.js";

const parseAll = (chunks: string[]) => {
  const p = new CsvParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
};

const TEXT = 'a,b,c\r\n1,"two, with comma","say ""hi"""\n\n"multi\nline",,x\n4,5,6';

test("quoted fields, doubled quotes, CRLF, blank lines and a last line without a break", () => {
  assert.deepEqual(parseAll([TEXT]), [
    { fields: ["a", "b", "c"], line: 1 },
    { fields: ["1", "two, with comma", 'say "hi"'], line: 2 },
    { fields: ["multi\nline", "", "x"], line: 4 },
    { fields: ["4", "5", "6"], line: 6 },
  ]);
});

test("the same records whatever the chunk boundaries (every split point, and one character at a time)", () => {
  const whole = parseAll([TEXT]);
  for (let i = 0; i <= TEXT.length; i++) assert.deepEqual(parseAll([TEXT.slice(0, i), TEXT.slice(i)]), whole, `split at ${i}`);
  assert.deepEqual(parseAll([...TEXT]), whole);
});

test("syntax errors name their line", () => {
  assert.throws(
    () => parseAll(['a,b\n1,x"y\n']),
    (err: unknown) => err instanceof CsvSyntaxError && err.line === 2,
  );
  assert.throws(
    () => parseAll(['a,b\n"open,1\n2,3\n']),
    (err: unknown) => err instanceof CsvSyntaxError && err.line === 2 && /not closed/.test(err.message),
  );
  assert.throws(
    () => parseAll(['a\n"x"y\n']),
    (err: unknown) => err instanceof CsvSyntaxError && err.line === 2,
  );
});

test("values: numbers as numbers, empty as null, booleans, text as text", () => {
  assert.deepEqual(["1", "-2.5", "1e3", ".5", "", "true", "False", "NaN", "abc", "0x10", " 1", "1.2.3"].map(csvValue), [
    1,
    -2.5,
    1000,
    0.5,
    null,
    true,
    false,
    Number.NaN,
    "abc",
    "0x10",
    " 1",
    "1.2.3",
  ]);
});

test("the writer quotes what needs it and the parser reads it back", () => {
  const values = ["plain", "a,b", 'q"q', "line\nbreak", " padded ", 3.5, null, [1, 2]];
  const line = csvLine(values);
  assert.equal(line, 'plain,"a,b","q""q","line\nbreak"," padded ",3.5,,"[1,2]"\n');
  assert.deepEqual(parseAll([line])[0].fields, ["plain", "a,b", 'q"q', "line\nbreak", " padded ", "3.5", "", "[1,2]"]);
});
