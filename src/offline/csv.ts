// RFC 4180 CSV for `omaf predict`: an incremental parser fed text chunks (so input of any size is read in constant
// memory) and a writer. Hand-written rather than a dependency because reading is most of omaf predict's time: one pass
// over each chunk, fields cut with indexOf, and a record's first line number kept for error messages. bench/predict.ts
// measures it against csv-parse on the same rows (bench/RESULTS.md, ## predict: several times faster).

/** One parsed record: its fields and the line (1-based) it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** A record that cannot be parsed (a quote in the middle of a field, an unclosed quote at the end). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Incremental parser: push() text chunks, take complete records; end() gives the last record. Quoted fields may hold
 * commas, quotes (doubled) and line breaks; CRLF and LF both end a record; blank lines are skipped.
 */
export class CsvParser {
  private rest = "";
  /** Line number of the first character of `rest`. */
  private restLine = 1;

  push(chunk: string): CsvRecord[] {
    const text = this.rest + chunk;
    const out: CsvRecord[] = [];
    const end = this.parse(text, out, false);
    this.rest = text.slice(end);
    return out;
  }

  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    const text = this.rest;
    this.rest = "";
    if (text.length > 0) this.parse(text.endsWith("\n") ? text : `${text}\n`, out, true);
    return out;
  }

  /** Parses whole records from `text` into `out`; answers where the unfinished tail starts. */
  private parse(text: string, out: CsvRecord[], final: boolean): number {
    let pos = 0;
    let line = this.restLine;
    const n = text.length;
    let nl = -1;
    while (pos < n) {
      const start = pos;
      const startLine = line;
      const fields: string[] = [];
      let complete = false;
      while (true) {
        if (text.charCodeAt(pos) === 34 /* " */) {
          // Quoted field: runs to the next quote not followed by another quote.
          let value = "";
          let at = pos + 1;
          let closed = -1;
          while (true) {
            const q = text.indexOf('"', at);
            if (q < 0) break;
            if (text.charCodeAt(q + 1) === 34) {
              value += text.slice(at, q + 1);
              at = q + 2;
              continue;
            }
            if (q + 1 >= n && !final) break; // the next chunk may start with the doubling quote
            value += text.slice(at, q);
            closed = q;
            break;
          }
          if (closed < 0) {
            if (final) throw new CsvSyntaxError(startLine, "a quoted field is not closed before the end of the input");
            break;
          }
          line += countNewlines(value);
          pos = closed + 1;
          fields.push(value);
          const next = text.charCodeAt(pos);
          if (next === 44 /* , */) {
            pos++;
            continue;
          }
          const eol = lineEnd(text, pos);
          if (eol < 0) {
            // Need more input to see what follows the quote.
            if (pos >= n || (pos === n - 1 && text.charCodeAt(pos) === 13)) break;
            throw new CsvSyntaxError(line, `unexpected text after a quoted field: ${JSON.stringify(text.slice(pos, pos + 20))}`);
          }
          pos = eol;
          line++;
          complete = true;
          break;
        }
        // Unquoted field: up to the next comma or line end (end() appends a line break, so the last line has one).
        if (nl < pos) nl = text.indexOf("\n", pos);
        if (nl < 0) break;
        const comma = text.indexOf(",", pos);
        if (comma >= 0 && comma < nl) {
          fields.push(unquoted(text.slice(pos, comma), line));
          pos = comma + 1;
          continue;
        }
        fields.push(unquoted(text.charCodeAt(nl - 1) === 13 && nl > pos ? text.slice(pos, nl - 1) : text.slice(pos, nl), line));
        pos = nl + 1;
        line++;
        complete = true;
        break;
      }
      if (!complete) {
        this.restLine = startLine;
        return start;
      }
      // A blank line is one empty field: no record.
      if (!(fields.length === 1 && fields[0] === "")) out.push({ fields, line: startLine });
    }
    this.restLine = line;
    return pos;
  }
}

function unquoted(value: string, line: number): string {
  if (value.includes('"')) throw new CsvSyntaxError(line, `a quote inside an unquoted field: ${JSON.stringify(value.slice(0, 40))}`);
  return value;
}

/** Where the record ends after a closing quote: past `\n` or `\r\n` at `pos`, or -1. */
function lineEnd(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c === 10) return pos + 1;
  if (c === 13 && text.charCodeAt(pos + 1) === 10) return pos + 2;
  return -1;
}

function countNewlines(s: string): number {
  let count = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) count++;
  return count;
}

/**
 * A CSV field's value for the model: a number when the text is one (as pandas' read_csv reads it), null when empty,
 * true/false for those words, the text otherwise.
 */
export function csvValue(text: string): unknown {
  if (text === "") return null;
  const c = text.charCodeAt(0);
  // Digits, sign or dot first: try a number (Number() accepts "1e5", " 1 " and "0x1f"; only the first matters here).
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    const n = Number(text);
    if (!Number.isNaN(n) && text.trim() === text && !/^[+-]?0[xob]/i.test(text)) return n;
  }
  if (text === "true" || text === "True") return true;
  if (text === "false" || text === "False") return false;
  if (text === "NaN" || text === "nan") return Number.NaN;
  return text;
}

/** One CSV field: quoted when it holds a comma, quote, line break or leading/trailing space. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/[",\r\n]/.test(text) || text.trim() !== text) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

/** One CSV record with its line break. */
export function csvLine(values: readonly unknown[]): string {
  let s = "";
  for (let i = 0; i < values.length; i++) s += i === 0 ? csvField(values[i]) : `,${csvField(values[i])}`;
  return `${s}\n`;
}
