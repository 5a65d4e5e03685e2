#!/usr/bin/env node
// omaf command line: each command lives in its own small file under commands/ and calls the library.
import { Command } from "commander";
import { omafVersion } from "../version.js";
import { registerPack } from "./commands/pack.js";
import { registerValidate } from "./commands/validate.js";
import { registerInspect } from "./commands/inspect.js";
import { registerUnpack } from "./commands/unpack.js";
import { registerServe } from "./commands/serve.js";

const program = new Command()
  .name("omaf")
  .description("Pack, validate, inspect, unpack and serve OMAF model artifacts.")
  .version(omafVersion, "-V, --version")
  .showHelpAfterError()
  // Usage errors exit 2 (as the error table says); help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

for (const register of [registerPack, registerValidate, registerInspect, registerUnpack, registerServe]) register(program);

await program.parseAsync(process.argv);
