import { ERROR_CODES } from "../src/errors.ts";

/** Renders spec/errors.md from the error table in src/errors.ts. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, info]) => `| \`${code}\` | ${info.http} | ${info.grpc} | ${info.exit} | ${info.description} |`);
  return [
    "<!-- Generated from src/errors.ts by `npm run gen:docs`. Do not edit. -->",
    "# omaf error and warning codes",
    "",
    "Every error omaf reports carries one of these stable codes: the CLI prints it (and `--json` emits it), HTTP",
    "protocols answer with the HTTP status and gRPC protocols with the gRPC status listed here. `OMAF_WARN_*` codes are",
    "warnings: they are reported but never make an operation fail. The CLI exits 0 on success, 1 when the artifact or",
    "input is invalid or rejected, and 2 on usage or I/O errors.",
    "",
    "| code | HTTP | gRPC | exit | meaning |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}
