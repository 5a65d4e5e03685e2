// Module hooks of resolve-log.mjs: append each resolved URL to OMAF_TEST_RESOLVE_LOG.
import { appendFileSync } from "node:fs";

const LOG = process.env.OMAF_TEST_RESOLVE_LOG;

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (LOG) appendFileSync(LOG, `${result.url}\n`);
  return result;
}
