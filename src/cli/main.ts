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
  .showHelpAfterError();

for (const register of [registerPack, registerValidate, registerInspect, registerUnpack, registerServe]) register(program);

await program.parseAsync(process.argv);
