// spec/library.md documents the public API: every export of src/index.ts (values and types, as the compiler sees
// them) is named in exactly one `###` heading, no heading names anything else, each section has an example that uses
// what it names, and every example type-checks against the library's types as `import ... from "omaf"`.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { readLibraryDoc } from "./helpers/library-docs.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const INDEX = join(REPO, "src", "index.ts");

const page = readLibraryDoc();

// One program: src/index.ts and each example as a module beside the page, with the repository's compiler options
// (strict, NodeNext, and `omaf` mapped to src/index.ts as a consumer's import resolves to the package's types).
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(REPO, "tsconfig.json"), ts.sys.readFile).config, ts.sys, REPO);
const virtual = new Map(page.examples.map((e) => [join(REPO, "spec", `library.md.line-${e.line}.ts`), e]));
const host = ts.createCompilerHost(config.options);
const { getSourceFile, fileExists, readFile } = host;
host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
host.readFile = (f) => virtual.get(f)?.code ?? readFile.call(host, f);
host.getSourceFile = (f, lang, onError, create) => {
  const example = virtual.get(f);
  return example ? ts.createSourceFile(f, example.code, lang) : getSourceFile.call(host, f, lang, onError, create);
};
const program = ts.createProgram({ rootNames: [INDEX, ...virtual.keys()], options: config.options, host });

function exportedNames(): string[] {
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(INDEX);
  assert.ok(index, "src/index.ts is not in the program");
  const symbol = checker.getSymbolAtLocation(index);
  assert.ok(symbol, "src/index.ts is not a module");
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

test("every export of src/index.ts has a section in spec/library.md, and every section names only exports", () => {
  const exported = exportedNames();
  assert.ok(exported.length > 40, `only ${exported.length} exports found`);
  const documented = page.sections.flatMap((s) => s.names);
  const twice = documented.filter((n, i) => documented.indexOf(n) !== i);
  assert.deepEqual(twice, [], `named in more than one heading: ${twice.join(", ")}`);
  const missing = exported.filter((n) => !documented.includes(n));
  assert.deepEqual(missing, [], `exports without a section in spec/library.md (add a "### \`name\`" heading with an example): ${missing.join(", ")}`);
  const unknown = documented.filter((n) => !exported.includes(n));
  assert.deepEqual(unknown, [], `spec/library.md headings name what src/index.ts does not export: ${unknown.join(", ")}`);
});

test("each section has an example that uses everything its heading names", () => {
  for (const section of page.sections) {
    assert.ok(section.examples.length > 0, `spec/library.md:${section.line} (${section.names.join(", ")}) has no \`\`\`ts example`);
    const code = section.examples.map((e) => e.code).join("\n");
    for (const name of section.names) {
      assert.match(code, new RegExp(`\\b${name}\\b`), `spec/library.md:${section.line}: the example does not use ${name}`);
    }
    assert.match(code, /from "omaf"/, `spec/library.md:${section.line}: the example does not import from "omaf"`);
  }
});

test("every example in spec/library.md type-checks against the library", () => {
  assert.ok(page.examples.length >= page.sections.length);
  const problems: string[] = [];
  for (const [file, example] of virtual) {
    const source = program.getSourceFile(file);
    assert.ok(source, `${file} is not in the program`);
    for (const d of ts.getPreEmitDiagnostics(program, source)) {
      const at = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1;
      problems.push(`spec/library.md:${example.line + at}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    }
  }
  assert.deepEqual(problems, []);
});
