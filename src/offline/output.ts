// What `omaf predict` writes. Every output starts by naming the model, its version and the artifact digest:
//   csv    a first line `# omaf model=<name> version=<version> artifactDigest=sha256:<hex>` (pandas: comment="#"),
//          then a header of the output columns (an output holding several values per row becomes <name>_0, <name>_1...;
//          an objects model's answer objects give their keys)
//   jsonl  a first line {"omaf": {"model", "version", "artifactDigest"}}, then one line per input row
//   json   {"model", "version", "artifactDigest", "prediction": [...], "columns": [...]} (Odahu's results.json + provenance)
// A row that failed under --on-error null is an empty record (csv) or `null` (jsonl, json).
import type { Provenance } from "../dataplane/dataplane.js";
import { csvLine } from "./csv.js";

export const OUTPUT_FORMATS = ["csv", "jsonl", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One answered row: the prediction (null for a failed row), and whether the input row was an object. */
export interface OutputRow {
  prediction: unknown;
  keyed?: boolean;
}

/** Turns answered rows into text, in order. */
export interface OutputWriter {
  /** Text for these rows; `columns` are the output column names the model answered, when it did. */
  rows(rows: readonly OutputRow[], columns: string[] | undefined): string;
  /** The closing text. */
  end(columns: string[] | undefined): string;
}

/** The provenance as it appears in every output. */
export function provenanceRecord(p: Provenance): { model: string; version: string; artifactDigest: string } {
  return { model: p.modelName, version: p.modelVersion, artifactDigest: p.artifactDigest };
}

export function createWriter(format: OutputFormat, provenance: Provenance): OutputWriter {
  if (format === "csv") return new CsvWriter(provenance);
  if (format === "jsonl") return new JsonLinesWriter(provenance);
  return new JsonWriter(provenance);
}

const cells = (prediction: unknown): unknown[] => (Array.isArray(prediction) ? prediction : [prediction]);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

class CsvWriter implements OutputWriter {
  private started = false;
  /** Objects models answering an object per row: its keys (from the first answer) are the columns. */
  private keys?: string[];
  /** Values per output column (an array cell spreads over several CSV columns). */
  private widths?: number[];

  constructor(private readonly p: Provenance) {}

  rows(rows: readonly OutputRow[], columns: string[] | undefined): string {
    let s = "";
    if (!this.started) {
      s += `# omaf model=${this.p.modelName} version=${this.p.modelVersion} artifactDigest=${this.p.artifactDigest}\n`;
      this.started = true;
    }
    for (const r of rows) {
      if (r.prediction === null || r.prediction === undefined) {
        // Width unknown before the first answer: one empty quoted field still reads as one (missing) record.
        s += this.widths ? `${",".repeat(Math.max(0, this.width() - 1)) || '""'}\n` : '""\n';
        continue;
      }
      if (!this.widths && isRecord(r.prediction)) this.keys = Object.keys(r.prediction);
      const values = this.keys && isRecord(r.prediction) ? this.keys.map((k) => (r.prediction as Record<string, unknown>)[k]) : cells(r.prediction);
      if (!this.widths) {
        this.widths = values.map((v) => (Array.isArray(v) ? v.length : 1));
        s += csvLine(this.header(this.keys ?? columns, values.length));
      }
      s += csvLine(this.flatten(values));
    }
    return s;
  }

  end(): string {
    return this.started ? "" : `# omaf model=${this.p.modelName} version=${this.p.modelVersion} artifactDigest=${this.p.artifactDigest}\n`;
  }

  private width(): number {
    return this.widths!.reduce((a, b) => a + b, 0);
  }

  private header(columns: string[] | undefined, count: number): string[] {
    const names = columns && columns.length === count ? columns : Array.from({ length: count }, (_, i) => (count === 1 ? "prediction" : `prediction_${i}`));
    const out: string[] = [];
    names.forEach((name, i) => {
      const w = this.widths![i];
      if (w === 1) out.push(name);
      else for (let k = 0; k < w; k++) out.push(`${name}_${k}`);
    });
    return out;
  }

  private flatten(values: unknown[]): unknown[] {
    if (this.widths!.every((w, i) => w === 1 && !Array.isArray(values[i]))) return values;
    const out: unknown[] = [];
    for (const v of values) {
      if (Array.isArray(v)) for (const x of v) out.push(x);
      else out.push(v);
    }
    return out;
  }
}

class JsonLinesWriter implements OutputWriter {
  private started = false;
  constructor(private readonly p: Provenance) {}

  rows(rows: readonly OutputRow[], columns: string[] | undefined): string {
    let s = this.start();
    for (const r of rows) s += `${JSON.stringify(shape(r, columns))}\n`;
    return s;
  }

  end(): string {
    return this.start();
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    return `${JSON.stringify({ omaf: provenanceRecord(this.p) })}\n`;
  }
}

/** A row as JSON: an object keyed by the output columns when the input row was an object, else as answered. */
function shape(r: OutputRow, columns: string[] | undefined): unknown {
  if (r.prediction === undefined || r.prediction === null) return null;
  if (!r.keyed || !columns || !Array.isArray(r.prediction) || r.prediction.length !== columns.length) return r.prediction;
  const out: Record<string, unknown> = {};
  columns.forEach((c, i) => (out[c] = (r.prediction as unknown[])[i]));
  return out;
}

class JsonWriter implements OutputWriter {
  private count = 0;
  constructor(private readonly p: Provenance) {}

  rows(rows: readonly OutputRow[]): string {
    let s = this.count === 0 ? this.head() : "";
    for (const r of rows) {
      s += `${this.count++ === 0 ? "" : ","}\n${JSON.stringify(r.prediction ?? null)}`;
    }
    return s;
  }

  end(columns: string[] | undefined): string {
    const head = this.count === 0 ? this.head() : "";
    return `${head}\n]${columns ? `,"columns":${JSON.stringify(columns)}` : ""}}\n`;
  }

  private head(): string {
    const p = provenanceRecord(this.p);
    return `{"model":${JSON.stringify(p.model)},"version":${JSON.stringify(p.version)},"artifactDigest":${JSON.stringify(p.artifactDigest)},"prediction":[`;
  }
}
