/**
 * Type-checks the `@example` blocks of the package's doc comments as a consumer's modules, each
 * importing the names it uses from `@pocket-ai/protocol`, under the strict settings this repository
 * builds with. Prints `{ examples, modules, problems }` as JSON. A separate process (run by
 * `doc-examples.test.ts`): the compiler works for many seconds without yielding, which a test
 * worker must not do.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(packageDir, "src");
const entry = join(srcDir, "index.ts");

/** Diagnostics about names the example leaves to its reader's code, or about code that continues theirs. */
const READERS_CONTEXT = new Set([
  2304, // Cannot find name 'x'.
  2552, // Cannot find name 'x'. Did you mean 'y'?
  18004, // No value exists in scope for the shorthand property 'x'.
  1108, // A 'return' statement can only be used within a function body.
  7006, // Parameter 'x' implicitly has an 'any' type (a callback passed to the reader's function).
]);

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/**
 * The code of each `@example` tag of each doc comment, with its file and line.
 * @param {string} path
 * @returns {{ origin: string, code: string }[]}
 */
function examplesOf(path) {
  const text = readFileSync(path, "utf8");
  const examples = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = comment[0]
      .split("\n")
      .map((line) => line.replace(/^\s*\/?\*\*?\/?\s?/, "").replace(/\s*\*\/$/, ""));
    const firstLine = text.slice(0, comment.index).split("\n").length;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]?.startsWith("@example")) continue;
      const body = [];
      let j = i + 1;
      while (j < lines.length && !lines[j]?.startsWith("@")) body.push(lines[j++] ?? "");
      // The fenced block when there is one (prose may follow it), else the tag's text.
      const open = body.findIndex((line) => line.startsWith("```"));
      const close = body.findIndex((line, k) => k > open && line.startsWith("```"));
      const code = (open === -1 ? body : body.slice(open + 1, close === -1 ? undefined : close))
        .join("\n")
        .trim();
      if (code !== "") examples.push({ origin: `${relative(packageDir, path)}:${firstLine + i}`, code });
    }
  }
  return examples;
}

const examples = sourceFiles(srcDir).flatMap(examplesOf);

/** @type {import("typescript").CompilerOptions} */
const options = {
  ...ts.getDefaultCompilerOptions(),
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts"],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  types: ["node"],
  skipLibCheck: true,
  noEmit: true,
  paths: { "@pocket-ai/protocol": [entry] },
};
// Every exported name; an example imports the ones it mentions.
const probe = ts.createProgram([entry], options);
const checker = probe.getTypeChecker();
const entryFile = probe.getSourceFile(entry);
const entrySymbol = entryFile === undefined ? undefined : checker.getSymbolAtLocation(entryFile);
if (entrySymbol === undefined) throw new Error(`no module symbol for ${entry}`);
const exported = checker.getExportsOfModule(entrySymbol).map((s) => s.name);
/** @type {Map<string, { origin: string, code: string, header: number }>} */
const virtual = new Map();
examples.forEach((example, n) => {
  const used = exported.filter((name) => new RegExp(`(?<![\\w$.])${name}(?![\\w$])`).test(example.code));
  const header =
    used.length === 0 || /^import /m.test(example.code)
      ? ""
      : `import { ${used.join(", ")} } from "@pocket-ai/protocol";\n`;
  virtual.set(join(packageDir, "test", `doc-example-${n}.ts`), {
    origin: example.origin,
    code: `${header}${example.code}\nexport {};\n`,
    header: header === "" ? 0 : 1,
  });
});
const host = ts.createCompilerHost(options);
const { getSourceFile, fileExists, readFile } = host;
host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
host.readFile = (name) => virtual.get(name)?.code ?? readFile.call(host, name);
host.getSourceFile = (name, version, ...rest) => {
  const file = virtual.get(name);
  return file === undefined
    ? getSourceFile.call(host, name, version, ...rest)
    : ts.createSourceFile(name, file.code, version, true);
};
const program = ts.createProgram([...virtual.keys()], options, host, probe);
const problems = [];
for (const [name, file] of virtual) {
  for (const d of program.getSemanticDiagnostics(program.getSourceFile(name))) {
    if (READERS_CONTEXT.has(d.code)) continue;
    const line = d.file?.getLineAndCharacterOfPosition(d.start ?? 0).line ?? 0;
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ").slice(0, 300);
    problems.push(`${file.origin} (example line ${line + 1 - file.header}): TS${d.code} ${message}`);
  }
}
const modules = [...new Set(examples.map((e) => e.origin.split("/")[1]))].sort();
process.stdout.write(JSON.stringify({ examples: examples.length, modules, problems }));
