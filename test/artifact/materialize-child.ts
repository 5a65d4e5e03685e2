// Materialises argv[2] into the cache folder argv[3] and prints the result's digest and warnings as JSON.
import { materializeArtifact } from "../../src/artifact/materialize.js";

const m = await materializeArtifact(process.argv[2], { cacheDir: process.argv[3] });
console.log(JSON.stringify({ artifactDigest: m.artifactDigest, warnings: m.warnings }));
