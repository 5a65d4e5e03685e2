// Preload (`node --import`) that records every module URL the process resolves, one per line, in the file named by
// OMAF_TEST_RESOLVE_LOG: lets a test see which packages a process loaded (e.g. that serving a node model never
// touches onnxruntime).
import { register } from "node:module";

register("./resolve-log-hooks.mjs", import.meta.url);
