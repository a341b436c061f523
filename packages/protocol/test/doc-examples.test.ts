/**
 * The `@example` blocks of the doc comments are what a reader of docs/api (and of an editor's
 * hover) copies into their own project. Each one is type-checked here as a consumer's module that
 * imports the names it uses from `@pocket-ai/protocol`, under the strict settings this repository
 * builds with. Many examples continue a reader's own code (`request`, `nodeKeyPair`, `body`): a name
 * the example does not define is the reader's, so "cannot find name" is not an error here; any
 * other type error is.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

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

interface Example {
  readonly origin: string;
  readonly code: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The code of each `@example` tag of each doc comment, with its file and line. */
function examplesOf(path: string): Example[] {
  const text = readFileSync(path, "utf8");
  const examples: Example[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = comment[0]
      .split("\n")
      .map((line) => line.replace(/^\s*\/?\*\*?\/?\s?/, "").replace(/\s*\*\/$/, ""));
    const firstLine = text.slice(0, comment.index).split("\n").length;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]?.startsWith("@example")) continue;
      const body: string[] = [];
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

describe("doc comment examples", () => {
  it("are found in every module of the package", () => {
    // The extraction itself must keep working: hundreds of examples, from every module.
    expect(examples.length).toBeGreaterThan(300);
    const modules = new Set(examples.map((e) => e.origin.split("/")[1]));
    const expected = readdirSync(srcDir).filter((name) => statSync(join(srcDir, name)).isDirectory());
    expect([...modules].sort()).toEqual(expected.sort());
  });

  it("type-check as a consumer's code importing @pocket-ai/protocol", () => {
    const base = ts.getDefaultCompilerOptions();
    const options: ts.CompilerOptions = {
      ...base,
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
    const entrySymbol = probe.getTypeChecker().getSymbolAtLocation(probe.getSourceFile(entry)!)!;
    const exported = probe
      .getTypeChecker()
      .getExportsOfModule(entrySymbol)
      .map((s) => s.name);
    const virtual = new Map<string, Example & { readonly header: number }>();
    examples.forEach((example, n) => {
      const used = exported.filter((name) => new RegExp(`(?<![\\w$.])${name}(?![\\w$])`).test(example.code));
      const header =
        used.length === 0 || /^import /m.test(example.code)
          ? ""
          : `import { ${used.join(", ")} } from "@pocket-ai/protocol";\n`;
      const code = `${header}${example.code}\nexport {};\n`;
      virtual.set(join(packageDir, "test", `doc-example-${n}.ts`), {
        origin: example.origin,
        code,
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
    const problems: string[] = [];
    for (const [name, file] of virtual) {
      for (const d of program.getSemanticDiagnostics(program.getSourceFile(name))) {
        if (READERS_CONTEXT.has(d.code)) continue;
        const line = d.file?.getLineAndCharacterOfPosition(d.start ?? 0).line ?? 0;
        const message = ts.flattenDiagnosticMessageText(d.messageText, " ").slice(0, 300);
        problems.push(`${file.origin} (example line ${line + 1 - file.header}): TS${d.code} ${message}`);
      }
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
