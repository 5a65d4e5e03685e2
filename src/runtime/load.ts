// Picks the Model implementation for an artifact from `binaries.type`. Creating a Model is cheap; load() does the
// heavy work. onnxruntime-node is imported inside OnnxModel.load() only, so serving a node model never loads it.
import { OmafError } from "../errors.js";
import type { Model } from "./model.js";
import { NodeModel } from "./node-model.js";
import type { NodeOptions } from "./node/options.js";
import { OnnxModel, type OnnxModelOptions } from "./onnx-model.js";
import type { JavaOptions } from "./java/options.js";
import { createJavaModel } from "./java/java-model.js";
import type { PythonOptions } from "./python/options.js";
import { createPythonModel } from "./python/python-model.js";
import type { ModelSource } from "./source.js";

/** What createModel needs: the unpacked artifact root, its manifest, and optionally its provenance. */
export interface CreateModelOptions extends ModelSource {
  /** Options for the onnx environment (session threads). */
  onnx?: OnnxModelOptions;
  /** Options for the python environment (interpreter, workers, timeout, logger); env vars fill the rest. */
  pythonOptions?: PythonOptions;
  /** Options for the java environment (launcher, workers, JVM options, timeout, logger); env vars fill the rest. */
  javaOptions?: JavaOptions;
  /** Options for the node environment (worker threads, in-process, timeout, logger); env vars fill the rest. */
  nodeOptions?: NodeOptions;
}

/** The Model for an unpacked artifact; call `load()` before predicting. */
export function createModel(opts: CreateModelOptions): Model {
  const type = opts.manifest?.binaries?.type as string | undefined;
  switch (type) {
    case "node":
      return new NodeModel({ dir: opts.dir, manifest: opts.manifest, provenance: opts.provenance }, opts.nodeOptions);
    case "onnx":
      return new OnnxModel(opts, opts.onnx);
    case "python":
      return createPythonModel({ dir: opts.dir, manifest: opts.manifest, provenance: opts.provenance, ...opts.pythonOptions });
    case "java":
      return createJavaModel({ dir: opts.dir, manifest: opts.manifest, provenance: opts.provenance, ...opts.javaOptions });
    default:
      throw new OmafError("OMAF_ERR_BINARIES_TYPE", `binaries.type '${String(type)}' is not one of python, java, node, onnx`, {
        type,
      });
  }
}
