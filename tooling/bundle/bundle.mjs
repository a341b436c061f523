import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

/**
 * Packages that stay outside the bundle and are loaded from `node_modules` when the program runs:
 * native bindings and packages that read files beside their own code (a `.wasm`, prebuilt
 * binaries), which cannot live inside one JavaScript file. Every app that is bundled lists the ones
 * it uses among its own dependencies, so they resolve from its folder.
 */
export const NATIVE_PACKAGES = [
  "better-sqlite3",
  "secp256k1",
  "tiny-secp256k1",
  "node-llama-cpp",
  "@node-llama-cpp/*",
  "pg-native",
];

/**
 * Bundles `entry` (TypeScript, with the workspace packages it imports) into one ES module at
 * `outfile`, runnable by `node` alone: every dependency is inlined except {@link NATIVE_PACKAGES}
 * and `external`. Assets (migrations, corpora, task suites) are not copied: the code finds them in
 * its package's folder (`packageFile` in `@pocket-ai/runtime`), so the bundle must stay inside it.
 */
export async function bundle({ entry, outfile, external = [], minify = false }) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20.19",
    external: [...NATIVE_PACKAGES, ...external],
    // CommonJS dependencies inlined into an ES module still call `require` for Node's built-ins.
    banner: {
      js: "import { createRequire as __pocketRequire } from 'node:module'; const require = __pocketRequire(import.meta.url);",
    },
    minify,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  asciiOnly(outfile);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outfile, bytes, warnings: result.warnings.length };
}

/**
 * A vitest global setup that bundles an app's command (`entry`, its `src/cli.ts`) into `outfile`
 * before the run's tests, and again before each rerun in watch mode. Tests then run the command
 * as operators deploy it: one file under plain `node`, which starts in a fraction of a second,
 * where a TypeScript loader resolves and compiles the hundreds of modules of the app and its
 * dependencies at every start (about 5 s of CPU each on a 2-core machine). `outfile` must be
 * inside the app's folder (see {@link bundle}).
 */
export function commandBundleSetup({ entry, outfile }) {
  const build = () => bundle({ entry, outfile });
  return async (project) => {
    await build();
    project.onTestsRerun(build);
  };
}

/**
 * Rewrites every non-ASCII UTF-16 unit left in the bundle as a `\uXXXX` escape. esbuild escapes
 * them in strings and names itself; what it leaves is comments (`≤`, `→`, box drawing). A single
 * one makes V8 hold the whole source, which it keeps for lazy compilation, as a two-byte string:
 * twice the file's size in every process (about 9 MB instead of 4.5 for an app). In a comment the
 * escape is plain text; in a string, template, regular expression or name it means the same unit.
 */
function asciiOnly(file) {
  const text = readFileSync(file, "utf8");
  const escaped = text.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (escaped !== text) writeFileSync(file, escaped);
}
