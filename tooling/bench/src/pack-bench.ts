/**
 * `pnpm --filter @pocket-ai/bench bench:pack`: the benchmark as files that run under `node` alone,
 * for a machine with Node ≥ 20.19 and none of the workspace's tooling (a lent machine with more
 * cores, no registry). Writes into `tooling/bench/dist/`:
 *
 * - `run-bench.mjs` and each runner's bundle (`pocket-gateway.mjs`, `pocket-node.mjs`,
 *   `mock-backend.mjs`, `floor-hop.mjs`), built as `pnpm bench` builds them;
 * - `node_modules/`: the native packages the bundles load (better-sqlite3, secp256k1,
 *   tiny-secp256k1, with their own dependencies) and the gateway's and node's files the code reads
 *   beside itself (migrations, the dev corpus), each under its package's name.
 *
 * Copy the repository with that folder (same OS and CPU architecture: the native binaries are
 * this machine's) and run `node tooling/bench/dist/run-bench.mjs --prebuilt --no-portkey …` at its
 * root: the runners are not bundled again, and results go to `bench/results/` as usual. Portkey
 * is not packed.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "@pocket-ai/bundle";
import { RUNNER_SCRIPTS } from "./child-process.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const modules = join(dist, "node_modules");

/** Packages loaded from `node_modules` at run time (see `NATIVE_PACKAGES` in `@pocket-ai/bundle`). */
const NATIVE = ["better-sqlite3", "secp256k1", "tiny-secp256k1"];

/** Workspace packages whose files the bundled code reads beside itself (`packageFile`). */
const PACKAGE_FILES: Record<string, readonly string[]> = {
  "@pocket-ai/gateway": ["drizzle"],
  "@pocket-ai/node": ["drizzle", "data"],
};

/** Dependencies needed only to install or build a native package, never to load it. */
const INSTALL_ONLY = new Set(["prebuild-install", "node-addon-api", "node-gyp"]);

/**
 * The folder of package `name` as Node finds it from `from` (a folder): the nearest
 * `node_modules/<name>` above it, through pnpm's links (a manifest need not export itself).
 */
function packageFolder(from: string, name: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} is not installed where ${from} can load it`);
  }
}

/**
 * What a package needs at run time: not its nested `node_modules` (dependencies are copied
 * beside it), and for a native package (one with a `binding.gyp`) not its C sources, vendored
 * libraries or build leftovers either (`build/` keeps only the compiled `.node` files).
 */
function runtimeFile(root: string): (path: string) => boolean {
  const native = existsSync(join(root, "binding.gyp"));
  return (path) => {
    const parts = relative(root, path).split(sep);
    const [top, second] = parts;
    if (top === "" || top === undefined) return true;
    if (top === "node_modules") return false;
    if (!native) return true;
    if (top === "deps" || top === "src") return false;
    if (top !== "build") return true;
    if (parts.length === 1) return true;
    if (second !== "Release") return false;
    return parts.length === 2 || (parts.length === 3 && (parts[2] as string).endsWith(".node"));
  };
}

/** Copies `name` and everything it depends on at run time into `modules`, each once. */
function copyWithDependencies(from: string, name: string, copied: Set<string>): void {
  if (copied.has(name) || INSTALL_ONLY.has(name)) return;
  copied.add(name);
  const folder = packageFolder(from, name);
  cpSync(folder, join(modules, name), { recursive: true, dereference: true, filter: runtimeFile(folder) });
  const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const dependency of Object.keys(manifest.dependencies ?? {}))
    copyWithDependencies(folder, dependency, copied);
}

async function main() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(modules, { recursive: true });
  for (const script of RUNNER_SCRIPTS) {
    await bundle({ entry: join(here, script), outfile: join(dist, script.replace(/\.ts$/, ".mjs")) });
  }
  await bundle({
    entry: join(here, "run-bench.ts"),
    outfile: join(dist, "run-bench.mjs"),
    // Loaded only when not --prebuilt (bundling) or with Portkey: neither is packed.
    external: ["@pocket-ai/bundle", "@portkey-ai/gateway", "esbuild"],
  });
  const copied = new Set<string>();
  for (const name of NATIVE) copyWithDependencies(here, name, copied);
  for (const [name, paths] of Object.entries(PACKAGE_FILES)) {
    const folder = packageFolder(here, name);
    const target = join(modules, name);
    mkdirSync(target, { recursive: true });
    // Only the name: `packageFile` finds the package by its manifest, nothing else is read.
    writeFileSync(join(target, "package.json"), `${JSON.stringify({ name, private: true })}\n`);
    for (const path of paths) {
      if (existsSync(join(folder, path)))
        cpSync(join(folder, path), join(target, path), { recursive: true, dereference: true });
    }
  }
  console.log(
    `packed into ${dist}: ${RUNNER_SCRIPTS.length + 1} bundles, ${copied.size} packages in node_modules\n` +
      "run at the repository root: node tooling/bench/dist/run-bench.mjs --prebuilt --no-portkey [flags]",
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
