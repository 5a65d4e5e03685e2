// The inputs `omaf predict` reads. CSV and JSON lines are read as a stream, a chunk at a time (constant memory however
// large the file); a JSON document (Odahu's invoke body or an OIP v2 inference request) is read whole.
import { createReadStream } from "node:fs";
import { extname } from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { OmafError } from "../errors.js";
import { parseJson } from "../json.js";
import { CsvParser, CsvSyntaxError, csvValue } from "./csv.js";

export const INPUT_FORMATS = ["csv", "jsonl", "json", "oip"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** One input item: a row (values), an object (JSON lines), or why it could not be read. */
export interface InputItem {
  /** Where it is, for messages: `line 12` (CSV, JSON lines) or `row 3` (a JSON document's data). */
  where: string;
  value?: unknown;
  error?: string;
}

/** Rows read from a stream or a document, in order. */
export interface RowInput {
  format: "csv" | "jsonl" | "json";
  /** Column names: the CSV header, or a JSON document's `columns`. */
  columns?: string[];
  /** Items in groups as they were read (one group per chunk of text). */
  items: AsyncIterable<InputItem[]>;
}

/** An OIP v2 inference request: one model call. */
export interface OipInput {
  format: "oip";
  body: Buffer;
}

export type PredictInput = RowInput | OipInput;

/** Largest JSON document read whole (a JSON lines or CSV file has no limit). */
export const MAX_DOCUMENT_BYTES = 1024 ** 3;

export function inputError(message: string, details?: Record<string, unknown>): OmafError {
  return new OmafError("OMAF_ERR_INPUT_FORMAT", message, details);
}

/** The format a file name says, if it says one. */
export function formatOfName(file: string): InputFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".json") return "json";
  return undefined;
}

/**
 * Opens the input (`-` for stdin). The format is the one given, else the file name's, else what the first bytes look
 * like: `{` or `[` at the start of a line that is a whole JSON value means JSON lines, other JSON is a document,
 * anything else CSV. A JSON document with `inputs` is an OIP v2 request.
 */
export async function openInput(
  file: string,
  format?: InputFormat,
  stdin: Readable = process.stdin,
): Promise<{ input: PredictInput; size?: number; bytesRead: () => number }> {
  let stream: Readable;
  let size: number | undefined;
  if (file === "-") stream = stdin;
  else {
    const { stat } = await import("node:fs/promises");
    const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new OmafError(err.code === "ENOENT" ? "OMAF_ERR_NOT_FOUND" : "OMAF_ERR_IO", `cannot read ${file}: ${err.message}`);
    });
    if (!info.isFile()) throw new OmafError("OMAF_ERR_IO", `${file} is not a file`);
    size = info.size;
    // 64 KiB reads: a few thousand rows parsed at a time, so what is held between model calls stays small.
    stream = createReadStream(file, { highWaterMark: 1 << 16 });
  }
  let bytes = 0;
  const chunks = counted(stream, (n) => (bytes += n));
  const first = await chunks.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
  const chosen = format ?? (file === "-" ? undefined : formatOfName(file)) ?? sniff(head);
  const rest = prepend(head, chunks);
  const bytesRead = () => bytes;
  if (chosen === "csv") return { input: csvInput(rest), size, bytesRead };
  if (chosen === "jsonl") return { input: { format: "jsonl", items: jsonLines(rest) }, size, bytesRead };
  return { input: await jsonDocument(rest, chosen), size, bytesRead };
}

async function* counted(stream: Readable, add: (n: number) => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      add(b.length);
      yield b;
    }
  } catch (err) {
    throw new OmafError("OMAF_ERR_IO", `reading the input failed: ${(err as Error).message}`);
  }
}

async function* prepend(head: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  yield* rest;
}

function sniff(head: Buffer): InputFormat {
  const text = head.toString("utf8").replace(/^\uFEFF/, "");
  const start = text.trimStart();
  if (!start.startsWith("{") && !start.startsWith("[")) return "csv";
  const nl = start.indexOf("\n");
  const firstLine = nl < 0 ? start : start.slice(0, nl);
  try {
    JSON.parse(firstLine);
    // One whole value on the first line and more after it: JSON lines; a lone value is a document.
    return nl >= 0 && start.slice(nl).trim() !== "" ? "jsonl" : "json";
  } catch {
    return "json";
  }
}

/** Text chunks from byte chunks (a UTF-8 character split across chunks is joined; a BOM is dropped). */
async function* text(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let first = true;
  for await (const chunk of chunks) {
    let s = decoder.write(chunk);
    if (first && s.length > 0) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      first = false;
    }
    yield s;
  }
  const tail = decoder.end();
  if (tail) yield tail;
}

/** CSV with a header line: the header names the columns; each later record is a row of values (see csvValue). */
function csvInput(chunks: AsyncIterable<Buffer>): RowInput {
  const parser = new CsvParser();
  const input: RowInput = { format: "csv", items: emptyItems() };
  const records = (async function* () {
    try {
      for await (const s of text(chunks)) yield parser.push(s);
      yield parser.end();
    } catch (err) {
      if (err instanceof CsvSyntaxError) throw inputError(`line ${err.line}: ${err.message}`, { line: err.line });
      throw err;
    }
  })();
  input.items = (async function* () {
    let columns: string[] | undefined;
    for await (const group of records) {
      const items: InputItem[] = [];
      for (const r of group) {
        if (!columns) {
          columns = r.fields;
          input.columns = columns;
          continue;
        }
        const where = `line ${r.line}`;
        if (r.fields.length !== columns.length) {
          items.push({ where, error: `${r.fields.length} fields, the header has ${columns.length}` });
          continue;
        }
        const row = new Array<unknown>(r.fields.length);
        for (let i = 0; i < row.length; i++) row[i] = csvValue(r.fields[i]);
        items.push({ where, value: row });
      }
      if (items.length > 0) yield items;
    }
    if (!columns) throw inputError("the CSV input is empty: it needs a header line naming the columns");
  })();
  return input;
}

async function* emptyItems(): AsyncGenerator<InputItem[]> {}

/** JSON lines: each non-blank line is one JSON value (a row array, an object, or any JSON for objects models). */
async function* jsonLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<InputItem[]> {
  let rest = "";
  let line = 0;
  const parse = (s: string, items: InputItem[]) => {
    line++;
    if (s.trim() === "") return;
    const where = `line ${line}`;
    try {
      items.push({ where, value: parseJson(s, where) });
    } catch (err) {
      items.push({ where, error: (err as Error).message });
    }
  };
  for await (const s of text(chunks)) {
    const items: InputItem[] = [];
    let start = 0;
    const all = rest + s;
    for (let nl = all.indexOf("\n"); nl >= 0; nl = all.indexOf("\n", start)) {
      parse(all.slice(start, nl), items);
      start = nl + 1;
    }
    rest = all.slice(start);
    if (items.length > 0) yield items;
  }
  const items: InputItem[] = [];
  if (rest !== "") parse(rest, items);
  if (items.length > 0) yield items;
}

/** A whole JSON document: Odahu's `{"columns"?, "data"}` (or a bare list of rows), or an OIP v2 request. */
async function jsonDocument(chunks: AsyncIterable<Buffer>, format: InputFormat): Promise<PredictInput> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const c of chunks) {
    total += c.length;
    if (total > MAX_DOCUMENT_BYTES) {
      throw inputError(`a JSON document over ${MAX_DOCUMENT_BYTES} bytes; use JSON lines or CSV for large inputs (they are streamed)`);
    }
    parts.push(c);
  }
  const body = Buffer.concat(parts);
  const doc = parseDocument(body);
  if (format === "oip" || (doc !== null && typeof doc === "object" && !Array.isArray(doc) && "inputs" in doc)) return { format: "oip", body };
  const { data, columns } = Array.isArray(doc) ? { data: doc, columns: undefined } : ((doc ?? {}) as { data?: unknown; columns?: unknown });
  if (!Array.isArray(data))
    throw inputError('a JSON input is {"columns"?: [...], "data": [[...], ...]}, a list of rows, or an OIP v2 request {"inputs": [...]}');
  if (columns !== undefined && (!Array.isArray(columns) || !columns.every((c) => typeof c === "string"))) {
    throw inputError('"columns" must be a list of strings');
  }
  return {
    format: "json",
    columns: columns as string[] | undefined,
    items: (async function* () {
      const items: InputItem[] = data.map((value, i) => ({ where: `row ${i + 1}`, value }));
      // Groups of a fixed size, so the progress and the batching see the same steps as for a stream.
      for (let i = 0; i < items.length; i += 4096) yield items.slice(i, i + 4096);
    })(),
  };
}

function parseDocument(body: Buffer): unknown {
  try {
    return parseJson(body, "the JSON input");
  } catch (err) {
    throw inputError((err as Error).message);
  }
}
