// Environments omaf knows but cannot run yet (python GPPI, java GJPI): a Model whose load() says so clearly.
import { OmafError } from "../errors.js";
import type { MatrixInput, MatrixOutput, Model, ModelMetadata } from "./model.js";
import type { ModelSource } from "./source.js";

/** A Model for an environment that cannot be served; every call rejects with OMAF_ERR_ENV_UNSUPPORTED. */
export class UnsupportedModel implements Model {
  constructor(private readonly source: ModelSource) {}

  private error(): OmafError {
    const env = this.source.manifest.binaries.type;
    return new OmafError("OMAF_ERR_ENV_UNSUPPORTED", `environment '${env}' is not supported yet`, {
      environment: env,
      model: this.source.manifest.model.name,
    });
  }

  async load(): Promise<void> {
    throw this.error();
  }
  metadata(): ModelMetadata {
    throw this.error();
  }
  async predictMatrix(_input: MatrixInput): Promise<MatrixOutput> {
    throw this.error();
  }
  async predictObjects(_input: unknown): Promise<unknown> {
    throw this.error();
  }
  async close(): Promise<void> {}
}
