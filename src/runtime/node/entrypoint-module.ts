// A node model's entrypoint module, loaded and checked: the GPPI functions it exports, called with omaf's errors.
// This runs where the model runs (a worker thread, or the server's thread in in-process mode); it knows nothing of
// threads. Everything it answers is plain data, so it can be posted between threads as it is.
//
// Output serialiser: when the module exports get_output_json_serializer(), it is called once at load and must answer
// a function `(value) => string` or an object with `stringify(value)`. Every prediction (the `prediction` part of a
// matrix answer, the whole answer in objects mode) is then serialised with it and parsed back with JSON.parse, so
// callers always get plain JSON values shaped the way the model wants them.
import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { OmafError } from "../../errors.js";
import { TYPESCRIPT_EXTENSIONS } from "../entrypoint.js";
import { GppiShapeError, normaliseMatrixResult, parseInfoSchemas } from "../gppi.js";
import type { FieldSchema, MatrixOutput, PredictMode } from "../model.js";
import type { Tensor } from "../../tensor/tensor.js";
import { messageOf } from "../source.js";

/** Where the entrypoint is. */
export interface EntrypointSpec {
  /** Absolute path of the module file. */
  absFile: string;
  /** The same, relative to the artifact root (named in error messages). */
  file: string;
  /** Folders whose tsconfig.json applies to a TypeScript entrypoint, first found wins. */
  tsconfigSearch: string[];
}

/** What the model told about itself at load. */
export interface EntrypointReport {
  mode: PredictMode;
  inputSchema?: FieldSchema[];
  outputSchema?: FieldSchema[];
  objectInputType?: unknown;
  objectOutputType?: unknown;
}

/** A loaded entrypoint: its report and its predict function, answering plain JSON values. */
export interface LoadedEntrypoint {
  report: EntrypointReport;
  predictMatrix(data: unknown[][], columns: string[] | undefined): Promise<MatrixOutput>;
  predictObjects(input: unknown): Promise<unknown>;
  /** Tensors mode: the named input tensors in, whatever predict_on_tensors() answered out (read by the server). */
  predictTensors(inputs: Record<string, ModelTensor>): Promise<unknown>;
}

/** A tensor as a tensors-mode entrypoint gets it: typed array data (BYTES: one Uint8Array per element), row-major. */
export type ModelTensor = Omit<Tensor, "parameters"> & { parameters?: Record<string, unknown> };

type Fn = (...args: unknown[]) => unknown;
type Serialise = (value: unknown) => unknown;

/** Imports a JS module with import(), a TS one through tsx (loaded only then). */
async function importModule(absPath: string, tsconfigSearch: string[]): Promise<Record<string, unknown>> {
  const url = pathToFileURL(absPath).href;
  if (!(TYPESCRIPT_EXTENSIONS as readonly string[]).includes(extname(absPath))) return import(url);
  const { tsImport } = await import("tsx/esm/api");
  // The model's own tsconfig.json applies, never the serving process's.
  const tsconfig = tsconfigSearch.map((d) => join(d, "tsconfig.json")).find((p) => existsSync(p)) ?? false;
  // (The module's own URL as the parent: this code may run from an evaluated script, which has no URL of its own.)
  return tsImport(url, { parentURL: url, tsconfig });
}

/** Imports the entrypoint and runs init() and the optional load-time functions; rejects with an OmafError. */
export async function loadEntrypoint({ absFile, file, tsconfigSearch }: EntrypointSpec): Promise<LoadedEntrypoint> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(absFile, tsconfigSearch);
  } catch (err) {
    throw new OmafError(
      "OMAF_ERR_ENTRYPOINT_LOAD",
      `cannot import entrypoint ${file}: ${messageOf(err)}`,
      { file },
      {
        cause: err,
      },
    );
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
      throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${file} does not export ${name}() (${why})`, { file, function: name });
    }
    return fn;
  };
  // Calls a model function at load time; its failure is a failed initialisation.
  const callAtLoad = async (name: string, fn: Fn): Promise<unknown> => {
    try {
      return await fn();
    } catch (err) {
      throw new OmafError(
        "OMAF_ERR_MODEL_INIT",
        `${name}() in ${file} failed: ${messageOf(err)}`,
        { file, function: name },
        {
          cause: err,
        },
      );
    }
  };

  const mode = await callAtLoad("init", required("init", "every GPPI model needs it"));
  if (mode !== "matrix" && mode !== "objects" && mode !== "tensors") {
    throw new OmafError(
      "OMAF_ERR_ENTRYPOINT_FUNCTION",
      `init() in ${file} returned ${JSON.stringify(mode) ?? String(mode)}; expected 'matrix', 'objects' or 'tensors'`,
      {
        file,
        function: "init",
      },
    );
  }
  const predictName = `predict_on_${mode}`;
  const predict = required(predictName, `init() answered '${mode}'`);
  const report: EntrypointReport = { mode };

  const infoName = lookup("get_info") !== undefined ? "get_info" : "info";
  const info = optional(infoName);
  if (info) {
    const answer = await callAtLoad(infoName, info);
    try {
      Object.assign(report, parseInfoSchemas(answer));
    } catch (err) {
      throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `${infoName}() in ${file} answered a bad schema: ${messageOf(err)}`, {
        file,
        function: infoName,
      });
    }
  }

  for (const [name, key] of [
    ["get_object_input_type", "objectInputType"],
    ["get_object_output_type", "objectOutputType"],
  ] as const) {
    const fn = optional(name);
    if (fn) report[key] = await callAtLoad(name, fn);
  }

  let serialiser: Serialise | undefined;
  const serialiserFactory = optional("get_output_json_serializer");
  if (serialiserFactory) {
    const s = (await callAtLoad("get_output_json_serializer", serialiserFactory)) as unknown;
    if (typeof s === "function") serialiser = s as Serialise;
    else if (s && typeof (s as { stringify?: unknown }).stringify === "function") {
      serialiser = (value) => (s as { stringify: Serialise }).stringify(value);
    } else {
      throw new OmafError("OMAF_ERR_ENTRYPOINT_FUNCTION", `get_output_json_serializer() in ${file} must return a function or an object with stringify()`, {
        file,
        function: "get_output_json_serializer",
      });
    }
  }

  const call = async (args: unknown[]): Promise<unknown> => {
    try {
      return await predict(...args);
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `${predictName}() in ${file} failed: ${messageOf(err)}`, { file }, { cause: err });
    }
  };
  const serialise = (value: unknown): unknown => {
    try {
      const text = serialiser!(value);
      if (typeof text !== "string") throw new Error("it did not return a string");
      return JSON.parse(text);
    } catch (err) {
      throw new OmafError("OMAF_ERR_PREDICT", `the output JSON serializer of ${file} failed: ${messageOf(err)}`, { file });
    }
  };

  return {
    report,
    async predictMatrix(data, columns) {
      const answer = await call(columns == null ? [data] : [data, columns]);
      try {
        const out = normaliseMatrixResult(answer);
        if (serialiser) {
          const prediction = serialise(out.prediction);
          if (!Array.isArray(prediction)) throw new GppiShapeError("the serialised prediction is not a list");
          out.prediction = prediction;
        }
        return out;
      } catch (err) {
        if (err instanceof OmafError) throw err;
        throw new OmafError("OMAF_ERR_PREDICT", `predict_on_matrix() in ${file}: ${messageOf(err)}`, { file });
      }
    },
    async predictObjects(input) {
      const answer = await call([input]);
      return serialiser ? serialise(answer) : answer;
    },
    // Tensors travel as typed arrays, never as JSON: the serializer does not apply.
    predictTensors: (inputs) => call([inputs]),
  };
}
