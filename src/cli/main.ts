#!/usr/bin/env node
// omaf command line: each command lives in its own small file under commands/ and calls the library.
//
// A command loads only what it uses (bench/cli-start.ts times the start, test/cli/start-loads.test.ts checks what is
// loaded): this file imports commander and the one command definition the arguments name (`omaf --version` alone
// needs neither), and each definition imports the library code its action needs (yaml, the ZIP reader, the ZIP writer,
// fastify, gRPC, ...) inside the action.
// Nothing but node:module is imported statically, so that the compile cache below is on before any module is compiled.
import module from "node:module";
import type { Command } from "commander";

// Node.js 22.1 and later keep the code compiled for each module in a cache on disk (in os.tmpdir(); turned off by
// NODE_DISABLE_COMPILE_CACHE=1), so later starts skip most of the parsing and compiling. Node.js 20 has no such cache.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/** Every command, in the order help lists them: each loader imports the module that defines it. */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  pack: async () => (await import("./commands/pack.js")).registerPack,
  validate: async () => (await import("./commands/validate.js")).registerValidate,
  inspect: async () => (await import("./commands/inspect.js")).registerInspect,
  unpack: async () => (await import("./commands/unpack.js")).registerUnpack,
  serve: async () => (await import("./commands/serve.js")).registerServe,
  test: async () => (await import("./commands/test.js")).registerTest,
  predict: async () => (await import("./commands/predict.js")).registerPredict,
  env: async () => (await import("./commands/env.js")).registerEnv,
  keygen: async () => (await import("./commands/keygen.js")).registerKeygen,
  sign: async () => (await import("./commands/sign.js")).registerSign,
  verify: async () => (await import("./commands/verify.js")).registerVerify,
  image: async () => (await import("./commands/image.js")).registerImage,
};

const args = process.argv.slice(2);
// `omaf inspect model.zip | head`: the reader left, so nobody wants the rest; stop quietly as other filters do. Not for
// serve, whose stdout is the inference log: losing it is an error its fatal-error path reports.
if (args[0] !== "serve") {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(0);
  });
}
const { omafVersion } = await import("../version.js");
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  // What commander answers to the option declared below, without loading commander: its load is most of what
  // `omaf --version` (run often by scripts and tool checks) takes past Node.js's own start.
  process.stdout.write(`${omafVersion}\n`);
} else {
  const { Command: CommandClass } = await import("commander");
  const program = new CommandClass()
    .name("omaf")
    .description(
      "Pack, validate, inspect, unpack, test, serve and predict with OMAF model artifacts, sign and verify them, and create their Python environments and container images.",
    )
    .version(omafVersion, "-V, --version")
    .showHelpAfterError()
    // Usage errors exit 2 (as the error table says); help and --version exit 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  for (const register of await Promise.all(commandsNeeded(args).map((name) => COMMANDS[name]()))) register(program);
  await program.parseAsync(process.argv);
}

/**
 * The commands whose definitions the arguments need. `omaf <command> ...` needs only that command; a program option
 * first needs none when it is the version (commander prints it as it reads the program's options, before it looks for
 * a command). Anything else (help, no command, an unknown one) may list or suggest every command, so gets them all.
 */
function commandsNeeded(argv: string[]): string[] {
  const first = argv[0];
  if (first === "-V" || first === "--version") return [];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return [first];
  return Object.keys(COMMANDS);
}
