// The node environment: omaf's JavaScript/TypeScript take on GPPI. The entrypoint module exports init() and
// predict_on_matrix() or predict_on_objects(), plus the optional GPPI extras.
//
// Output serialiser: when the module exports get_output_json_serializer(), it is called once at load and must answer
// a function `(value) => string` or an object with `stringify(value)`. Every prediction (the `prediction` part of a
// matrix answer, the whole answer in objects mode) is then serialised with it and parsed back with JSON.parse, so
// callers always get plain JSON values shaped the way the model wants them.
//
// The module runs in the server's own process and thread; MODEL_LOCATION is set to the model folder before import.
import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { OmafError } from "../errors.js";
import { TYPESCRIPT_EXTENSIONS } from "./entrypoint.js";
import { checkMatrixRequest, GppiShapeError, matrixTensorSpecs, normaliseMatrixResult, parseInfoSchemas } from "./gppi.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata, PredictMode } from "./model.js";
import { entrypointFile, sharedLoad, manifestMetadata, messageOf, notReady, type ModelSource } from "./source.js";

type Fn = (...args: unknown[]) => unknown;
type Serialise = (value: unknown) => unknown;

interface Loaded {
  metadata: ModelMetadata;
  predict: Fn;
  serialise?: Serialise;
}

/** Imports a JS module with import(), a TS one through tsx (loaded only then). */
async function importModule(absPath: string, tsconfigSearch: string[]): Promise<Record<string, unknown>> {
  const url = pathToFileURL(absPath).href;
  if (!(TYPESCRIPT_EXTENSIONS as readonly string[]).includes(extname(absPath))) return import(url);
  const { tsImport } = await import("tsx/esm/api");
  // The model's own tsconfig.json applies, never the serving process's.
  const tsconfig = tsconfigSearch.map((d) => join(d, "tsconfig.json")).find((p) => existsSync(p)) ?? false;
  return tsImport(url, { parentURL: import.meta.url, tsconfig });
}

/** A GPPI model written as a JS/TS module (`binaries.type: node`). */
export class NodeModel implements Model {
  private loaded?: Loaded;
  /** The entrypoint file relative to the artifact root, once resolved (named in error messages). */
  private file: string;

  constructor(private readonly source: ModelSource) {
    this.file = source.manifest.model.entrypoint;
  }

  readonly load = sharedLoad(() => this.doLoad());

  private async doLoad(): Promise<void> {
    const { manifest, dir } = this.source;
    const { location, rel } = entrypointFile(this.source, "node");
    const file = rel;
    this.file = file;
    const absFile = join(dir, rel);

    // GPPI contract: the model finds its files through MODEL_LOCATION, set before its module runs.
    process.env.MODEL_LOCATION = location.abs;

    let mod: Record<string, unknown>;
    try {
      mod = await importModule(absFile, [location.abs, dir]);
    } catch (err) {
      throw new OmafError("OMAF_ERR_ENTRYPOINT_LOAD", `cannot import entrypoint ${file}: ${messageOf(err)}`, { file }, {
        cause: err,
      });
    }

    // ESM named exports, or a default-exported object (also what module.exports becomes for CommonJS).
    const fallback = mod.default && typeof mod.default === "object" ? (mod.default as Record<string, unknown>) : {};
    const lookup = (name: string): unknown => (name in mod ? mod[name] : fallback[name]);
    const optional = (name: string): Fn | undefined => {
      const fn = lookup(name);
      if (fn === undefined) return undefined;
      if (typeof fn !== "function") {
        throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${name} in ${file} is not a function`, { file, function: name });
      }
      return fn as Fn;
    };
    const required = (name: string, why: string): Fn => {
      const fn = optional(name);
      if (!fn) {
        throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${file} does not export ${name}() (${why})`, {
          file,
          function: name,
        });
      }
      return fn;
    };
    // Calls a model function at load time; its failure is a failed initialisation.
    const callAtLoad = async (name: string, fn: Fn): Promise<unknown> => {
      try {
        return await fn();
      } catch (err) {
        throw new OmafError("OMAF_ERR_MODEL_INIT", `${name}() in ${file} failed: ${messageOf(err)}`, { file, function: name }, {
          cause: err,
        });
      }
    };

    const mode = await callAtLoad("init", required("init", "every GPPI model needs it"));
    if (mode !== "matrix" && mode !== "objects") {
      throw new OmafError(
        "OMAF_ERR_ENTRYPOINT_FUNCTION",
        `init() in ${file} returned ${JSON.stringify(mode) ?? String(mode)}; expected 'matrix' or 'objects'`,
        { file, function: "init" },
      );
    }
    const predictName = mode === "matrix" ? "predict_on_matrix" : "predict_on_objects";
    const predict = required(predictName, `init() answered '${mode}'`);

    const metadata: ModelMetadata = { ...manifestMetadata(this.source), mode: mode as PredictMode, inputs: [], outputs: [] };

    const infoName = lookup("get_info") !== undefined ? "get_info" : "info";
    const info = optional(infoName);
    if (info) {
      const answer = await callAtLoad(infoName, info);
      try {
        Object.assign(metadata, parseInfoSchemas(answer));
      } catch (err) {
        throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${infoName}() in ${file} answered a bad schema: ${messageOf(err)}`, {
          file,
          function: infoName,
        });
      }
      if (mode === "matrix") Object.assign(metadata, matrixTensorSpecs(metadata.inputSchema, metadata.outputSchema));
    }

    for (const [name, key] of [
      ["get_object_input_type", "objectInputType"],
      ["get_object_output_type", "objectOutputType"],
    ] as const) {
      const fn = optional(name);
      if (fn) metadata[key] = await callAtLoad(name, fn);
    }

    let serialise: Serialise | undefined;
    const serialiserFactory = optional("get_output_json_serializer");
    if (serialiserFactory) {
      const s = (await callAtLoad("get_output_json_serializer", serialiserFactory)) as unknown;
      if (typeof s === "function") serialise = s as Serialise;
      else if (s && typeof (s as { stringify?: unknown }).stringify === "function") {
        serialise = (value) => (s as { stringify: Serialise }).stringify(value);
      } else {
        throw new OmafError(
          "OMAF_ERR_ENTRYPOINT_FUNCTION",
          `get_output_json_serializer() in ${file} must return a function or an object with stringify()`,
          { file, function: "get_output_json_serializer" },
        );
      }
    }

    this.loaded = { metadata, predict, serialise };
  }

  metadata(): ModelMetadata {
    return this.ready().metadata;
  }

  async predictMatrix(input: MatrixInput): Promise<MatrixOutput> {
    const loaded = this.readyFor("matrix");
    const { data, columns } = checkMatrixRequest(input, loaded.metadata.inputSchema);
    const answer = await this.call(loaded, "predict_on_matrix", columns == null ? [data] : [data, columns]);
    let out: MatrixOutput;
    try {
      out = normaliseMatrixResult(answer);
      if (loaded.serialise) {
        const prediction = this.serialise(loaded, out.prediction);
        if (!Array.isArray(prediction)) throw new GppiShapeError("the serialised prediction is not a list");
        out.prediction = prediction;
      }
    } catch (err) {
      if (err instanceof OmafError) throw err;
      throw new OmafError("OMAF_ERR_PREDICT", `predict_on_matrix() in ${this.file}: ${messageOf(err)}`, { file: this.file });
    }
    if (!out.columns && loaded.metadata.outputSchema?.length) out.columns = loaded.metadata.outputSchema.map((f) => f.name);
    return out;
  }

  async predictObjects(input: unknown): Promise<unknown> {
    const loaded = this.readyFor("objects");
    const answer = await this.call(loaded, "predict_on_objects", [input]);
    return loaded.serialise ? this.serialise(loaded, answer) : answer;
  }

  async close(): Promise<void> {
    // Nothing to release: the module stays in the process's module cache.
  }

  private ready(): Loaded {
    if (!this.loaded) throw notReady(this.source.manifest.model.name);
    return this.loaded;
  }

  private readyFor(mode: PredictMode): Loaded {
    const loaded = this.ready();
    if (loaded.metadata.mode !== mode) {
      throw new OmafError(
        "OMAF_ERR_NOT_IMPLEMENTED",
        `model '${loaded.metadata.name}' serves ${loaded.metadata.mode} predictions, not ${mode}`,
      );
    }
    return loaded;
  }

  private async call(loaded: Loaded, name: string, args: unknown[]): Promise<unknown> {
    try {
      return await loaded.predict(...args);
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `${name}() in ${this.file} failed: ${messageOf(err)}`, { file: this.file }, {
        cause: err,
      });
    }
  }

  private serialise(loaded: Loaded, value: unknown): unknown {
    try {
      const text = loaded.serialise!(value);
      if (typeof text !== "string") throw new Error("it did not return a string");
      return JSON.parse(text);
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `the output JSON serializer of ${this.file} failed: ${messageOf(err)}`, {
        file: this.file,
      });
    }
  }
}
